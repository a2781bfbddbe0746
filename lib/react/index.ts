'use client'
/**
 * `next-skew-guard/react`: the client half of next-skew-guard. Put `<SkewGuard />` in the root
 * layout; it catches Server Action calls that reach a server running another build (refused,
 * not found, or answered by another build), polls the health endpoint while the tab is visible,
 * and reloads the page at a safe moment, never in a loop.
 *
 * A client module (`'use client'`): importable from Server Components for rendering
 * `<SkewGuard>`, and safe to import during SSR (browser APIs are touched only in effects and
 * calls). It never imports the native core. Named exports only: Next.js refuses `export *` in a
 * client boundary.
 */
export { SkewGuard, useSkewState, DEFAULT_COOLDOWN_MS } from './guard'
export type { SkewGuardProps, SkewGuardRenderState } from './guard'
export { useVersionCheck } from './version-hook'
export type { VersionCheckOptions } from './version-hook'
export { SkewGuardBanner, bannerText } from './banner'
export type { SkewGuardBannerProps } from './banner'
export { installActionInterceptor } from './interceptor'
export type { ActionInterceptorOptions } from './interceptor'
export { subscribeToSkew, getLastSkew, reportSkew } from './store'
export type { SkewListener, SkewReport } from './store'
export { classifyActionResponse } from './classify'
export type { ActionContext, ResponseLike } from './classify'
export { getClientBuildId } from './build-id'
export { shouldReloadForRotation, getPageLoadedAt } from './rotation'
export type { RotationOptions } from './rotation'
export { SkewGuardOptionError } from '../shared/options'
export type { OptionErrorCode } from '../shared/options'
export type { VersionCheckResult, VersionStatus } from './version'
export type { SkewEvent, SkewKind, SkewSource, ReloadMode } from './types'
