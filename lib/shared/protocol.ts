/**
 * The wire protocol between the server side (proxy/middleware guard, safe
 * actions) and the client side (client guard, callSafeAction). One place for
 * every header name and value, so both sides cannot drift. What Next.js
 * itself sends and expects is in docs/nextjs-internals.md.
 */

/** Response header: the server's build identity (every response through the proxy, the health endpoint, safe-action results). */
export const BUILD_ID_HEADER = 'x-build-id'
/** Request header: the build identity of the page that sent a Server Action (added by the client guard). */
export const CLIENT_BUILD_HEADER = 'x-skew-guard-build'
/** Response header: the guard's verdict on a Server Action request. */
export const GUARD_HEADER = 'x-skew-guard'
/** Response header Next.js 15.4.1+ clients turn into a rejected promise (`UnrecognizedActionError` on 15.5+). */
export const NOT_FOUND_HEADER = 'x-nextjs-action-not-found'
/** Request header carrying the Server Action ID on JS (fetch) calls. */
export const ACTION_HEADER = 'next-action'
/** A Server Action ID: 40 lowercase hex digits (14), 42 (15, 16). */
export const ACTION_ID_PATTERN = /^[0-9a-f]{40}(?:[0-9a-f]{2})?$/

/**
 * Values of {@link GUARD_HEADER}:
 * - `unknown-action`: this build does not know the action ID; the action did not run.
 * - `stale-build`: policy `'reject'` refused a call from another build; the action did not run.
 * - `key-rotated`: the closure arguments were sealed with a previous key; the action did not run.
 * - `reload`: policy `'reload-after'`: the action ran, but the page is from another build and should reload.
 * - `unknown-key`: the guard let the call through, but its closure arguments were sealed with a key
 *   this server does not hold, so Next.js will refuse them (a 500): the action did not run, and a
 *   reload gets the page freshly sealed. Only a 5xx answer carrying this mark is skew.
 * Not verdicts, and not skew: `forward-failed` (on a 502) and `forward-timeout` (on a 504) mark a
 * request the guard's in-app forwarding sent to a retained deployment that then failed or did not
 * answer in time. The action may have run; clients treat it as any gateway error.
 */
export type GuardVerdict = 'unknown-action' | 'stale-build' | 'key-rotated' | 'reload' | 'unknown-key'

/** Verdicts after which the action did not run. */
export const REFUSED_VERDICTS: readonly GuardVerdict[] = ['unknown-action', 'stale-build', 'key-rotated']

/**
 * Start of the body of every refusal the guard sends to a JS call. Next.js 15+ turns an exact
 * `text/plain` error body into the rejection's message, so a client can still tell the guard's
 * refusal apart when a proxy dropped the guard's headers.
 */
export const REFUSAL_TEXT = 'Server Action unavailable.'

/** Cookie naming the deployment a document came from, for proxies that route no-JS form posts by it. */
export const DEPLOYMENT_COOKIE = '__vdpl'

/** HTTP status of a refused Server Action (Next.js 16.4's own status for a stale action). */
export const REFUSED_STATUS = 409

/** Default path of the health endpoint the client guard polls. */
export const DEFAULT_HEALTH_PATH = '/api/health'

/** Env var inlined into the client bundle by `withSkewGuard` (the build identity). */
export const CLIENT_BUILD_ENV = 'NEXT_PUBLIC_SKEW_GUARD_BUILD_ID'

/** Error code a safe-action result or `callSafeAction` uses for every skew signal. */
export const VERSION_SKEW = 'VERSION_SKEW'

/** JSON body of the health endpoint. */
export interface HealthBody {
  status: 'ok'
  buildId: string | null
  deploymentId: string | null
}

/**
 * Browser-side channel between the client guard and `callSafeAction`, which never import each
 * other (one is a client component, the other also runs on the server). The guard sees every
 * action response's status and headers; the promise Next.js hands the app does not carry them.
 * So the guard records what it saw here, and `callSafeAction` reads what arrived while its call
 * was in flight (calls are told apart by time only: two overlapping calls may see each other's).
 */
const RESPONSES = Symbol.for('next-skew-guard.action-responses')

/**
 * What the client guard saw in one action response:
 * - `redirect`: Next.js's `x-action-redirect` (the action ran and redirected; Next.js 14 and 15
 *   resolve such calls with `undefined`);
 * - `skew`: the server said the action did not run because of skew (a guard refusal, Next.js's
 *   not-found answer, or a 5xx the guard marked `unknown-key`);
 * - `transport`: something other than Next.js answered (a proxy's or gateway's 4xx/5xx page).
 */
export interface ActionResponseNote {
  seq: number
  kind: 'redirect' | 'skew' | 'transport'
  status: number
  /** When it was seen (ms since the epoch). */
  at: number
}

interface ResponseLog {
  seq: number
  notes: ActionResponseNote[]
}

/** Notes kept: enough for the calls in flight at once, bounded so a busy page keeps no history. */
const MAX_NOTES = 32

function responseLog(): ResponseLog {
  const g = globalThis as unknown as Record<symbol, ResponseLog | undefined>
  return (g[RESPONSES] ??= { seq: 0, notes: [] })
}

/** Records one observation (client guard). */
export function noteActionResponse(kind: ActionResponseNote['kind'], status: number, at: number = Date.now()): void {
  const log = responseLog()
  log.notes.push({ seq: ++log.seq, kind, status, at })
  if (log.notes.length > MAX_NOTES) log.notes.splice(0, log.notes.length - MAX_NOTES)
}

/** The sequence number of the latest observation (0 before any): take it before a call. */
export function actionResponseMark(): number {
  return responseLog().seq
}

/** The observations made after `mark` (oldest first). Empty without the client guard. */
export function actionResponsesSince(mark: number): ActionResponseNote[] {
  return responseLog().notes.filter((note) => note.seq > mark)
}

/** Response header Next.js sets when a Server Action redirected. */
export const ACTION_REDIRECT_HEADER = 'x-action-redirect'

/** Response header Next.js sets when a Server Action revalidated data (the answer carries a new tree). */
export const ACTION_REVALIDATED_HEADER = 'x-action-revalidated'
