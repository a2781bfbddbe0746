/**
 * What an awaited Server Action call means, as pure functions of what it settled with and what
 * the client guard saw meanwhile (no I/O, no globals): the rules `callSafeAction`, `useSafeAction`
 * and the next-safe-action adapter share.
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

import { REFUSAL_TEXT, type ActionResponseNote } from '../shared/protocol'
import { findControlFlowError } from './errors'
import type { CallSafeActionResult, ClientErrorResult, RanOnOtherBuild, SafeActionResult, SkewReason, VersionSkewResult } from './types'

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
  if (!Object.hasOwn(value, 'buildId')) return false
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
  return (
    typeof digest === 'string' &&
    typeof message === 'string' &&
    (message.startsWith(DIGEST_MESSAGE_14_15) || message.startsWith(DIGEST_MESSAGE_16))
  )
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
  return (
    error instanceof TypeError &&
    typeof message === 'string' &&
    /failed to fetch|networkerror|load failed|fetch failed|network request failed/i.test(message)
  )
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
