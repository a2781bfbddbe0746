/**
 * Pure logic of the action interceptor: recognising a Server Action request,
 * adding the page's build ID to it, and reading a skew verdict off the
 * response's status and headers (never its body, which Next.js still has to
 * read).
 */
import {
  ACTION_HEADER,
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

function isHtml(contentType: string | null): boolean {
  return contentType !== null && contentType.split(';')[0].trim().toLowerCase() === 'text/html'
}

/**
 * Reads a skew verdict off the response to a Server Action call, or `null` when there is none.
 * Only status and headers are read; the body stays unread for Next.js. In order:
 *
 * 1. `x-skew-guard: unknown-action | stale-build | key-rotated`: the guard refused; the action did not run.
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
  if ((headers.get(NOT_FOUND_HEADER) ?? '').trim() === '1') return event('unknown-action', false)
  if (isHtml(headers.get('content-type')) && (response.status === 200 || response.status === 404) && !response.redirected) {
    return event('unknown-action', false)
  }
  if (verdict === 'reload') return event('build-mismatch', true)
  if (compareBuildIds(context.clientBuildId, serverBuildId) === 'different') return event('build-mismatch', true)
  return null
}
