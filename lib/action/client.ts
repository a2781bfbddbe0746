/**
 * The client half of `next-skew-guard/action`: `callSafeAction` and
 * `isVersionSkew`, for client components. No Node.js APIs (the only
 * `process` reference is `process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID`, which
 * Next.js replaces with a string literal in client bundles).
 *
 * How each Next.js version reports a call the server could not run
 * (NEXTJS-FACTS.md §3.3 and §3.5, checked against Next's own client reducer):
 *
 * | signal                                                    | Next.js                | reason                  |
 * |-----------------------------------------------------------|------------------------|-------------------------|
 * | rejects, `err.name === 'UnrecognizedActionError'`         | 15.5+, 16.x            | `unrecognized-action`   |
 * | rejects, `Error('Server Action "<id>" was not found …')`  | 15.4.1–15.4.x          | `action-not-found`      |
 * | rejects, `Error('An unexpected response was received …')` | 15.x, 16.x (non-Next answer, e.g. a proxy's 409) | `unexpected-response` |
 * | resolves `undefined`                                      | 14.x, 15.0–15.4.0      | `empty-result`          |
 * | rejects with a React digest error                          | 14–16 (closure key mismatch) | `undecryptable-closure` |
 * | resolves a result whose `buildId` differs from this page's | any                    | `build-mismatch`        |
 *
 * Known limit of `empty-result`: Next.js 14 resolves `undefined` for every
 * action that calls `redirect()`, and 15.x for a `redirect()` to another
 * origin (checked in Next's reducer), while it navigates away. From the
 * awaited value alone that is indistinguishable from an unknown action, so
 * such a call is reported as skew although the action ran — unless
 * `<SkewGuard />` is on the page: it counts responses carrying Next.js's
 * `x-action-redirect` header, and such a call resolves as `REDIRECTED`.
 */

import { CLOSURE_SKEW_EVENT, actionRedirects } from '../shared/protocol'
import { checkOptions, codedTypeError, describe, findControlFlowError } from './errors'
import type {
  CallSafeActionResult,
  ClientErrorResult,
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
   * Called once for every call that ends in version skew, after the result
   * is known and before `callSafeAction` resolves with it: show a banner,
   * schedule a reload, report it. It cannot change the result; what it throws
   * or rejects with is logged and ignored.
   */
  onSkew?: (result: VersionSkewResult<Data>) => void | Promise<void>
}

const OPTION_KINDS = { buildId: 'string', onSkew: 'function' } as const

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
 * The skew reason for a rejection, or `null` when it is not a skew signal.
 *
 * Digest rule: a rejection with a string `digest` whose message is React's
 * production "error in the Server Components render" text (14/15) or minified
 * error #441 (16) is skew, unless the digest is a Next.js control-flow digest
 * (`redirect()`, `notFound()`, …: never skew; `callSafeAction` rethrows them). Why that needs no client guard: the
 * safe-action wrapper turns every error of the wrapped function into a
 * result, so a digest error cannot come from the function's own code. It
 * comes from Next.js's work before the function runs, chiefly decrypting the
 * closure arguments, which fails after a key change. Rarely, the same shape
 * comes from another failure outside the function (a request over the body
 * size limit, a rejected origin); the function has not run in those cases
 * either, so `actionRan: false` stays true. Only with a plain (unwrapped)
 * action would a digest error be ambiguous; that case needs the client
 * guard's response inspection (next-skew-guard/react), not this rule.
 */
export function skewReasonOfRejection(error: unknown): SkewReason | null {
  if (typeof error !== 'object' || error === null) return null
  if (findControlFlowError(error) !== undefined) return null
  const { name, message, digest } = error as { name?: unknown; message?: unknown; digest?: unknown }
  if (name === 'UnrecognizedActionError') return 'unrecognized-action'
  if (typeof message !== 'string') return null
  if (typeof digest === 'string') {
    if (message.startsWith(DIGEST_MESSAGE_14_15) || message.startsWith(DIGEST_MESSAGE_16)) return 'undecryptable-closure'
    return null
  }
  if (NOT_FOUND_MESSAGE.test(message)) return 'action-not-found'
  if (message === UNEXPECTED_RESPONSE) return 'unexpected-response'
  if (NEXT_REFUSAL_BODIES.has(message)) return 'action-not-found'
  return null
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

function clientError(error: unknown): ClientErrorResult {
  const message = typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string'
    ? (error as { message: string }).message
    : undefined
  const result: ClientErrorResult = {
    success: false,
    error: isNetworkError(error) ? 'NETWORK_ERROR' : 'UNKNOWN_ERROR',
    requiresRefresh: false,
    cause: error,
  }
  if (message !== undefined) result.message = message
  return result
}

function skew<Data>(
  reason: SkewReason,
  clientBuildId: string | null,
  extra: { actionRan?: boolean; buildId?: string | null; result?: SafeActionResult<Data>; cause?: unknown },
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
  if (extra.result !== undefined) result.result = extra.result
  if ('cause' in extra) result.cause = extra.cause
  return result
}

/**
 * Maps what an awaited safe action resolved to (`settled.value`) or rejected
 * with (`settled.error`) to a {@link CallSafeActionResult}. Exported for the
 * hook and the next-safe-action adapter; apps call `callSafeAction`.
 * Rethrows Next.js control-flow errors (redirect, notFound, …) unchanged.
 */
export function classifySettled<Data>(
  settled: { ok: true; value: unknown } | { ok: false; error: unknown },
  clientBuildId: string | null,
  context: { redirected?: boolean } = {},
): CallSafeActionResult<Data> {
  if (!settled.ok) {
    const { error } = settled
    // Before anything else: Next.js's redirect()/notFound() arrive as
    // rejections on 15.5+/16 and must reach Next's boundaries untouched.
    const controlFlow = findControlFlowError(error)
    if (controlFlow !== undefined) throw controlFlow
    const reason = skewReasonOfRejection(error)
    if (reason !== null) return skew<Data>(reason, clientBuildId, { cause: error })
    return clientError(error)
  }
  const { value } = settled
  if (value === undefined) {
    // The client guard saw this call's response redirect: the action ran (Next.js 14/15).
    if (context.redirected) return { success: false, error: 'REDIRECTED', requiresRefresh: false, cause: value }
    return skew<Data>('empty-result', clientBuildId, { cause: value })
  }
  // Something on the server answered with a value, so some function ran
  // under this action ID (the new build's function where the ID now belongs
  // to a plain action, or a plain action passed by mistake): not safe to repeat.
  if (!isSafeActionResult(value)) return skew<Data>('invalid-result', clientBuildId, { actionRan: true, cause: value })
  const result = value as SafeActionResult<Data>
  if (compareBuildIdsForClient(clientBuildId, result.buildId) === 'different') {
    return skew<Data>('build-mismatch', clientBuildId, { actionRan: true, buildId: result.buildId, result })
  }
  return result.success
    ? { success: true, data: result.data, buildId: result.buildId, requiresRefresh: false }
    : result.message === undefined
      ? { success: false, error: result.error, buildId: result.buildId, requiresRefresh: false }
      : { success: false, error: result.error, message: result.message, buildId: result.buildId, requiresRefresh: false }
}

function logError(label: string, error: unknown): void {
  try {
    console.error(`[next-skew-guard] ${label}`, error)
  } catch {
    // a broken console must not turn a result into a rejection
  }
}

/** Tells `<SkewGuard />` (if on the page) about skew its response check cannot see. */
function announceClosureSkew(): void {
  try {
    const w = (globalThis as { window?: { dispatchEvent(e: Event): boolean } }).window
    if (w && typeof CustomEvent === 'function') w.dispatchEvent(new CustomEvent(CLOSURE_SKEW_EVENT))
  } catch {
    // Never let the announcement change the result.
  }
}

/** Runs the app's `onSkew` without letting it change or delay the result. */
export function notifySkew<Data>(onSkew: SafeActionClientOptions<Data>['onSkew'], result: VersionSkewResult<Data>): void {
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
  onSkew?: (result: VersionSkewResult<Data>) => void | Promise<void>
}

/** Validates client options and fills in the inlined build ID. */
export function resolveClientOptions<Data>(where: string, options: SafeActionClientOptions<Data> | undefined): ResolvedClientOptions<Data> {
  checkOptions(where, options, OPTION_KINDS)
  return { clientBuildId: options?.buildId ?? inlinedBuildId(), onSkew: options?.onSkew }
}

/** Runs one call with resolved options. Shared by `callSafeAction` and `useSafeAction`. */
export async function runSafeAction<Args extends unknown[], Data>(
  resolved: ResolvedClientOptions<Data>,
  action: SafeActionLike<Args, Data>,
  args: Args,
): Promise<CallSafeActionResult<Data>> {
  if (typeof action !== 'function') {
    throw codedTypeError('ERR_INVALID_ARG_TYPE', `The "action" argument must be a function (a Server Action); received ${describe(action)}.`)
  }
  let settled: { ok: true; value: unknown } | { ok: false; error: unknown }
  const redirectsBefore = actionRedirects()
  try {
    settled = { ok: true, value: await action(...args) }
  } catch (error) {
    settled = { ok: false, error }
  }
  const result = classifySettled<Data>(settled, resolved.clientBuildId, { redirected: actionRedirects() > redirectsBefore })
  if (result.success === false && result.requiresRefresh) {
    notifySkew(resolved.onSkew, result)
    if (result.reason === 'undecryptable-closure') announceClosureSkew()
  }
  return result
}

/** `callSafeAction` and the callers made by `callSafeAction.with(options)`. */
export interface CallSafeAction {
  /**
   * Calls a safe action and turns every outcome into a result object:
   * the action's own result, `VERSION_SKEW` (with `requiresRefresh: true`)
   * for every sign that this page is from another build, or
   * `NETWORK_ERROR` / `UNKNOWN_ERROR`. Never resolves `success: true` unless
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
    checkOptions('callSafeAction.with', options, OPTION_KINDS)
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
