/**
 * Chunk-load skew: after a deploy, a page of the old build that loads code lazily (`next/dynamic`,
 * `import()`, a route's chunk) asks the server for files only the old build had. The script or
 * stylesheet fails to load, and webpack (`ChunkLoadError: Loading chunk 123 failed.`) or Turbopack
 * (`Failed to load chunk /_next/static/chunks/….js`, `module factory is not available`) takes the
 * whole app down. This module recognises those failures; the guard then makes sure the server
 * really runs another build before it turns the failure into one full reload.
 */

/** Messages of chunk failures, by webpack, Turbopack and the browsers' own dynamic `import()`. */
const CHUNK_ERROR = [
  /ChunkLoadError/,
  /Loading (CSS )?chunk [\w/.-]+ failed/i,
  /Failed to load chunk /,
  /module factory is not available/i,
  /Failed to fetch dynamically imported module/i,
  /error loading dynamically imported module/i,
  /Importing a module script failed/i,
]

/** What a chunk failure told about itself. */
export interface ChunkFailure {
  /** The file that failed, when known (a script or stylesheet of the app's build). */
  url: string | null
  /** The error's message, when the failure surfaced as an error. */
  message: string | null
}

/** Whether an error (anything thrown or rejected) is a failed chunk load. */
export function isChunkError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return typeof error === 'string' && CHUNK_ERROR.some((re) => re.test(error))
  const { name, message } = error as { name?: unknown; message?: unknown }
  if (name === 'ChunkLoadError') return true
  return typeof message === 'string' && CHUNK_ERROR.some((re) => re.test(message))
}

/** The build's own static files (scripts, stylesheets), under any basePath or asset prefix. */
export function isBuildAsset(url: string): boolean {
  return /\/_next\/static\//.test(url)
}

/** The URL named in a Turbopack or webpack chunk error, when it names one. */
export function chunkUrlOf(message: string | null, base: string): string | null {
  if (message === null) return null
  const match = /((?:https?:\/\/[^\s'"]+)?\/_next\/static\/[^\s'")]+)/.exec(message)
  if (!match) return null
  try {
    return new URL(match[1], base).href
  } catch {
    return null
  }
}

interface ErrorTarget {
  addEventListener(type: string, listener: (event: unknown) => void, capture?: boolean): void
  removeEventListener(type: string, listener: (event: unknown) => void, capture?: boolean): void
}

/**
 * Calls back on every chunk failure in `win`: a build script or stylesheet that failed to load
 * (seen in the capture phase, before the bundler's own handler throws), and errors or rejections
 * that read as chunk failures (including the ones Next.js's root error boundary reports). Returns
 * the remover.
 */
export function watchChunkFailures(win: ErrorTarget | null, callback: (failure: ChunkFailure) => void): () => void {
  if (win === null) return () => {}
  const onError = (event: unknown) => {
    const e = event as { target?: unknown; error?: unknown; message?: unknown }
    const el = e.target as { tagName?: unknown; src?: unknown; href?: unknown; rel?: unknown } | null | undefined
    const tag = typeof el?.tagName === 'string' ? el.tagName.toUpperCase() : ''
    if (tag === 'SCRIPT' || (tag === 'LINK' && String(el?.rel ?? '').includes('stylesheet'))) {
      const url = String((tag === 'SCRIPT' ? el?.src : el?.href) ?? '')
      if (isBuildAsset(url)) callback({ url, message: null })
      return
    }
    const error = e.error ?? e.message
    if (isChunkError(error)) {
      const message = typeof error === 'string' ? error : String((error as { message?: unknown })?.message ?? '')
      callback({ url: null, message })
    }
  }
  const onRejection = (event: unknown) => {
    const reason = (event as { reason?: unknown }).reason
    if (isChunkError(reason)) callback({ url: null, message: String((reason as { message?: unknown })?.message ?? reason) })
  }
  win.addEventListener('error', onError, true)
  win.addEventListener('unhandledrejection', onRejection)
  return () => {
    win.removeEventListener('error', onError, true)
    win.removeEventListener('unhandledrejection', onRejection)
  }
}

/**
 * Whether a chunk failure is skew rather than a network hiccup: the file is gone from the server
 * (a 4xx answer), or, when the failure named no file, the server runs another build. `probe`
 * answers the HTTP status of a HEAD request (or throws when the network fails); `serverBuild`
 * the build the health endpoint reports.
 */
export async function confirmChunkSkew(
  failure: ChunkFailure,
  base: string,
  clientBuildId: string | null,
  probe: (url: string) => Promise<number>,
  serverBuild: () => Promise<string | null>,
): Promise<boolean> {
  const url = failure.url ?? chunkUrlOf(failure.message, base)
  if (url !== null) {
    try {
      const status = await probe(url)
      if (status >= 400 && status < 500) return true
    } catch {
      // The network failed: ask which build runs.
    }
  }
  try {
    const server = await serverBuild()
    return clientBuildId !== null && server !== null && server !== clientBuildId
  } catch {
    return false
  }
}
