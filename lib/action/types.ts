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
 * Why a call counts as version skew:
 * - `unrecognized-action`: Next.js 15.5+ rejected with `UnrecognizedActionError` (the server does not know the action ID).
 * - `action-not-found`: the same on 15.4.x (an untyped `Error`), or Next's own refusal body when a proxy stripped its header.
 * - `unexpected-response`: 15.x/16.x `Error('An unexpected response was received from the server.')`:
 *   something other than Next.js answered the action (a proxy refusing it, a gateway error page).
 * - `empty-result`: the call resolved `undefined`. Next.js 14 and 15.0–15.4.0 resolve an unknown action that way.
 *   (So do 14 for any `redirect()` and 15 for a `redirect()` to another origin, while they navigate: see `callSafeAction`.)
 * - `invalid-result`: the call resolved something that is not a safe-action result (on 14, where IDs do not depend
 *   on the key, the new build may have a plain action under the old ID; or a plain action was passed).
 * - `undecryptable-closure`: a React digest error, which a safe action can only produce from outside its
 *   wrapper: Next.js failed before the wrapped function ran (typically closure arguments sealed with another key).
 * - `build-mismatch`: the action ran, on a server of another build than this page.
 */
export type SkewReason =
  | 'unrecognized-action'
  | 'action-not-found'
  | 'unexpected-response'
  | 'empty-result'
  | 'invalid-result'
  | 'undecryptable-closure'
  | 'build-mismatch'

/**
 * The client-side verdict "this page is out of date". The page should
 * refresh; the result says whether the action ran, so the app knows whether
 * to repeat the user's intent after the refresh.
 */
export interface VersionSkewResult<Data = unknown> {
  success: false
  error: 'VERSION_SKEW'
  requiresRefresh: true
  /**
   * `true` for `build-mismatch` (the action ran; its result is in `result`)
   * and `invalid-result` (a server function answered under this action ID,
   * so do not repeat it). `false`: no result of the action reached this page. For every
   * reason but `unexpected-response` that proves the action did not run
   * (except a `redirect()` seen as `empty-result` on 14/15, see `SkewReason`); an
   * unexpected response (a non-Next.js answer) almost always means it never
   * reached the action, but a gateway that times out after forwarding the
   * request can cut off an action that did run, so only retry idempotent
   * actions automatically.
   */
  actionRan: boolean
  /** Which signal showed the skew. */
  reason: SkewReason
  /** The server's build identity when the server answered with one (`build-mismatch`), else `null`. */
  buildId: string | null
  /** The build identity this page was built with, when known. */
  clientBuildId: string | null
  /** `build-mismatch` only: what the action returned (success or failure) on the other build. */
  result?: SafeActionResult<Data>
  /** The rejection or resolved value that showed the skew, for logging. */
  cause?: unknown
}

/** A call that failed on the client side for a reason other than skew. */
export interface ClientErrorResult {
  success: false
  /**
   * `NETWORK_ERROR`: the request did not complete (offline, connection reset, aborted).
   * `REDIRECTED`: the action ran and redirected (Next.js 14/15 resolve such calls with
   * `undefined`; told apart from skew when `<SkewGuard />` is on the page). `UNKNOWN_ERROR`:
   * anything else.
   */
  error: 'NETWORK_ERROR' | 'REDIRECTED' | 'UNKNOWN_ERROR'
  requiresRefresh: false
  /** The rejection's message, when it had one (client-side text, never a server secret). */
  message?: string
  /** The rejection, for logging. */
  cause: unknown
}

/** A safe action's success as `callSafeAction` returns it. */
export interface CallSuccess<Data> extends SafeActionSuccess<Data> {
  requiresRefresh: false
}

/** A safe action's own failure (the wrapped function threw) as `callSafeAction` returns it. */
export interface CallFailure extends SafeActionFailure {
  requiresRefresh: false
}

/**
 * Everything `callSafeAction` resolves to. Branch on `success`, then on
 * `requiresRefresh` (or use `isVersionSkew`). `success: true` only ever
 * means the action ran on a server of this page's build (or of an unknown
 * build) and returned normally.
 */
export type CallSafeActionResult<Data> = CallSuccess<Data> | CallFailure | VersionSkewResult<Data> | ClientErrorResult
