/**
 * Wraps `window.fetch` to watch Server Action calls. Next.js 14, 15 and 16
 * look `window.fetch` up at call time, so a wrapper installed after hydration
 * sees every action call. The wrapper only adds a request header and reads
 * response headers; requests without `Next-Action` pass straight through.
 */
import { getClientBuildId } from './build-id'
import { ACTION_REDIRECT_HEADER, noteActionResponse } from '../shared/protocol'
import { classifyActionResponse, didRevalidate, isTransportAnswer, readActionId, withClientBuildHeader } from './classify'
import { buildIdCheck, checkOptions, fn } from '../shared/options'
import { emitSkew, reportAsync } from './store'

/** Options of {@link installActionInterceptor}. */
export interface ActionInterceptorOptions {
  /** The page's build ID; default `getClientBuildId()` (the inlined `NEXT_PUBLIC_SKEW_GUARD_BUILD_ID`). */
  buildId?: string | null
  /** Clock for event timestamps (ms since the epoch). Default `Date.now`; tests inject one. */
  now?: () => number
  /** Runs right before the interceptor replaces the page with a new document (the guard saves typed input there). */
  beforeDocumentLoad?: () => void
}

interface Installation {
  buildId: string | null
  now: () => number
  beforeDocumentLoad?: () => void
}

interface FetchTarget {
  fetch: typeof fetch
  location?: { href: string; assign(url: string): void; replace(url: string): void; reload(): void }
}

interface Wrapper {
  target: FetchTarget
  original: typeof fetch
  wrapped: typeof fetch
}

/** Installed handles, newest last; the newest one's options apply. */
const installations: Installation[] = []
let wrapper: Wrapper | null = null

function currentWindow(): FetchTarget | null {
  if (typeof window === 'undefined' || window === null) return null
  return typeof window.fetch === 'function' ? (window as unknown as FetchTarget) : null
}

function wrap(target: FetchTarget): Wrapper {
  const original = target.fetch
  const wrapped = function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const active = installations[installations.length - 1]
    // Uninstalled but still buried under another library's wrapper: pass through.
    if (!active) return original.call(target, input, init)
    let actionId: string | null = null
    let sendInit = init
    try {
      actionId = readActionId(input, init)
      if (actionId !== null && active.buildId !== null) sendInit = withClientBuildHeader(input, init, active.buildId)
    } catch (error) {
      // Never let the guard break the call itself.
      reportAsync(error)
      sendInit = init
    }
    if (actionId === null) return original.call(target, input, init)
    const id = actionId
    return original.call(target, input, sendInit).then((response) => {
      try {
        const at = active.now()
        const redirect = response.headers.get(ACTION_REDIRECT_HEADER)
        if (redirect !== null) noteActionResponse('redirect', response.status, at)
        const event = classifyActionResponse(response, { actionId: id, clientBuildId: active.buildId, now: at })
        if (event && !event.actionRan) noteActionResponse('skew', response.status, at)
        else if (isTransportAnswer(response)) noteActionResponse('transport', response.status, at)
        if (event) emitSkew(event)
        // An answer from another build that carries a new tree (a redirect's target, revalidated
        // data): Next.js would render that build's tree into this page, which crashes when the
        // builds' client modules differ. Load it as a new document instead.
        if (event?.kind === 'build-mismatch' && (redirect !== null || didRevalidate(response.headers))) {
          if (replaceDocument(target, redirect, active.beforeDocumentLoad)) {
            // The page is gone; Next.js must not process the answer meanwhile.
            return new Promise<Response>(() => {})
          }
        }
      } catch (error) {
        reportAsync(error)
      }
      return response
    })
  } as typeof fetch
  target.fetch = wrapped
  return { target, original, wrapped }
}

/**
 * An action that ran on another build and redirected or revalidated: load the target (the
 * redirect's, else this page) as a new document. Next.js would render the other build's answer
 * into this page instead, which 15.x cannot do (its client throws a TypeError and shows
 * "Application error"); the new document comes from the new build, so the tab is current
 * afterwards. `redirect` is Next.js's `x-action-redirect` value, `<url>;<push|replace>`, or null.
 * Returns whether a navigation started.
 */
export function replaceDocument(target: FetchTarget, redirect: string | null, before?: () => void): boolean {
  const location = target.location
  if (!location) return false
  if (redirect === null) {
    before?.()
    location.reload()
    return true
  }
  const split = /^(.*);(push|replace)$/.exec(redirect)
  const url = new URL(split ? split[1] : redirect, location.href)
  // Only same-origin targets: an external redirect is the app's own business, not skew.
  if (url.origin !== new URL(location.href).origin) return false
  before?.()
  if (split?.[2] === 'replace') location.replace(url.href)
  else location.assign(url.href)
  return true
}

/**
 * Starts watching Server Action calls: each `fetch` carrying a `Next-Action` header gets
 * `x-skew-guard-build: <buildId>` (when the build ID is known), and its response is classified
 * (see `classifyActionResponse`); skew is published to `subscribeToSkew` listeners.
 *
 * Idempotent: `window.fetch` is wrapped once however often this is called (React strict mode
 * mounts effects twice). Each call returns its own uninstall function; the newest installation's
 * options apply, and `window.fetch` is restored when the last one is uninstalled (unless another
 * library wrapped it since, in which case the wrapper stays in place and passes calls through).
 * A no-op during SSR and wherever `window.fetch` does not exist.
 */
export function installActionInterceptor(options: ActionInterceptorOptions = {}): () => void {
  return interceptActions(
    checkOptions<ActionInterceptorOptions>('installActionInterceptor', options, { buildId: buildIdCheck, now: fn, beforeDocumentLoad: fn }),
  )
}

/**
 * {@link installActionInterceptor} for options known to be valid (`<SkewGuard>`'s own): the
 * option checks and their messages stay out of the page's JavaScript unless the app calls
 * `installActionInterceptor` itself. Internal.
 */
export function interceptActions(opts: ActionInterceptorOptions): () => void {
  const target = currentWindow()
  if (target === null) return () => {}
  const installation: Installation = {
    buildId: getClientBuildId(opts.buildId),
    now: opts.now ?? Date.now,
    beforeDocumentLoad: opts.beforeDocumentLoad,
  }
  if (wrapper === null || wrapper.target !== target) wrapper = wrap(target)
  installations.push(installation)
  let removed = false
  return () => {
    if (removed) return
    removed = true
    const index = installations.lastIndexOf(installation)
    if (index !== -1) installations.splice(index, 1)
    if (installations.length === 0 && wrapper !== null && wrapper.target.fetch === wrapper.wrapped) {
      wrapper.target.fetch = wrapper.original
      wrapper = null
    }
  }
}
