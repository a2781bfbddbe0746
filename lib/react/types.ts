/** Types shared by the client guard's modules. */

/**
 * What kind of skew was seen:
 * - `unknown-action`: the server does not know the action ID (a redeploy removed or renamed it, or the
 *   guard answered `x-skew-guard: unknown-action`, or Next.js answered `x-nextjs-action-not-found` or
 *   an HTML page). The action did not run.
 * - `stale-build`: the guard's `'reject'` policy refused a call from another build. The action did not run.
 * - `key-rotated`: the closure arguments were sealed with a previous Server Actions key. The action did not run.
 * - `unknown-key`: the closure arguments were sealed with a key the server no longer holds (the key
 *   changed without keeping the old one); Next.js refused the call with a 5xx the guard marked. The
 *   action did not run.
 * - `build-mismatch`: the server runs another build (an `x-build-id` response header, the health
 *   endpoint once its answer settled, or the guard's `x-skew-guard: reload`). An action call may have run.
 * - `missing-chunk`: code the page loads lazily (`next/dynamic`, `import()`, a route's chunk) is no
 *   longer on the server, which runs another build. Nothing ran; the page cannot go on without a reload.
 */
export type SkewKind = 'unknown-action' | 'stale-build' | 'key-rotated' | 'unknown-key' | 'build-mismatch' | 'missing-chunk'

/**
 * Where a skew event came from: a Server Action response (`'action'`), the health-endpoint poll
 * (`'version-check'`), a lazily loaded file that failed to load (`'chunk'`) or the app itself
 * through `reportSkew` (`'app'`). The `'safe'` reload rule treats them differently: only a failed
 * action or a broken page justifies reloading in front of the user.
 */
export type SkewSource = 'action' | 'version-check' | 'chunk' | 'app'

/**
 * One observation of version skew, delivered to `subscribeToSkew` listeners, `onSkew` and
 * `useSkewState`. The same shape (`type: 'VERSION_SKEW'`) as the server side's events, so logs
 * from both ends can be joined on `actionId` and the build IDs.
 */
export interface SkewEvent {
  type: 'VERSION_SKEW'
  kind: SkewKind
  source: SkewSource
  /** The `Next-Action` ID of the call that revealed the skew; `null` for the version check. */
  actionId: string | null
  /** The build the page was loaded from (`null` when unknown). */
  clientBuildId: string | null
  /** The build the server runs, when the response or health endpoint said (`null` otherwise). */
  serverBuildId: string | null
  /**
   * Whether the action may have run. `false` only when the server said it did not (refused verdicts,
   * not-found answers), so reloading cannot lose a result. Always `false` for the version check.
   */
  actionRan: boolean
  /** When it was seen (ms since the epoch). */
  at: number
  /**
   * `true` when a reload was due but withheld because the tab already reloaded for skew within
   * `cooldownMs` (or `sessionStorage` is unusable, so a loop could not be ruled out). Show a banner.
   */
  suppressed?: boolean
}

/** How `<SkewGuard>` reacts to skew. See `SkewGuardProps.reload`. */
export type ReloadMode = 'safe' | 'eager' | 'manual'

/** The subset of `Storage` the cooldown uses (tests pass a fake). */
export interface StorageLike {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
}
