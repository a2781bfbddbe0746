/**
 * Adapter for next-safe-action v8 (https://next-safe-action.dev), without a
 * dependency on it: the few shapes used here are typed below from its v8
 * source (`MiddlewareFn`, `MiddlewareResult`, `SafeActionResult` in
 * `index.types.ts`, 8.0–8.7).
 *
 * Why an adapter: next-safe-action's server wrapper never sees version skew
 * (Next.js refuses the call before dispatch, or fails in the action's
 * prologue), and its client reports skew inconsistently: a `thrownError` on
 * 15.4.1+, but on 14 and 15.0–15.4.0 the call resolves `undefined`, which its
 * hooks store as `{}` with status `hasSucceeded`.
 *
 * Server: `skewGuardMiddleware()` for the builder's `.use()`. Client:
 * `isSkewError(thrownError)` and `mapSafeActionResult(result)`.
 *
 * next-safe-action copies only `data`, `serverError` and `validationErrors`
 * into the result the browser receives; `ctx` and `metadata` never leave the
 * server. So the middleware puts the build ID in `ctx` (for server code,
 * `handleServerError`, logging) and, only with `stampResult: true`, into the
 * result's `data`, the one channel to the client.
 */

import { bool, checkOptions, fn, nonEmptyString } from '../shared/options'
import { actionResponsesSince } from '../shared/protocol'
import { compareBuildIdsForClient, isDigestError, skewReasonOfRejection } from './classify'
import { notifySkew, resolveClientOptions, type SafeActionClientOptions } from './client'
import { resolveServerBuildId } from './server'
import type { RanOnOtherBuild, SkewReason, VersionSkewResult } from './types'

/** What the middleware adds to next-safe-action's `ctx`: `ctx.skewGuard.buildId`. */
export interface SkewGuardContext {
  /** The server's build identity (as `createSafeAction` reports it), `null` when unknown. */
  buildId: string | null
}

/**
 * The context type `skewGuardMiddleware` adds. next-safe-action cannot infer
 * it from a middleware defined outside its own types (its `MiddlewareResult`
 * does not carry the context type), so name it to get `ctx.skewGuard` typed:
 * `actionClient.use<SkewGuardActionContext>(skewGuardMiddleware())`.
 */
export type SkewGuardActionContext = { skewGuard: SkewGuardContext }

/** Options of {@link skewGuardMiddleware}. */
export interface SkewGuardMiddlewareOptions {
  /** The build identity to report. Default: as `createSafeAction` (`SKEW_GUARD_BUILD_ID`, then `.next/BUILD_ID`). */
  buildId?: string
  /**
   * Also stamp the build ID into successful results (default `false`), so the
   * client can compare builds and tell an empty (skewed) result from a void
   * action's `{}`: plain-object `data` gets a copy with an extra
   * `__skewGuardBuildId` key; `undefined` data becomes `{ __skewGuardBuildId }`.
   * Other data (arrays, strings, numbers, class instances) is left alone.
   * `mapSafeActionResult` removes the key again. Off by default because it
   * changes what your action returns on the wire.
   */
  stampResult?: boolean
}

/** The key `stampResult` adds to `data`. */
export const BUILD_ID_STAMP = '__skewGuardBuildId'

/**
 * The part of next-safe-action's `MiddlewareResult` this middleware reads or
 * writes (8.x: a flat object the builder mutates in place and copies
 * `data`/`serverError`/`validationErrors` from when the chain completes).
 */
export interface NextSafeActionMiddlewareResult {
  success: boolean
  data?: unknown
  serverError?: unknown
  validationErrors?: unknown
}

/**
 * A next-safe-action v8 middleware function, typed by what it uses: `next`
 * with a `ctx` to merge (its other arguments, `clientInput`,
 * `bindArgsClientInputs`, `ctx` and `metadata`, are not needed). Generic in the
 * result type so that `.use()` sees next-safe-action's own `MiddlewareResult`
 * come back and infers `ctx.skewGuard` for the actions after it.
 */
export type SkewGuardMiddleware = <Result extends NextSafeActionMiddlewareResult>(opts: {
  next: (opts: { ctx: { skewGuard: SkewGuardContext } }) => Promise<Result>
}) => Promise<Result>

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * A middleware for next-safe-action's `.use()` that adds the server's build
 * identity to the context (`ctx.skewGuard.buildId`) and, with
 * `stampResult: true`, to successful results for the client to compare.
 *
 * ```ts
 * // lib/safe-action.ts
 * import { createSafeActionClient } from 'next-safe-action'
 * import { skewGuardMiddleware } from 'next-skew-guard/action'
 * export const actionClient = createSafeActionClient()
 *   .use<SkewGuardActionContext>(skewGuardMiddleware({ stampResult: true })) // type argument: ctx.skewGuard typed
 * ```
 *
 * @throws TypeError `ERR_UNKNOWN_OPTION` / `ERR_INVALID_ARG_TYPE` for bad options.
 */
export function skewGuardMiddleware(options?: SkewGuardMiddlewareOptions): SkewGuardMiddleware {
  checkOptions('skewGuardMiddleware', options, { buildId: nonEmptyString, stampResult: bool })
  const explicitBuildId = options?.buildId
  const stamp = options?.stampResult === true
  return async ({ next }) => {
    const buildId = resolveServerBuildId(explicitBuildId)
    const result = await next({ ctx: { skewGuard: { buildId } } })
    // Stamp only a success: errors must keep next-safe-action's exact shape,
    // and a navigation (redirect) leaves `success` false.
    if (
      stamp &&
      buildId !== null &&
      result &&
      result.success === true &&
      result.serverError === undefined &&
      result.validationErrors === undefined
    ) {
      if (result.data === undefined) result.data = { [BUILD_ID_STAMP]: buildId }
      // A copy: the object may be shared (a cached query result, a constant).
      else if (isPlainObject(result.data)) result.data = { ...result.data, [BUILD_ID_STAMP]: buildId }
    }
    return result
  }
}

/** How recent a guard's skew mark must be for {@link isSkewError} to read a digest error as skew. */
const RECENT_MARK_MS = 30_000

/**
 * True when a next-safe-action `thrownError` (or any rejection of an action
 * call) is a version-skew signal: `UnrecognizedActionError`, the 15.4.x
 * not-found error, or the guard's refusal; and a React digest error only when
 * `<SkewGuard />` saw the server mark a response as skew within the last 30 s
 * (a closure sealed with a key the server does not hold). Any other digest
 * error is an ordinary server failure (an oversized body, a rejected origin).
 * `{ digestErrors: false }` never reads a digest error as skew (for
 * `throwServerError: true`, where your own errors arrive as digest errors).
 */
export function isSkewError(thrownError: unknown, options?: { digestErrors?: boolean }): boolean {
  checkOptions('isSkewError', options, { digestErrors: bool })
  if (skewReasonOfRejection(thrownError) !== null) return true
  if (options?.digestErrors === false || !isDigestError(thrownError)) return false
  const now = Date.now()
  return actionResponsesSince(0).some((note) => note.kind === 'skew' && Math.abs(now - note.at) <= RECENT_MARK_MS)
}

/** A next-safe-action v8 result, or the idle `{}`: at most one of the three fields is set. */
export interface NextSafeActionResult<Data = unknown, ServerError = unknown, ValidationErrors = unknown> {
  data?: Data
  serverError?: ServerError
  validationErrors?: ValidationErrors
}

/** Options of {@link mapSafeActionResult}. */
export interface MapSafeActionResultOptions extends SafeActionClientOptions {
  /**
   * The action always returns data (or the server uses `stampResult`): an
   * empty result `{}` then proves skew. Without it `{}` is taken as a void
   * action's success, because next-safe-action returns `{}` for an action
   * that returns nothing, and its hooks turn 14's `undefined` into `{}` too.
   */
  expectData?: boolean
}

/** A next-safe-action result of an action that ran on a server of another build (see {@link mapSafeActionResult}). */
export type RanOnOtherBuildResult<Data, ServerError, ValidationErrors> = NextSafeActionResult<Data, ServerError, ValidationErrors> & {
  requiresRefresh: true
  skew: RanOnOtherBuild
}

/**
 * Checks a next-safe-action result for version skew. Returns a
 * `VersionSkewResult` (test with `isVersionSkew`) when the action did not run:
 * - the result is `undefined`/`null` (a direct call on 14 or 15.0–15.4.0:
 *   next-safe-action itself always resolves an object),
 * - it is `{}` and `expectData` is set.
 *
 * A result stamped (`stampResult`) by another build ran there: it comes back
 * as itself (without the stamp key) plus `requiresRefresh: true` and `skew`
 * (the builds involved), so the app shows the data and refreshes soon.
 * Otherwise returns the result itself, without the stamp key, so existing
 * code keeps reading `data`, `serverError` and `validationErrors`.
 *
 * ```ts
 * const r = mapSafeActionResult(await rename({ id, name }), { expectData: true })
 * if (isVersionSkew(r)) return showRefreshBanner()
 * ```
 */
export function mapSafeActionResult<Data, ServerError, ValidationErrors>(
  result: NextSafeActionResult<Data, ServerError, ValidationErrors> | null | undefined,
  options?: MapSafeActionResultOptions,
):
  | NextSafeActionResult<Data, ServerError, ValidationErrors>
  | RanOnOtherBuildResult<Data, ServerError, ValidationErrors>
  | VersionSkewResult<Data> {
  checkOptions('mapSafeActionResult', options, { buildId: nonEmptyString, onSkew: fn, expectData: bool })
  const resolved = resolveClientOptions<Data>('mapSafeActionResult', { buildId: options?.buildId, onSkew: options?.onSkew })
  const flag = (reason: SkewReason, extra: Partial<VersionSkewResult<Data>>): VersionSkewResult<Data> => {
    const skew: VersionSkewResult<Data> = {
      success: false,
      error: 'VERSION_SKEW',
      requiresRefresh: true,
      actionRan: false,
      reason,
      buildId: null,
      clientBuildId: resolved.clientBuildId,
      ...extra,
    }
    notifySkew(resolved.onSkew, skew)
    return skew
  }

  if (result === undefined || result === null) return flag('empty-result', { cause: result })
  if (typeof result !== 'object' || Array.isArray(result)) return flag('invalid-result', { actionRan: true, cause: result })
  const { data, serverError, validationErrors } = result
  if (data === undefined && serverError === undefined && validationErrors === undefined) {
    return options?.expectData === true ? flag('empty-result', { cause: result }) : result
  }
  if (!isPlainObject(data) || !Object.hasOwn(data, BUILD_ID_STAMP)) return result

  const { [BUILD_ID_STAMP]: stamp, ...rest } = data
  // `{ __skewGuardBuildId }` alone stands for a void action's `undefined` data.
  const unstamped: NextSafeActionResult<Data, ServerError, ValidationErrors> = { ...result }
  if (Object.keys(rest).length === 0) delete unstamped.data
  else unstamped.data = rest as Data
  const serverBuildId = typeof stamp === 'string' && stamp !== '' ? stamp : null
  if (compareBuildIdsForClient(resolved.clientBuildId, serverBuildId) === 'different') {
    return {
      ...unstamped,
      requiresRefresh: true,
      skew: { reason: 'build-mismatch', clientBuildId: resolved.clientBuildId, buildId: serverBuildId },
    }
  }
  return unstamped
}
