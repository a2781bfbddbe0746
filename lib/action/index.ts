/**
 * `next-skew-guard/action`: Server Actions that survive redeploys.
 *
 * - Server (`'use server'` modules): {@link createSafeAction} wraps an action so it
 *   always resolves to `{ success, data | error, buildId }`; {@link SafeActionError}
 *   for intended failures.
 * - Client components: {@link callSafeAction} / {@link useSafeAction} turn every
 *   version-skew signal of Next.js 14, 15 and 16 into
 *   `{ success: false, error: 'VERSION_SKEW', requiresRefresh: true, actionRan }`;
 *   {@link isVersionSkew} narrows to it.
 * - next-safe-action v8: {@link skewGuardMiddleware}, {@link isSkewError},
 *   {@link mapSafeActionResult}.
 *
 * One entry for both sides: nothing here touches Node.js or browser APIs at
 * load time, the hook lives in a `'use client'` module, and React is required
 * only when the hook runs.
 */

export { createSafeAction, resolveServerBuildId, ACTION_ERROR } from './server'
export type { CreateSafeActionOptions } from './server'
export { SafeActionError } from './errors'
export { SkewGuardOptionError } from '../shared/options'
export type { OptionErrorCode } from '../shared/options'
export { callSafeAction } from './client'
export { isVersionSkew, isSafeActionResult } from './classify'
export type { CallSafeAction, SafeActionClientOptions, SafeActionLike } from './client'
export { useSafeAction } from './hooks'
export type { SafeActionStatus, UseSafeActionReturn } from './hooks'
export { skewGuardMiddleware, isSkewError, mapSafeActionResult, BUILD_ID_STAMP } from './next-safe-action'
export type {
  MapSafeActionResultOptions,
  NextSafeActionMiddlewareResult,
  NextSafeActionResult,
  RanOnOtherBuildResult,
  SkewGuardActionContext,
  SkewGuardContext,
  SkewGuardMiddleware,
  SkewGuardMiddlewareOptions,
} from './next-safe-action'
export type {
  CallFailure,
  CallSafeActionResult,
  CallSuccess,
  ClientErrorResult,
  RanOnOtherBuild,
  RefreshRequired,
  SafeAction,
  SafeActionFailure,
  SafeActionResult,
  SafeActionSuccess,
  SkewReason,
  VersionSkewResult,
} from './types'
