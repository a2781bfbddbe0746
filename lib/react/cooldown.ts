/**
 * Loop protection. A reload that lands on a page that is still skewed (a
 * CDN serving old HTML, a rolling deploy with old and new replicas behind one
 * balancer) would reload again, forever. So every automatic reload first
 * records its time in `sessionStorage` (per tab, survives the reload), and no
 * automatic reload happens within `cooldownMs` of the previous one.
 */
import type { StorageLike } from './types'

/** The `sessionStorage` key holding the time (ms since the epoch) of the last automatic reload. */
export const RELOAD_STORAGE_KEY = 'next-skew-guard:last-reload'

/**
 * Whether an automatic reload must be withheld now. True when the last one was less than
 * `cooldownMs` ago (either direction, so a clock set back does not unlock a loop), and when the
 * storage is missing or throws (Safari private mode, sandboxed iframes): without a record that
 * survives the reload, a loop cannot be ruled out. `cooldownMs: 0` turns the protection off.
 */
export function isCoolingDown(storage: StorageLike | null, now: number, cooldownMs: number): boolean {
  if (cooldownMs <= 0) return false
  if (storage === null) return true
  let raw: string | null
  try {
    raw = storage.getItem(RELOAD_STORAGE_KEY)
  } catch {
    return true
  }
  if (raw === null) return false
  const last = Number(raw)
  if (!Number.isFinite(last)) return false
  return Math.abs(now - last) < cooldownMs
}

/**
 * Claims the right to reload now: false while cooling down; otherwise records `now` and returns
 * true, or false when the record cannot be written (no record, no automatic reload).
 */
export function claimReload(storage: StorageLike | null, now: number, cooldownMs: number): boolean {
  if (isCoolingDown(storage, now, cooldownMs)) return false
  if (storage === null) return cooldownMs <= 0
  try {
    storage.setItem(RELOAD_STORAGE_KEY, String(now))
    return true
  } catch {
    return cooldownMs <= 0
  }
}
