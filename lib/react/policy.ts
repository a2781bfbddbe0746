/**
 * When `<SkewGuard>` reloads the page. Kept free of the DOM: the browser side
 * is an injected {@link PolicyEnv} (see dom.ts), so the decisions can be
 * tested in Node.
 *
 * The `'safe'` rule: reload only when that cannot destroy something the user
 * is still looking at.
 * 1. At the next navigation inside the app (an internal link click becomes a
 *    full page load of its href; back/forward reloads the new URL). The user is
 *    leaving the page anyway, and Next.js itself falls back to a full load when
 *    it notices another build during navigation.
 * 2. When the tab becomes hidden, unless the page holds unsaved input.
 * 3. At once, when an action the user just triggered did not run (refused or
 *    not found) and the tab is visible, unless the page holds unsaved input.
 *    Nothing can be lost (the action did not run), every retry would fail the
 *    same way (on Next.js 14 silently), and the reloaded page's actions work.
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
  /** A focused text field, or a form field whose value differs from its default. */
  hasUnsavedInput(): boolean
  /** `location.reload()`. */
  reload(): void
  /** A full page load of `url` (`location.assign`). */
  navigate(url: string): void
  /** `sessionStorage`, or `null` where it is unusable. */
  storage(): StorageLike | null
  /** Calls back when the tab becomes hidden; returns the remover. */
  onHidden(callback: () => void): () => void
  /**
   * Calls back on an internal navigation: `url` for a link click (return true to take it over: the
   * env cancels the client-side navigation), `null` for back/forward (the URL has already changed).
   */
  onNavigate(callback: (url: string | null) => boolean): () => void
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
export function safeDecision(event: SkewEvent, visible: boolean, unsaved: boolean): 'now' | 'later' {
  if (unsaved) return 'later'
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
    if (mode === 'eager' || safeDecision(event, env.isVisible(), env.hasUnsavedInput()) === 'now') {
      if (!this.#reload(null)) published = { ...published, suppressed: true }
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
      env.onHidden(() => {
        if (!env.hasUnsavedInput()) this.#reload(null)
      }),
      env.onNavigate((url) => this.#reload(url)),
    )
  }

  #disarm(): void {
    const removers = this.#removers
    this.#removers = []
    for (const remove of removers) remove()
  }

  /** Reloads (or loads `url`) if the cooldown allows; stays armed otherwise. */
  #reload(url: string | null): boolean {
    const { env, cooldownMs } = this.#options
    if (this.#disposed || !claimReload(env.storage(), this.#now(), cooldownMs)) return false
    this.#disarm()
    if (url === null) env.reload()
    else env.navigate(url)
    return true
  }
}
