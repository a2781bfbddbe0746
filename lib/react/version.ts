/**
 * The version check behind `useVersionCheck`: asks the health endpoint which
 * build the server runs, on a timer that runs only while the tab is visible
 * (a hidden tab costs the server nothing), with exponential backoff on errors
 * and jitter so that tabs opened together do not poll together after a deploy.
 * Timers, clock, randomness and visibility are injected: no DOM, no React.
 */
import { VERSION_SKEW } from '../shared/protocol'
import { compareBuildIds } from './build-id'
import type { SkewEvent } from './types'

// One GET of the health endpoint and the polling defaults live in health.ts, which the page's
// first-load JavaScript needs without this module (see deferred.ts).
import { DEFAULT_MAX_BACKOFF_MS } from './health'
export { DEFAULT_INTERVAL_MS, DEFAULT_MAX_BACKOFF_MS, fetchServerBuildId } from './health'

/** Jitter: each delay is the base delay times a factor in [1 - JITTER, 1 + JITTER). */
export const JITTER = 0.2
/** A tab shown again is checked at once, unless a check started this recently (rapid tab switching). */
export const MIN_VISIBLE_GAP_MS = 5_000
/**
 * Consecutive answers that must name the same other build before it counts. During a rolling
 * update the balancer alternates between old and new replicas; one answer proves nothing, and a
 * tab must neither announce an update nor reload back and forth while the fleet is mixed.
 */
export const SETTLE_ANSWERS = 3
/** Delay of the confirming checks after an answer naming another build (then the normal interval). */
export const CONFIRM_DELAY_MS = 3_000

/** `'current'`: same build; `'stale'`: the server runs another build; `'unknown'`: not checked yet, or a build ID is missing. */
export type VersionStatus = 'unknown' | 'current' | 'stale'

/** What `useVersionCheck` returns. */
export interface VersionCheckResult {
  status: VersionStatus
  /** The build the server reported at the last successful check. */
  serverBuildId: string | null
  /** The build this page was loaded from. */
  clientBuildId: string | null
  /** When the last successful check finished (ms since the epoch), or `null`. */
  lastChecked: number | null
}

/**
 * Delay before the next check: `intervalMs` after a success; after `failures` consecutive errors
 * `intervalMs * 2^failures`, capped at `maxBackoffMs` (never below `intervalMs`). Then ±20 % jitter
 * on top, so the result lies in [0.8 × base, 1.2 × base] (whole ms). `random` is a number in [0, 1).
 */
export function nextPollDelay(intervalMs: number, failures: number, random: number, maxBackoffMs = DEFAULT_MAX_BACKOFF_MS): number {
  const cap = Math.max(maxBackoffMs, intervalMs)
  const base = failures <= 0 ? intervalMs : Math.min(intervalMs * 2 ** Math.min(failures, 30), cap)
  const r = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1 - Number.EPSILON) : 0.5
  return Math.round(base * (1 - JITTER + 2 * JITTER * r))
}

/** What the checker needs from its surroundings. Internal. */
export interface VersionCheckerDeps {
  fetchBuildId(): Promise<string | null>
  isVisible(): boolean
  setTimer(callback: () => void, ms: number): unknown
  clearTimer(handle: unknown): void
  random(): number
  now(): number
}

/** Settings and outputs of the checker. Internal. */
export interface VersionCheckerOptions {
  clientBuildId: string | null
  intervalMs: number
  maxBackoffMs: number
  onResult(result: VersionCheckResult): void
  /** A new server build was seen (once per distinct server build ID). */
  onSkew(event: SkewEvent): void
}

/** Schedules and runs checks. Internal (exported for tests). */
export class VersionChecker {
  readonly #deps: VersionCheckerDeps
  readonly #options: VersionCheckerOptions
  #timer: unknown = null
  #running = false
  #inFlight = false
  #failures = 0
  #lastStarted: number | null = null
  #lastReported: string | null = null
  /** Another build seen, not yet settled: its ID and how many answers in a row named it. */
  #pending: { buildId: string; answers: number } | null = null
  /** The last settled result, reported while a new answer is being confirmed. */
  #settled: { status: VersionStatus; serverBuildId: string | null } = { status: 'unknown', serverBuildId: null }

  constructor(deps: VersionCheckerDeps, options: VersionCheckerOptions) {
    this.#deps = deps
    this.#options = options
  }

  /** Consecutive failed checks (drives the backoff). */
  get failures(): number {
    return this.#failures
  }

  /** Whether a timer is pending. */
  get scheduled(): boolean {
    return this.#timer !== null
  }

  /** Starts: the first check comes one (jittered) interval later, and only while visible. */
  start(): void {
    this.#running = true
    this.#schedule()
  }

  /** Stops for good: clears the timer; a check in flight is ignored when it returns. */
  stop(): void {
    this.#running = false
    this.#clear()
  }

  /** Call on every visibility change: hidden stops the timer; visible checks at once (then resumes the timer). */
  visibilityChanged(): void {
    if (!this.#running) return
    if (!this.#deps.isVisible()) {
      this.#clear()
      return
    }
    // A negative gap is a clock set back, not a recent check: it must not hold the check back.
    const elapsed = this.#lastStarted === null ? null : this.#deps.now() - this.#lastStarted
    const recent = elapsed !== null && elapsed >= 0 && elapsed < Math.min(MIN_VISIBLE_GAP_MS, this.#options.intervalMs)
    if (this.#inFlight || recent) this.#schedule()
    else void this.check()
  }

  /** Runs one check now (resolves when its result has been handled). */
  async check(): Promise<void> {
    if (!this.#running || this.#inFlight) return
    this.#clear()
    this.#inFlight = true
    this.#lastStarted = this.#deps.now()
    let serverBuildId: string | null
    try {
      serverBuildId = await this.#deps.fetchBuildId()
    } catch {
      this.#failures++
      this.#inFlight = false
      this.#schedule()
      return
    }
    this.#inFlight = false
    this.#failures = 0
    if (this.#running) this.#handle(serverBuildId)
    this.#schedule()
  }

  /** Whether another build was seen and is being confirmed. */
  get confirming(): boolean {
    return this.#pending !== null
  }

  #handle(serverBuildId: string | null): void {
    const { clientBuildId } = this.#options
    const at = this.#deps.now()
    const comparison = compareBuildIds(clientBuildId, serverBuildId)
    if (comparison === 'different' && serverBuildId !== null) {
      const answers = this.#pending?.buildId === serverBuildId ? this.#pending.answers + 1 : 1
      if (answers < SETTLE_ANSWERS) {
        this.#pending = { buildId: serverBuildId, answers }
        this.#options.onResult({ ...this.#settled, clientBuildId, lastChecked: at })
        return
      }
    }
    this.#pending = null
    const status: VersionStatus = comparison === 'same' ? 'current' : comparison === 'different' ? 'stale' : 'unknown'
    this.#settled = { status, serverBuildId }
    this.#options.onResult({ status, serverBuildId, clientBuildId, lastChecked: at })
    if (status === 'stale' && serverBuildId !== this.#lastReported) {
      // Once per server build: a tab left open would otherwise report the same deploy every minute.
      this.#lastReported = serverBuildId
      this.#options.onSkew({
        type: VERSION_SKEW,
        kind: 'build-mismatch',
        source: 'version-check',
        actionId: null,
        clientBuildId,
        serverBuildId,
        actionRan: false,
        at,
      })
    }
  }

  #schedule(): void {
    if (!this.#running || this.#timer !== null || this.#inFlight || !this.#deps.isVisible()) return
    const base =
      this.#pending !== null && this.#failures === 0 ? Math.min(CONFIRM_DELAY_MS, this.#options.intervalMs) : this.#options.intervalMs
    const delay = nextPollDelay(base, this.#failures, this.#deps.random(), this.#options.maxBackoffMs)
    this.#timer = this.#deps.setTimer(() => {
      this.#timer = null
      void this.check()
    }, delay)
  }

  #clear(): void {
    if (this.#timer !== null) {
      this.#deps.clearTimer(this.#timer)
      this.#timer = null
    }
  }
}
