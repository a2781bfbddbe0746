/**
 * Result shapes shared by the server wrapper (`createSafeAction`) and the
 * client helpers (`callSafeAction`, `useSafeAction`, the next-safe-action
 * adapter). Types only: this file emits no runtime code, so both sides can
 * import it without pulling the other side in.
 */

/** What a safe action resolves to when its function returned normally. */
export interface SafeActionSuccess<Data> {
  success: true
  /** The wrapped function's return value. */
  data: Data
  /**
   * The build identity of the server that ran the action (`null` when the
   * server does not know it). The client compares it with its own build.
   */
  buildId: string | null
}

/** What a safe action resolves to when its function threw. */
export interface SafeActionFailure {
  success: false
  /**
   * `'ACTION_ERROR'` for an unexpected error (its message stays on the
   * server unless `exposeErrors` is set), or the `code` of a
   * {@link SafeActionError} the function threw on purpose.
   */
  error: string
  /** A user-facing message: a `SafeActionError`'s message, or any error's message with `exposeErrors: true`. */
  message?: string
  /** See {@link SafeActionSuccess.buildId}. */
  buildId: string | null
}

/**
 * What a safe action always resolves to: never `undefined`, never a
 * rejection for an error thrown by the wrapped function. That guarantee is
 * what lets the client read a resolved `undefined`, or a rejection that is
 * not a Next.js control-flow error, as proof that the wrapped function never
 * ran (version skew).
 */
export type SafeActionResult<Data> = SafeActionSuccess<Data> | SafeActionFailure

/** A server action created by `createSafeAction`: same arguments as the wrapped function. */
export type SafeAction<Args extends unknown[], Data> = (...args: Args) => Promise<SafeActionResult<Data>>

/**
 * Why a call counts as version skew (the action did not run, or something
 * that is not this page's action answered):
 * - `unrecognized-action`: Next.js 15.5+ rejected with `UnrecognizedActionError` (the server does not know the action ID).
 * - `action-not-found`: the same on 15.4.x (an untyped `Error`), or a not-found body (Next.js's or the guard's)
 *   when a proxy stripped the headers that carry it.
 * - `unexpected-response`: Next.js could not read the answer, and the client guard saw the server refuse the
 *   call as skew (a refusal whose not-found header a proxy dropped).
 * - `empty-result`: the call resolved `undefined`. Next.js 14 and 15.0–15.4.0 resolve an unknown action that way.
 *   (So do 14 for any `redirect()` and 15 for a `redirect()` to another origin, while they navigate: see `callSafeAction`.)
 * - `invalid-result`: the call resolved something that is not a safe-action result (on 14, where IDs do not depend
 *   on the key, the new build may have a plain action under the old ID; or a plain action was passed).
 * - `undecryptable-closure`: Next.js refused the closure arguments (a 500 with a digest), and the guard had
 *   marked them as sealed with a key this server does not hold. The action did not run.
 */
export type SkewReason =
  | 'unrecognized-action'
  | 'action-not-found'
  | 'unexpected-response'
  | 'empty-result'
  | 'invalid-result'
  | 'undecryptable-closure'

/**
 * A call that could not run because this page is out of date. The page
 * should refresh (the client guard does it for you); the action did not run
 * (`actionRan: false`), except `invalid-result`, where some function of
 * another build answered under this action ID (`actionRan: true`: do not
 * repeat it).
 */
// biome-ignore lint/correctness/noUnusedVariables: the same type parameter as every other result, so `SafeActionResult<Data>` reads as one union
export interface VersionSkewResult<Data = unknown> {
  success: false
  error: 'VERSION_SKEW'
  requiresRefresh: true
  /** `false`: the action did not run, so repeating it after the refresh is safe. `true` only for `invalid-result`. */
  actionRan: boolean
  /** Which signal showed the skew. */
  reason: SkewReason
  /** The server's build identity when the server answered with one, else `null`. */
  buildId: string | null
  /** The build identity this page was built with, when known. */
  clientBuildId: string | null
  /** The rejection or resolved value that showed the skew, for logging. */
  cause?: unknown
}

/** The action ran, on a server of another build than this page: its result is real, the page should refresh. */
export interface RanOnOtherBuild {
  reason: 'build-mismatch'
  /** The build this page came from. */
  clientBuildId: string | null
  /** The build that ran the action. */
  buildId: string | null
}

/** A call that failed for a reason other than skew. */
export interface ClientErrorResult {
  success: false
  /**
   * - `NETWORK_ERROR`: the request did not complete (offline, connection reset, aborted).
   * - `TRANSPORT_ERROR`: something other than Next.js answered: a proxy's 413, a rate limiter's 429, a WAF's
   *   403, a gateway's 502/503/504 (`status` says which when `<SkewGuard />` saw it). Not skew.
   * - `SERVER_ERROR`: Next.js failed the call outside your function (a 500 with a digest and no skew mark: a
   *   body over `bodySizeLimit`, an `Origin` that does not match the host, a module that failed to load). Not skew.
   * - `REDIRECTED`: the action ran and redirected (Next.js 14/15 resolve such calls with `undefined`;
   *   told apart from skew when `<SkewGuard />` is on the page).
   * - `UNKNOWN_ERROR`: anything else.
   */
  error: 'NETWORK_ERROR' | 'TRANSPORT_ERROR' | 'SERVER_ERROR' | 'REDIRECTED' | 'UNKNOWN_ERROR'
  requiresRefresh: false
  /**
   * Whether the action ran: `true` for `REDIRECTED`; `'unknown'` otherwise. A gateway that timed out, a
   * connection cut after the request went out, or a failure while sending the answer can each come after
   * the action ran, so only retry automatically what is safe to run twice.
   */
  actionRan: true | 'unknown'
  /** The HTTP status of a `TRANSPORT_ERROR`, when the client guard saw the response. */
  status?: number
  /** The rejection's message, when it had one (client-side text, never a server secret). */
  message?: string
  /** The rejection, for logging. */
  cause: unknown
}

/** A safe action's success as `callSafeAction` returns it. */
export interface CallSuccess<Data> extends SafeActionSuccess<Data> {
  /** `true` when it ran on a server of another build (`skew` says which): show the data, then refresh soon. */
  requiresRefresh: boolean
  /** Set when `requiresRefresh` is true. */
  skew?: RanOnOtherBuild
}

/** A safe action's own failure (the wrapped function threw) as `callSafeAction` returns it. */
export interface CallFailure extends SafeActionFailure {
  /** `true` when it ran on a server of another build (`skew` says which). */
  requiresRefresh: boolean
  /** Set when `requiresRefresh` is true. */
  skew?: RanOnOtherBuild
}

/** A result that asks the page to refresh: the call did not run because of skew, or it ran on another build. */
export type RefreshRequired<Data> =
  | VersionSkewResult<Data>
  | ((CallSuccess<Data> | CallFailure) & { requiresRefresh: true; skew: RanOnOtherBuild })

/**
 * Everything `callSafeAction` resolves to. Branch on `success`; a success or
 * failure of the action itself may carry `requiresRefresh: true` when it ran
 * on another build (the data is real). `isVersionSkew(r)` picks out calls
 * that did not run because the page is out of date. `success: true` only
 * ever means the action ran and returned normally.
 */
export type CallSafeActionResult<Data> = CallSuccess<Data> | CallFailure | VersionSkewResult<Data> | ClientErrorResult
