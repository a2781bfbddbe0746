/**
 * The part of `<SkewGuard />` a page does not need before it is interactive: putting typed input
 * back after the guard's reload, the version check's poller, and the default banner. loader.ts
 * loads it with `import()` right after hydration, so bundlers put it in a chunk of its own,
 * outside the page's first-load JavaScript.
 *
 * Everything here is needed only after something has happened: a page the guard reloaded (which
 * restores input), a poll (the first comes one interval after mount), or skew seen (the banner).
 * What must work from the first moment, or at the moment the page's own chunks fail to load,
 * stays in the first-load JavaScript: the interceptor, the reload policy and its cooldown,
 * recording and saving edited fields (edits.ts) and the missing-chunk watch (chunks.ts). See
 * loader.ts for why it is loaded early rather than when needed.
 */
import { currentPage, inputDocument, sessionStore } from './dom'
import { domWriter, restoreFields, takeSnapshot } from './input'

export { VersionChecker } from './version'
export { SkewGuardBanner } from './banner'

/** Delays (ms after the call) at which saved fields that were not in the page yet are tried again. */
const RESTORE_RETRIES_MS = [50, 150, 400, 1_000, 2_500]

/**
 * Puts back what the user typed before the guard's last reload of this page (see input.ts),
 * retrying for fields that render late. Returns the canceller.
 */
export function restoreSavedInput(): () => void {
  const doc = inputDocument()
  const snapshot = takeSnapshot(sessionStore(), currentPage(), Date.now())
  if (doc === null || snapshot === null) return () => {}
  const writer = domWriter()
  let missing = restoreFields(snapshot.fields, doc, writer)
  const timers = RESTORE_RETRIES_MS.map((ms) =>
    setTimeout(() => {
      if (missing.length > 0) missing = restoreFields(missing, doc, writer)
    }, ms),
  )
  return () => timers.forEach(clearTimeout)
}
