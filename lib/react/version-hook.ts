/**
 * `useVersionCheck`, the version check as a hook of its own (for an app's own notice without
 * `<SkewGuard>`). Apart from guard.ts so that `<SkewGuard />` does not bring the checker into the
 * page's first-load JavaScript: it loads it after hydration (see deferred.ts).
 */
import { DEFAULT_HEALTH_PATH } from '../shared/protocol'
import { buildIdCheck, checkOptions, healthPathCheck, millis } from '../shared/options'
import { getClientBuildId } from './build-id'
import { DEFAULT_INTERVAL_MS, DEFAULT_MAX_BACKOFF_MS } from './health'
import { VersionChecker, type VersionCheckResult } from './version'
import { useVersionState } from './version-state'

/** Options of {@link useVersionCheck}. */
export interface VersionCheckOptions {
  /** The page's build ID; default `getClientBuildId()`. Without one nothing can be compared, so nothing is polled. */
  buildId?: string | null
  /** Health endpoint (`GET`, JSON `{ status, buildId, deploymentId }`); default `/api/health`; `false` disables polling. */
  healthPath?: string | false
  /** Time between checks while the tab is visible; default 60 000 ms, at least 1 000. */
  intervalMs?: number
  /** Ceiling of the exponential backoff after failed checks; default 600 000 ms (10 min). */
  maxBackoffMs?: number
}

const VERSION_CHECKS = {
  buildId: buildIdCheck,
  healthPath: healthPathCheck,
  intervalMs: millis(1_000),
  maxBackoffMs: millis(1_000),
}

const checkerAtHand = () => VersionChecker

/**
 * Polls the health endpoint to learn which build the server runs, and compares it with the page's
 * build. Polls only while the tab is visible (every `intervalMs`, ±20 % jitter, exponential backoff
 * after errors up to `maxBackoffMs`), checks once when the tab becomes visible again, and stops on
 * unmount. A server build that differs from the page's is published as a `build-mismatch` skew
 * event (`actionRan: false`), once per server build. Renders the same on the server and the
 * client (`status: 'unknown'` until the first check), so hydration never mismatches.
 */
export function useVersionCheck(options: VersionCheckOptions = {}): VersionCheckResult {
  const opts = checkOptions<VersionCheckOptions>('useVersionCheck', options, VERSION_CHECKS)
  return useVersionState(
    getClientBuildId(opts.buildId),
    opts.healthPath === undefined ? DEFAULT_HEALTH_PATH : opts.healthPath,
    opts.intervalMs ?? DEFAULT_INTERVAL_MS,
    opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
    checkerAtHand,
  )
}
