/**
 * The client half of `next-skew-guard/action`: `callSafeAction` and
 * `isVersionSkew`, for client components. No Node.js APIs (the only
 * `process` reference is `process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID`, which
 * Next.js replaces with a string literal in client bundles).
 *
 * How each Next.js version reports a call the server could not run (see
 * docs/nextjs-internals.md), and what `callSafeAction` makes of it:
 *
 * | signal                                                    | Next.js                | result                                |
 * |-----------------------------------------------------------|------------------------|---------------------------------------|
 * | rejects, `err.name === 'UnrecognizedActionError'`         | 15.5+, 16.x            | `VERSION_SKEW` `unrecognized-action`  |
 * | rejects, `Error('Server Action "<id>" was not found …')`  | 15.4.1–15.4.x          | `VERSION_SKEW` `action-not-found`     |
 * | resolves `undefined`                                      | 14.x, 15.0–15.4.0      | `VERSION_SKEW` `empty-result`         |
 * | rejects with a React digest error, response marked `unknown-key` by the guard | 14–16 | `VERSION_SKEW` `undecryptable-closure` |
 * | rejects with a React digest error, no mark                | 14–16                  | `SERVER_ERROR` (not skew)             |
 * | rejects, `Error('An unexpected response was received …')` | 15.x, 16.x (a proxy or gateway answered) | `TRANSPORT_ERROR` (not skew) |
 * | resolves a result whose `buildId` differs from this page's | any                   | the result, `requiresRefresh: true`   |
 *
 * The response headers that tell these apart reach only the client guard
 * (`<SkewGuard />`, which sees every action response); it records what it saw
 * in a channel this module reads (`shared/protocol.ts`). Without it, a digest
 * error is a `SERVER_ERROR`, and on 14 a gateway error page resolves
 * `undefined` like an unknown action (`empty-result`).
 *
 * Known limit of `empty-result`: Next.js 14 resolves `undefined` for every
 * action that calls `redirect()`, and 15.x for a `redirect()` to another
 * origin (checked in Next's reducer), while it navigates away. With
 * `<SkewGuard />` on the page such a call resolves as `REDIRECTED`.
 */

import { REFUSAL_TEXT, actionResponseMark, actionResponsesSince, type ActionResponseNote } from '../shared/protocol'
import { SkewGuardOptionError, checkOptions, describe, fn, nonEmptyString } from '../shared/options'
import { findControlFlowError } from './errors'
import type {
  CallSafeActionResult,
  ClientErrorResult,
  RanOnOtherBuild,
  RefreshRequired,
  SafeActionResult,
  SkewReason,
  VersionSkewResult,
} from './types'

/** Options of the client helpers (`callSafeAction.with`, `useSafeAction`). */
export interface SafeActionClientOptions<Data = unknown> {
  /**
   * This page's build identity. Default: `process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID`,
   * which `withSkewGuard` inlines into the client bundle. Absent or empty
   * means unknown: results are then never called a build mismatch.
   */
  buildId?: string
  /**
   * Called once for every call whose result asks the page to refresh
   * (`requiresRefresh: true`: it did not run because the page is out of
   * date, or it ran on a server of another build), after the result is known
   * and before `callSafeAction` resolves with it: show a banner, schedule a
   * reload, report it. It cannot change the result; what it throws or
   * rejects with is logged and ignored.
   */
  onSkew?: (result: RefreshRequired<Data>) => void | Promise<void>
}

const OPTION_CHECKS = { buildId: nonEmptyString, onSkew: fn }

/**
 * This page's build identity as inlined by Next.js. The expression must stay
 * literally `process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID`: Next.js replaces
 * exactly that text at build time, and nothing dynamic. The `try` covers
 * bundlers and runtimes without a `process` object.
 */
function inlinedBuildId(): string | null {
  try {
    const value = process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID
    return typeof value === 'string' && value !== '' ? value : null
  } catch {
    return null
  }
}

/**
 * `'same' | 'different' | 'unknown'`: absent or empty is unknown, never a
 * mismatch (the core's `compareBuildIds` rule; not imported, because the
 * core entry would bring its crypto backend into the client bundle, and build
 * IDs are not secrets, so plain equality is enough).
 */
export function compareBuildIdsForClient(client: string | null, server: unknown): 'same' | 'different' | 'unknown' {
  if (!client || typeof server !== 'string' || server === '') return 'unknown'
  return client === server ? 'same' : 'different'
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * True when `value` has the shape `createSafeAction` produces. Checked
 * strictly (own `buildId` that is a string or `null`, boolean `success`,
 * string `error` on failure) so that the result of an ordinary action that
 * happens to return `{ success: true }` is not taken for one.
 */
export function isSafeActionResult(value: unknown): value is SafeActionResult<unknown> {
  if (!isPlainObject(value)) return false
  if (!Object.prototype.hasOwnProperty.call(value, 'buildId')) return false
  const { buildId, success } = value
  if (buildId !== null && typeof buildId !== 'string') return false
  if (success === true) return true
  if (success === false) return typeof value.error === 'string'
  return false
}

const DIGEST_MESSAGE_14_15 = 'An error occurred in the Server Components render'
const DIGEST_MESSAGE_16 = 'Minified React error #441'
const NOT_FOUND_MESSAGE = /^Server Action "[0-9a-f]+" was not found on the server/
const UNEXPECTED_RESPONSE = 'An unexpected response was received from the server.'
/**
 * Next.js's own plain-text refusal bodies (15.4.1–16.3 404, 16.4 409 stale,
 * 16.4 400 malformed). The client sees one as an error message only when a
 * proxy dropped the `x-nextjs-action-not-found` header and kept the exact
 * `text/plain` content type, which Next.js turns into `Error(body)`.
 */
const NEXT_REFUSAL_BODIES: ReadonlySet<string> = new Set([
  'Server action not found.',
  'Server Action unavailable.',
  'Invalid Server Action request.',
])

/**
 * The skew reason a rejection proves on its own, or `null`. Only Next.js's
 * not-found signals (and the guard's refusal text, when a proxy dropped the
 * guard's headers) prove skew by themselves; a React digest error or an
 * "unexpected response" is skew only when the server marked the response
 * (see {@link classifySettled}), because Next.js answers an oversized body, a
 * rejected origin or a failed module load the same way.
 */
export function skewReasonOfRejection(error: unknown): SkewReason | null {
  if (typeof error !== 'object' || error === null) return null
  if (findControlFlowError(error) !== undefined) return null
  const { name, message, digest } = error as { name?: unknown; message?: unknown; digest?: unknown }
  if (name === 'UnrecognizedActionError') return 'unrecognized-action'
  if (typeof message !== 'string' || typeof digest === 'string') return null
  if (NOT_FOUND_MESSAGE.test(message)) return 'action-not-found'
  if (NEXT_REFUSAL_BODIES.has(message) || message.startsWith(`${REFUSAL_TEXT} `)) return 'action-not-found'
  return null
}

/** Whether a rejection is React's production error for a failure on the server (it carries a digest). */
export function isDigestError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || findControlFlowError(error) !== undefined) return false
  const { message, digest } = error as { message?: unknown; digest?: unknown }
  return typeof digest === 'string' && typeof message === 'string' && (message.startsWith(DIGEST_MESSAGE_14_15) || message.startsWith(DIGEST_MESSAGE_16))
}

/**
 * Failed fetches: `TypeError` with the browser's wording (Chrome "Failed to
 * fetch", Firefox "NetworkError when attempting to fetch resource.", Safari
 * "Load failed", Node/undici "fetch failed"), or an abort.
 */
function isNetworkError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { name, message } = error as { name?: unknown; message?: unknown }
  if (name === 'AbortError' || name === 'NetworkError') return true
  return error instanceof TypeError && typeof message === 'string' && /failed to fetch|networkerror|load failed|fetch failed|network request failed/i.test(message)
}

function messageOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string'
    ? (error as { message: string }).message
    : undefined
}

function clientError(
  code: ClientErrorResult['error'],
  error: unknown,
  actionRan: ClientErrorResult['actionRan'],
  status?: number,
): ClientErrorResult {
  const result: ClientErrorResult = { success: false, error: code, requiresRefresh: false, actionRan, cause: error }
  const message = messageOf(error)
  if (message !== undefined) result.message = message
  if (status !== undefined) result.status = status
  return result
}

function skew<Data>(
  reason: SkewReason,
  clientBuildId: string | null,
  extra: { actionRan?: boolean; buildId?: string | null; cause?: unknown },
): VersionSkewResult<Data> {
  const result: VersionSkewResult<Data> = {
    success: false,
    error: 'VERSION_SKEW',
    requiresRefresh: true,
    actionRan: extra.actionRan === true,
    reason,
    buildId: extra.buildId ?? null,
    clientBuildId,
  }
  if ('cause' in extra) result.cause = extra.cause
  return result
}

/** What the client guard saw while the call was in flight (nothing without `<SkewGuard />`). */
export interface CallObservations {
  /** A response redirected (`x-action-redirect`). */
  redirected?: boolean
  /** The server said the action did not run because of skew (refusal, not-found, `unknown-key` mark). */
  skew?: boolean
  /** Something other than Next.js answered, with this status. */
  transportStatus?: number
}

/** Sums up the guard's notes of one call. */
export function observationsOf(notes: readonly ActionResponseNote[]): CallObservations {
  const seen: CallObservations = {}
  for (const note of notes) {
    if (note.kind === 'redirect') seen.redirected = true
    else if (note.kind === 'skew') seen.skew = true
    else seen.transportStatus = note.status
  }
  return seen
}

/**
 * Maps what an awaited safe action resolved to (`settled.value`) or rejected
 * with (`settled.error`) to a {@link CallSafeActionResult}, given what the
 * client guard saw meanwhile. Exported for the hook and the next-safe-action
 * adapter; apps call `callSafeAction`. Rethrows Next.js control-flow errors
 * (redirect, notFound, …) unchanged.
 */
export function classifySettled<Data>(
  settled: { ok: true; value: unknown } | { ok: false; error: unknown },
  clientBuildId: string | null,
  seen: CallObservations = {},
): CallSafeActionResult<Data> {
  if (!settled.ok) {
    const { error } = settled
    // Before anything else: Next.js's redirect()/notFound() arrive as
    // rejections on 15.5+/16 and must reach Next's boundaries untouched.
    const controlFlow = findControlFlowError(error)
    if (controlFlow !== undefined) throw controlFlow
    const reason = skewReasonOfRejection(error)
    if (reason !== null) return skew<Data>(reason, clientBuildId, { cause: error })
    if (isDigestError(error)) {
      // The guard checked the closure and marked Next.js's 500: sealed with a key the server lacks.
      if (seen.skew) return skew<Data>('undecryptable-closure', clientBuildId, { cause: error })
      return clientError('SERVER_ERROR', error, 'unknown')
    }
    if (seen.skew) return skew<Data>('unexpected-response', clientBuildId, { cause: error })
    if (seen.transportStatus !== undefined || messageOf(error) === UNEXPECTED_RESPONSE) {
      return clientError('TRANSPORT_ERROR', error, 'unknown', seen.transportStatus)
    }
    return clientError(isNetworkError(error) ? 'NETWORK_ERROR' : 'UNKNOWN_ERROR', error, 'unknown')
  }
  const { value } = settled
  if (value === undefined) {
    // Next.js 14 / 15 resolve these with `undefined` too; the client guard saw why.
    if (seen.redirected) return clientError('REDIRECTED', value, true)
    if (seen.transportStatus !== undefined && !seen.skew) return clientError('TRANSPORT_ERROR', value, 'unknown', seen.transportStatus)
    return skew<Data>('empty-result', clientBuildId, { cause: value })
  }
  // Something on the server answered with a value, so some function ran
  // under this action ID (the new build's function where the ID now belongs
  // to a plain action, or a plain action passed by mistake): not safe to repeat.
  if (!isSafeActionResult(value)) return skew<Data>('invalid-result', clientBuildId, { actionRan: true, cause: value })
  const result = value as SafeActionResult<Data>
  // It ran, on a server of another build: the result is real; the page should refresh soon.
  const other: RanOnOtherBuild | undefined =
    compareBuildIdsForClient(clientBuildId, result.buildId) === 'different'
      ? { reason: 'build-mismatch', clientBuildId, buildId: result.buildId }
      : undefined
  const refresh = other ? { requiresRefresh: true as const, skew: other } : { requiresRefresh: false as const }
  if (result.success) return { success: true, data: result.data, buildId: result.buildId, ...refresh }
  return result.message === undefined
    ? { success: false, error: result.error, buildId: result.buildId, ...refresh }
    : { success: false, error: result.error, message: result.message, buildId: result.buildId, ...refresh }
}

function logError(label: string, error: unknown): void {
  try {
    console.error(`[next-skew-guard] ${label}`, error)
  } catch {
    // a broken console must not turn a result into a rejection
  }
}

/** Runs the app's `onSkew` without letting it change or delay the result. */
export function notifySkew<Data>(onSkew: SafeActionClientOptions<Data>['onSkew'], result: RefreshRequired<Data>): void {
  if (!onSkew) return
  try {
    const pending = onSkew(result)
    if (pending && typeof (pending as Promise<void>).then === 'function') {
      ;(pending as Promise<void>).then(undefined, (e: unknown) => logError('onSkew rejected:', e))
    }
  } catch (e) {
    logError('onSkew threw:', e)
  }
}

/** A safe action as the client sees it (a Server Action reference returning a {@link SafeActionResult}). */
export type SafeActionLike<Args extends unknown[], Data> = (...args: Args) => Promise<SafeActionResult<Data>>

/** Validated, defaulted client options. */
export interface ResolvedClientOptions<Data> {
  clientBuildId: string | null
  onSkew?: (result: RefreshRequired<Data>) => void | Promise<void>
}

/** Validates client options and fills in the inlined build ID. */
export function resolveClientOptions<Data>(where: string, options: SafeActionClientOptions<Data> | undefined): ResolvedClientOptions<Data> {
  checkOptions(where, options, OPTION_CHECKS)
  return { clientBuildId: options?.buildId ?? inlinedBuildId(), onSkew: options?.onSkew }
}

/** Runs one call with resolved options. Shared by `callSafeAction` and `useSafeAction`. */
export async function runSafeAction<Args extends unknown[], Data>(
  resolved: ResolvedClientOptions<Data>,
  action: SafeActionLike<Args, Data>,
  args: Args,
): Promise<CallSafeActionResult<Data>> {
  if (typeof action !== 'function') {
    throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `callSafeAction: "action" must be a function (a Server Action); received ${describe(action)}.`)
  }
  let settled: { ok: true; value: unknown } | { ok: false; error: unknown }
  const mark = actionResponseMark()
  try {
    settled = { ok: true, value: await action(...args) }
  } catch (error) {
    settled = { ok: false, error }
  }
  const result = classifySettled<Data>(settled, resolved.clientBuildId, observationsOf(actionResponsesSince(mark)))
  if (result.requiresRefresh) notifySkew(resolved.onSkew, result as RefreshRequired<Data>)
  return result
}

/** `callSafeAction` and the callers made by `callSafeAction.with(options)`. */
export interface CallSafeAction {
  /**
   * Calls a safe action and turns every outcome into a result object:
   * the action's own result (with `requiresRefresh: true` when it ran on
   * another build), `VERSION_SKEW` (with `requiresRefresh: true`) when it
   * did not run because this page is from another build, or a failure that
   * is not skew (`NETWORK_ERROR`, `TRANSPORT_ERROR`, `SERVER_ERROR`,
   * `REDIRECTED`, `UNKNOWN_ERROR`). Never resolves `success: true` unless
   * the action ran and returned. Rejects only with Next.js control-flow errors
   * (`redirect()`, `notFound()`, … thrown by the action), which must reach
   * Next.js unchanged, and with a `TypeError` when `action` is not a function.
   */
  <Args extends unknown[], Data>(action: SafeActionLike<Args, Data>, ...args: Args): Promise<CallSafeActionResult<Data>>
  /**
   * A caller with options: `callSafeAction.with({ onSkew })(action, ...args)`.
   * Options are validated now, not per call; options of an outer `.with` are
   * merged under the inner ones.
   */
  with(options: SafeActionClientOptions): CallSafeAction
}

function makeCaller(base: SafeActionClientOptions): CallSafeAction {
  let resolved: ResolvedClientOptions<unknown> | undefined
  const call = (<Args extends unknown[], Data>(action: SafeActionLike<Args, Data>, ...args: Args) => {
    // Resolved lazily on the first call: in a client bundle the inlined env
    // value is a constant, but reading it at import time would also run on the
    // server during SSR for nothing.
    resolved ??= resolveClientOptions('callSafeAction', base)
    return runSafeAction<Args, Data>(resolved as ResolvedClientOptions<Data>, action, args)
  }) as CallSafeAction
  call.with = (options: SafeActionClientOptions) => {
    checkOptions('callSafeAction.with', options ?? {}, OPTION_CHECKS)
    return makeCaller({ ...base, ...stripUndefined(options) })
  }
  return call
}

function stripUndefined<T extends object>(options: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [key, value] of Object.entries(options)) if (value !== undefined) (out as Record<string, unknown>)[key] = value
  return out
}

/**
 * Calls a safe action (see {@link CallSafeAction}) with default options:
 * this page's build ID from `NEXT_PUBLIC_SKEW_GUARD_BUILD_ID`, no `onSkew`.
 *
 * ```ts
 * const r = await callSafeAction(rename, id, name)
 * if (r.success) show(r.data)
 * else if (isVersionSkew(r)) askToRefresh(r.actionRan)
 * else showError(r.message ?? r.error)
 * ```
 */
export const callSafeAction: CallSafeAction = makeCaller({})

/**
 * Type guard: `result` is a {@link VersionSkewResult} (the page must refresh).
 * Accepts anything, so it can also test a next-safe-action result mapped by
 * `mapSafeActionResult`.
 */
export function isVersionSkew(result: unknown): result is VersionSkewResult {
  return (
    typeof result === 'object' &&
    result !== null &&
    (result as { error?: unknown }).error === 'VERSION_SKEW' &&
    (result as { requiresRefresh?: unknown }).requiresRefresh === true
  )
}
