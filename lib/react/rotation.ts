/**
 * The key-rotation notice rule, in plain TypeScript because the client bundle
 * must not import the native core. Same rule as the core's
 * `shouldForceRefresh`: a tab loaded before the rotation keeps working while
 * its payloads still verify under the previous key; once the notice window is
 * over it must reload.
 */
import { checkOptions, anything, toTime, SkewGuardOptionError, describe } from '../shared/options'

/** Options of {@link shouldReloadForRotation}: times in ms since the epoch or `Date`s. */
export interface RotationOptions {
  /** When this tab loaded its page (see `getPageLoadedAt()`). */
  loadedAt: number | Date
  /** When the new Server Actions key became current. */
  rotatedAt: number | Date
  /** How long after the rotation old tabs may keep running. Default 0. */
  noticeMs?: number
  /** The current time. Default `Date.now()`. */
  now?: number | Date
}

/**
 * Whether a tab must reload because of a key rotation: it loaded before `rotatedAt` and
 * `noticeMs` have passed since (`loadedAt < rotatedAt && now >= rotatedAt + noticeMs`), exactly the
 * core's `shouldForceRefresh`. Throws `SkewGuardOptionError` for missing, non-numeric, negative or
 * non-finite times and unknown keys.
 */
export function shouldReloadForRotation(options: RotationOptions): boolean {
  const where = 'shouldReloadForRotation'
  if (typeof options !== 'object' || options === null) {
    throw new SkewGuardOptionError(
      'ERR_INVALID_ARG_TYPE',
      `${where} expects { loadedAt, rotatedAt, noticeMs?, now? }; received ${describe(options)}.`,
    )
  }
  checkOptions<RotationOptions>(where, options, { loadedAt: anything, rotatedAt: anything, noticeMs: anything, now: anything })
  const loadedAt = toTime(where, 'loadedAt', options.loadedAt)
  const rotatedAt = toTime(where, 'rotatedAt', options.rotatedAt)
  const noticeMs = toTime(where, 'noticeMs', options.noticeMs ?? 0)
  const now = toTime(where, 'now', options.now ?? Date.now())
  return loadedAt < rotatedAt && now >= rotatedAt + noticeMs
}

/**
 * When this page was loaded (ms since the epoch, from `performance.timeOrigin`): the `loadedAt`
 * of {@link shouldReloadForRotation}. `null` during SSR, where there is no page.
 */
export function getPageLoadedAt(): number | null {
  if (typeof window === 'undefined' || typeof performance === 'undefined') return null
  const origin = performance.timeOrigin
  return typeof origin === 'number' && Number.isFinite(origin) ? Math.round(origin) : null
}
