/**
 * Pure logic of the action interceptor: recognising a Server Action request,
 * adding the page's build ID to it, and reading a skew verdict off the
 * response's status and headers (never its body, which Next.js still has to
 * read).
 */
import {
  ACTION_HEADER,
  ACTION_REDIRECT_HEADER,
  ACTION_REVALIDATED_HEADER,
  BUILD_ID_HEADER,
  CLIENT_BUILD_HEADER,
  GUARD_HEADER,
  NOT_FOUND_HEADER,
  REFUSED_VERDICTS,
  VERSION_SKEW,
  type GuardVerdict,
} from '../shared/protocol'
import { compareBuildIds } from './build-id'
import type { SkewEvent } from './types'

/** What `classifyActionResponse` reads from a response: a real `Response` fits. */
export interface ResponseLike {
  readonly status: number
  readonly headers: { get(name: string): string | null }
  readonly redirected?: boolean
}

/** Context of one action call for {@link classifyActionResponse}. */
export interface ActionContext {
  /** The `Next-Action` header of the request. */
  actionId: string | null
  /** The page's build ID (`null` when unknown: build mismatches cannot be detected then). */
  clientBuildId: string | null
  /** Timestamp for the event (ms since the epoch). Default `Date.now()`. */
  now?: number
}

type HeaderBag = { get(name: string): string | null }

function isHeaderBag(value: unknown): value is HeaderBag {
  return typeof value === 'object' && value !== null && typeof (value as HeaderBag).get === 'function'
}

function fromHeadersInit(headers: unknown, name: string): string | null {
  if (headers === undefined || headers === null) return null
  if (isHeaderBag(headers)) return headers.get(name)
  if (Array.isArray(headers)) {
    for (const pair of headers) {
      if (Array.isArray(pair) && String(pair[0]).toLowerCase() === name) return String(pair[1])
    }
    return null
  }
  if (typeof headers === 'object') {
    // Next.js 14 sends `Next-Action`, 15/16 send `next-action`: match case-insensitively.
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === name) return String((headers as Record<string, unknown>)[key])
    }
  }
  return null
}

function requestHeaders(input: unknown): HeaderBag | null {
  if (typeof input === 'object' && input !== null && isHeaderBag((input as { headers?: unknown }).headers)) {
    return (input as { headers: HeaderBag }).headers
  }
  return null
}

/**
 * The Server Action ID of a `fetch(input, init)` call, or `null` when it is not an action call.
 * `init.headers` wins over a `Request`'s own headers, as in `fetch` itself.
 */
export function readActionId(input: unknown, init: RequestInit | undefined): string | null {
  let value: string | null
  if (init && init.headers !== undefined) value = fromHeadersInit(init.headers, ACTION_HEADER)
  else value = requestHeaders(input)?.get(ACTION_HEADER) ?? null
  return value === null || value === '' ? null : value
}

/** Header values must be visible ASCII: anything else makes `fetch` throw, which would break the action. */
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]{0,1022}[\x21-\x7e])?$/

/**
 * The `init` to pass to `fetch` so the request carries `x-skew-guard-build: <buildId>`. A copy:
 * the caller's objects are not changed. Returns `init` unchanged when the header is already present
 * or the build ID cannot travel in a header (non-ASCII, over 1024 characters).
 */
export function withClientBuildHeader(input: unknown, init: RequestInit | undefined, buildId: string): RequestInit | undefined {
  if (!HEADER_SAFE.test(buildId)) return init
  const headers = init?.headers
  if (headers === undefined || headers === null) {
    const own = requestHeaders(input)
    if (own === null) return { ...init, headers: { [CLIENT_BUILD_HEADER]: buildId } }
    if (own.get(CLIENT_BUILD_HEADER) !== null) return init
    // Passing `init.headers` replaces a Request's headers wholesale, so start from a copy of them.
    const copy = new Headers(own as unknown as HeadersInit)
    copy.set(CLIENT_BUILD_HEADER, buildId)
    return { ...init, headers: copy }
  }
  if (fromHeadersInit(headers, CLIENT_BUILD_HEADER) !== null) return init
  if (isHeaderBag(headers)) {
    const copy = new Headers(headers as unknown as HeadersInit)
    copy.set(CLIENT_BUILD_HEADER, buildId)
    return { ...init, headers: copy }
  }
  if (Array.isArray(headers)) return { ...init, headers: [...headers, [CLIENT_BUILD_HEADER, buildId]] }
  return { ...init, headers: { ...(headers as Record<string, string>), [CLIENT_BUILD_HEADER]: buildId } }
}

function mediaType(contentType: string | null): string {
  return contentType === null ? '' : contentType.split(';')[0].trim().toLowerCase()
}

function isHtml(contentType: string | null): boolean {
  return mediaType(contentType) === 'text/html'
}

/**
 * Whether something other than Next.js answered the action: an error status without Next.js's
 * own marks (no RSC payload, no not-found header, no redirect). A proxy's 413, a rate limiter's
 * 429, a WAF's 403, a gateway's 502/503/504. Next.js 15/16 report these as "An unexpected response
 * was received from the server." and 14 resolves `undefined`; either way it is not skew, and the
 * request may have reached the action before the gateway gave up.
 */
export function isTransportAnswer(response: ResponseLike): boolean {
  const headers = response.headers
  if (response.status < 400) return false
  if (headers.get(NOT_FOUND_HEADER) !== null || headers.get(ACTION_REDIRECT_HEADER) !== null) return false
  if (REFUSED_VERDICTS.includes((headers.get(GUARD_HEADER) ?? '').trim().toLowerCase() as GuardVerdict)) return false
  return mediaType(headers.get('content-type')) !== 'text/x-component'
}

/**
 * Whether the answer carries revalidated data, i.e. a new tree Next.js will render into the page:
 * 16 sends a revalidation kind (`1`, `2`), 14 and 15 `[[paths], tag, cookie]` (`[[],0,0]` when
 * nothing was revalidated).
 */
export function didRevalidate(headers: { get(name: string): string | null }): boolean {
  const raw = headers.get(ACTION_REVALIDATED_HEADER)
  if (raw === null || raw === '') return false
  try {
    const value = JSON.parse(raw) as unknown
    if (typeof value === 'number') return value > 0
    if (Array.isArray(value)) return (Array.isArray(value[0]) && value[0].length > 0) || !!value[1] || !!value[2]
    return false
  } catch {
    return false
  }
}

/**
 * Reads a skew verdict off the response to a Server Action call, or `null` when there is none.
 * Only status and headers are read; the body stays unread for Next.js. In order:
 *
 * 1. `x-skew-guard: unknown-action | stale-build | key-rotated`: the guard refused; the action did not run.
 *    `x-skew-guard: unknown-key` on a 5xx: Next.js refused closure arguments sealed with a key the
 *    server does not hold, which the guard checked before passing the call on; did not run. Any
 *    other 5xx is an ordinary server error, never skew.
 * 2. `x-nextjs-action-not-found: 1` (Next.js 15.4.1+, and the guard): `unknown-action`, did not run.
 * 3. A `text/html` answer with status 200 or 404 that was not redirected: Next.js 14 and 15.0–15.4.0
 *    render the not-found page for an unknown action ID, and the client resolves `undefined`
 *    without a word. Redirected responses and 5xx pages are left alone: a login redirect or a
 *    proxy's error page is not skew. This comes before `reload`: a guard without the manifest
 *    (Edge middleware) stamps `reload` on a stale page's call to an ID the new build lacks, and
 *    the HTML answer proves the action did not run.
 * 4. `x-skew-guard: reload`: the action ran on another build (`build-mismatch`, `actionRan: true`).
 * 5. An `x-build-id` that differs from the page's build (`build-mismatch`; the action may have run).
 *    Absent or empty on either side is unknown, never a mismatch.
 *
 * Unknown `x-skew-guard` values are ignored, so a newer server cannot confuse an older client.
 */
export function classifyActionResponse(response: ResponseLike, context: ActionContext): SkewEvent | null {
  const headers = response.headers
  const serverBuildId = headers.get(BUILD_ID_HEADER) || null
  const event = (kind: SkewEvent['kind'], actionRan: boolean): SkewEvent => ({
    type: VERSION_SKEW,
    kind,
    source: 'action',
    actionId: context.actionId,
    clientBuildId: context.clientBuildId,
    serverBuildId,
    actionRan,
    at: context.now ?? Date.now(),
  })

  const verdict = (headers.get(GUARD_HEADER) ?? '').trim().toLowerCase() as GuardVerdict
  if (REFUSED_VERDICTS.includes(verdict)) return event(verdict as SkewEvent['kind'], false)
  if (verdict === 'unknown-key' && response.status >= 500) return event('unknown-key', false)
  if ((headers.get(NOT_FOUND_HEADER) ?? '').trim() === '1') return event('unknown-action', false)
  if (isHtml(headers.get('content-type')) && (response.status === 200 || response.status === 404) && !response.redirected) {
    return event('unknown-action', false)
  }
  if (verdict === 'reload') return event('build-mismatch', true)
  if (compareBuildIds(context.clientBuildId, serverBuildId) === 'different') return event('build-mismatch', true)
  return null
}
