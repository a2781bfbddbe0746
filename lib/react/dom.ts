/**
 * Everything that touches the DOM, in one small file so the rest can be
 * tested in Node and this part in a real browser. Nothing here runs at import
 * time; every function checks that a document exists.
 */
import { hasEditedInput, saveInput, type InputDocument } from './edits'
import type { PolicyEnv } from './policy'
import type { StorageLike } from './types'

function hasDocument(): boolean {
  return typeof document !== 'undefined' && document !== null
}

/** Whether the tab is visible. Without a document (SSR) it is not. */
export function isDocumentVisible(): boolean {
  return hasDocument() && document.visibilityState === 'visible'
}

/** Calls back on every visibility change, and when a page comes back from the back/forward cache. */
export function onVisibilityChange(callback: () => void): () => void {
  if (!hasDocument() || typeof window === 'undefined') return () => {}
  const onShow = (event: PageTransitionEvent) => {
    if (event.persisted) callback()
  }
  document.addEventListener('visibilitychange', callback)
  window.addEventListener('pageshow', onShow)
  return () => {
    document.removeEventListener('visibilitychange', callback)
    window.removeEventListener('pageshow', onShow)
  }
}

type HistoryMethod = 'pushState' | 'replaceState'

/**
 * Calls back when the app moves to another page inside itself: a client-side navigation that
 * pushed a new URL (Next.js's `<Link>`, `router.push`), or back/forward to another path or query.
 * Clicks are never intercepted, so a link the app handles itself (`href="#"`, a handler calling
 * `preventDefault()`) keeps working, and a `replaceState` (search params updated in place while
 * the user types) is not a navigation. The history method is wrapped, not replaced: the wrapper
 * calls through to whatever was there, and steps out of the way when removed.
 */
export function onPageChange(callback: () => void): () => void {
  if (!hasDocument() || typeof window === 'undefined' || !window.history) return () => {}
  const history = window.history
  const pageOf = () => window.location.pathname + window.location.search
  let page = pageOf()
  let active = true
  const check = () => {
    if (!active) return
    const now = pageOf()
    if (now === page) return
    page = now
    callback()
  }
  const method: HistoryMethod = 'pushState'
  const original = history[method]
  const wrapped = function (this: History, ...args: Parameters<History['pushState']>) {
    const result = original.apply(this, args)
    check()
    return result
  }
  history[method] = wrapped
  // Fragment jumps fire popstate too; only a change of path or query is a page navigation.
  window.addEventListener('popstate', check)
  return () => {
    active = false
    window.removeEventListener('popstate', check)
    if (history[method] === wrapped) history[method] = original
  }
}

export function sessionStore(): StorageLike | null {
  try {
    return typeof window !== 'undefined' && window.sessionStorage ? window.sessionStorage : null
  } catch {
    // Access itself throws where storage is blocked (sandboxed iframes, some privacy settings).
    return null
  }
}

/** The real browser behind the reload policy. */
export function browserPolicyEnv(): PolicyEnv {
  return {
    isVisible: isDocumentVisible,
    saveInput: saveBrowserInput,
    reload: () => window.location.reload(),
    storage: sessionStore,
    onHidden(callback) {
      if (!hasDocument()) return () => {}
      const listener = () => {
        if (document.visibilityState === 'hidden') callback()
      }
      document.addEventListener('visibilitychange', listener)
      return () => document.removeEventListener('visibilitychange', listener)
    },
    onNavigate: onPageChange,
  }
}

/** The page's identity for saved input: the same path and query after the reload. */
export function currentPage(): string {
  return typeof window === 'undefined' ? '' : window.location.pathname + window.location.search
}

/** The document as the input tracker sees it, or null during SSR. */
export function inputDocument(): InputDocument | null {
  return hasDocument() ? (document as unknown as InputDocument) : null
}

/** Saves the fields the user edited in this page (see input.ts); true when there is nothing to lose. */
export function saveBrowserInput(): boolean {
  if (!hasEditedInput()) return true
  return saveInput(sessionStore(), inputDocument(), currentPage(), Date.now())
}
