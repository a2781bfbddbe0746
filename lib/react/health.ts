/**
 * The health endpoint as the client reads it: its URL under the app's basePath, and one `GET` of
 * the server's build ID. Used by the version check (deferred.ts, after hydration) and by the
 * missing-chunk check, which runs when the page's own lazily loaded code fails, so it stays in
 * the page's first-load JavaScript.
 */
import { BUILD_ID_HEADER } from '../shared/protocol'

/** Default time between checks. */
export const DEFAULT_INTERVAL_MS = 60_000
/** Default ceiling of the backoff after errors. */
export const DEFAULT_MAX_BACKOFF_MS = 600_000

/**
 * The health path as the app's other requests go: Next.js inlines the app's `basePath` into client
 * bundles as `process.env.__NEXT_ROUTER_BASEPATH`, and `trailingSlash: true` as
 * `process.env.__NEXT_TRAILING_SLASH` (without the slash, Next.js would answer the poll with a
 * redirect first).
 */
export function healthUrl(healthPath: string, base = inlinedBasePath(), trailingSlash = inlinedTrailingSlash()): string {
  if (!healthPath.startsWith('/')) return healthPath
  let path = base && !healthPath.startsWith(`${base}/`) ? `${base}${healthPath}` : healthPath
  if (trailingSlash && !path.endsWith('/')) path += '/'
  return path
}

function inlinedBasePath(): string {
  try {
    // Written out literally so the bundler can inline it; `process` may not exist otherwise.
    return process.env.__NEXT_ROUTER_BASEPATH || ''
  } catch {
    return ''
  }
}

function inlinedTrailingSlash(): boolean {
  try {
    return String(process.env.__NEXT_TRAILING_SLASH) === 'true'
  } catch {
    return false
  }
}

/**
 * One check: `GET` the health endpoint without caches and return the server's build ID (the body's
 * `buildId`, else the `x-build-id` header; `null` when neither says). Rejects on network errors and
 * non-2xx answers, which count as failures for the backoff.
 */
export async function fetchServerBuildId(fetchFn: typeof fetch, path: string): Promise<string | null> {
  const response = await fetchFn(path, {
    method: 'GET',
    cache: 'no-store',
    credentials: 'same-origin',
    headers: { accept: 'application/json' },
  })
  if (!response.ok) throw new Error(`next-skew-guard: health check ${path} answered ${response.status}`)
  let body: unknown = null
  try {
    body = await response.json()
  } catch {
    body = null
  }
  const fromBody = typeof body === 'object' && body !== null ? (body as { buildId?: unknown }).buildId : undefined
  if (typeof fromBody === 'string' && fromBody !== '') return fromBody
  return response.headers.get(BUILD_ID_HEADER) || null
}
