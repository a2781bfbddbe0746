/**
 * The React state of the version check, shared by the public `useVersionCheck` (version-hook.ts,
 * which has the checker at hand) and `<SkewGuard>` (guard.ts, which gets it from deferred.ts after
 * hydration). Takes the checker class as a function, so this module never imports version.ts.
 */
import { useEffect, useState } from 'react'
import { isDocumentVisible, onVisibilityChange } from './dom'
import { fetchServerBuildId, healthUrl } from './health'
import { emitSkew } from './store'
import type { VersionCheckResult, VersionChecker } from './version'

/** The checker class, or a promise of it (loaded on demand). Internal. */
export type CheckerSource = () => typeof VersionChecker | Promise<typeof VersionChecker>

/**
 * Polls `healthPath` while mounted (see `useVersionCheck`) with the checker `source` provides.
 * Renders `status: 'unknown'` until the first check, on the server as on the client. Internal.
 */
export function useVersionState(
  clientBuildId: string | null,
  healthPath: string | false,
  intervalMs: number,
  maxBackoffMs: number,
  source: CheckerSource,
): VersionCheckResult {
  const [result, setResult] = useState<VersionCheckResult>({
    status: 'unknown',
    serverBuildId: null,
    clientBuildId,
    lastChecked: null,
  })

  useEffect(() => {
    if (healthPath === false || clientBuildId === null || typeof window === 'undefined') return
    const win = window
    let stopped = false
    let checker: VersionChecker | null = null
    let off = () => {}
    const start = (Checker: typeof VersionChecker) => {
      if (stopped) return
      const running = new Checker(
        {
          // Looked up per call, like Next.js does, so other fetch wrappers keep working.
          fetchBuildId: () => fetchServerBuildId((input, init) => win.fetch(input, init), healthUrl(healthPath)),
          isVisible: isDocumentVisible,
          setTimer: (callback, ms) => setTimeout(callback, ms),
          clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
          random: Math.random,
          now: Date.now,
        },
        { clientBuildId, intervalMs, maxBackoffMs, onResult: setResult, onSkew: emitSkew },
      )
      checker = running
      off = onVisibilityChange(() => running.visibilityChanged())
      running.start()
    }
    const Checker = source()
    // A checker that fails to load is a chunk the server no longer has: the missing-chunk watch
    // (chunks.ts, in the first-load JavaScript) reports that as skew; nothing to add here.
    if (typeof (Checker as Promise<typeof VersionChecker>).then === 'function')
      (Checker as Promise<typeof VersionChecker>).then(start, () => {})
    else start(Checker as typeof VersionChecker)
    return () => {
      stopped = true
      off()
      checker?.stop()
    }
    // `source` is a module-level function in both callers: it never changes between renders.
  }, [clientBuildId, healthPath, intervalMs, maxBackoffMs, source])

  return result.clientBuildId === clientBuildId ? result : { ...result, clientBuildId, status: 'unknown' }
}
