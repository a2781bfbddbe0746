/**
 * When `<SkewGuard>` reloads the page. Kept free of the DOM: the browser side
 * is an injected {@link PolicyEnv} (see dom.ts), so the decisions can be
 * tested in Node.
 *
 * The `'safe'` rule: reload only when that cannot destroy something the user
 * is still looking at.
 * 1. At the next navigation inside the app (once the app has moved to another
 *    page, the new URL is loaded as a full document; back/forward likewise).
 *    The user is leaving the page anyway, and Next.js itself falls back to a
 *    full load when it notices another build during navigation.
 * 2. When the tab becomes hidden.
 * 3. At once, when an action the user just triggered did not run (refused or
 *    not found), or lazily loaded code of the page is gone from the server,
 *    and the tab is visible. Nothing can be lost (the action did not run),
 *    every retry would fail the same way (on Next.js 14 silently), and the
 *    reloaded page's actions work.
 * Before every reload the fields the user edited are saved and put back after
 * it (see input.ts); when something cannot be saved (a chosen file), the
 * page is not reloaded, except by a navigation away from it.
 * A skew seen by the version check alone never reloads a visible page: the
 * user may be reading, and nothing is broken until they act or leave.
 */
import { claimReload, isCoolingDown } from './cooldown'
import { reportAsync } from './store'
import type { ReloadMode, SkewEvent, StorageLike } from './types'

/** The browser facilities the policy needs. Internal; dom.ts implements it. */
export interface PolicyEnv {
  /** `document.visibilityState === 'visible'`. */
  isVisible(): boolean
  /**
   * Saves what the user typed so it is restored after the reload; false when something cannot
   * be saved (a chosen file), so the reload must wait.
   */
  saveInput(): boolean
  /** `location.reload()`. */
  reload(): void
  /** `sessionStorage`, or `null` where it is unusable. */
  storage(): StorageLike | null
  /** Calls back when the tab becomes hidden; returns the remover. */
  onHidden(callback: () => void): () => void
  /**
   * Calls back when the app navigated to another page inside itself (a client-side push, or
   * back/forward): the URL has already changed, so a reload loads the new page.
   */
  onNavigate(callback: () => void): () => void
}

/** Options of {@link ReloadPolicy}. Internal. */
export interface ReloadPolicyOptions {
  mode: ReloadMode
  cooldownMs: number
  onSkew?: (event: SkewEvent) => unknown
  env: PolicyEnv
  now?: () => number
}

/** What the `'safe'` rule does with one event: reload now, or wait for a safe moment. */
export function safeDecision(event: SkewEvent, visible: boolean): 'now' | 'later' {
  if (!visible) return 'now'
  return event.source !== 'version-check' && !event.actionRan ? 'now' : 'later'
}

/** Applies the reload mode, `onSkew` and the cooldown to skew events. Internal. */
export class ReloadPolicy {
  readonly #options: ReloadPolicyOptions
  readonly #now: () => number
  #removers: Array<() => void> = []
  #disposed = false

  constructor(options: ReloadPolicyOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** Whether a reload is waiting for a safe moment. */
  get pending(): boolean {
    return this.#removers.length > 0
  }

  /** Decides about one event; returns it as it should be published (`suppressed` when the cooldown withheld a reload). */
  handle(event: SkewEvent): SkewEvent {
    if (this.#disposed) return event
    const { mode, cooldownMs, onSkew, env } = this.#options
    const suppressed = mode !== 'manual' && isCoolingDown(env.storage(), this.#now(), cooldownMs)
    let published: SkewEvent = suppressed ? { ...event, suppressed: true } : event
    let answer: unknown
    if (onSkew) {
      try {
        answer = onSkew(published)
      } catch (error) {
        // The app's hook failing must not disable the protection.
        reportAsync(error)
      }
    }
    if (mode === 'manual' || suppressed || answer === false) return published
    if (mode === 'eager' || safeDecision(event, env.isVisible()) === 'now') {
      if (!this.#reload(true)) {
        published = { ...published, suppressed: true }
        this.#arm()
      }
    } else {
      this.#arm()
    }
    return published
  }

  /** Stops waiting and removes every listener (on unmount). */
  dispose(): void {
    this.#disposed = true
    this.#disarm()
  }

  #arm(): void {
    if (this.pending) return
    const { env } = this.#options
    this.#removers.push(
      env.onHidden(() => this.#reload(true)),
      // The app already left the page: what it held is gone from view, saved or not.
      env.onNavigate(() => this.#reload(false)),
    )
  }

  #disarm(): void {
    const removers = this.#removers
    this.#removers = []
    for (const remove of removers) remove()
  }

  /**
   * Reloads if the cooldown allows and, with `keepInput`, once the user's input is saved; stays
   * armed otherwise.
   */
  #reload(keepInput: boolean): boolean {
    const { env, cooldownMs } = this.#options
    if (this.#disposed || isCoolingDown(env.storage(), this.#now(), cooldownMs)) return false
    const saved = env.saveInput()
    if (keepInput && !saved) return false
    if (!claimReload(env.storage(), this.#now(), cooldownMs)) return false
    this.#disarm()
    env.reload()
    return true
  }
}
