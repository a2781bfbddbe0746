/**
 * Loads deferred.ts (the half of `<SkewGuard />` outside the page's first-load JavaScript) once
 * per page.
 *
 * When: right after hydration (`<SkewGuard>`'s first effect), not when the code is needed. The
 * default banner is needed once skew is seen, and skew means the server runs another build: by
 * then the chunk of the page's own build may be gone from the server, so loading it at that
 * moment could fail exactly when it matters. Right after hydration the page and the server belong
 * to the same build (the page's other chunks loaded a moment ago), so the chunk is there; from
 * then on it is in memory. If even that load fails, a deploy happened in between: the
 * missing-chunk watch (chunks.ts) sees the failed script and reports skew, and the policy
 * reloads as usual (saving typed input needs nothing from here); only the default banner is
 * missing until then. After a reload by the guard the page is the server's build, so restoring
 * typed input finds its chunk.
 */
import type * as DeferredModule from './deferred'

/** The module deferred.ts, once loaded. Internal. */
export type Deferred = typeof DeferredModule

let loaded: Deferred | null = null
let loading: Promise<Deferred> | null = null

/** deferred.ts if it has loaded, else null (never loaded during SSR). Internal. */
export function deferredModule(): Deferred | null {
  return loaded
}

/** Loads deferred.ts (once; a failed load is tried again by the next call). Internal. */
export function loadDeferred(): Promise<Deferred> {
  loading ??= import('./deferred').then(
    (module) => (loaded = module),
    (error: unknown) => {
      loading = null
      throw error
    },
  )
  return loading
}
