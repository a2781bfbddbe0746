/**
 * Everything that touches the DOM, in one small file so the rest can be
 * tested in Node and this part in a real browser. Nothing here runs at import
 * time; every function checks that a document exists.
 */
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

/** Minimal shape of the form controls {@link hasUnsavedInput} reads (duck-typed, so it is testable without a DOM). */
export interface FieldLike {
  tagName: string
  type?: string
  value?: string
  defaultValue?: string
  checked?: boolean
  defaultChecked?: boolean
  disabled?: boolean
  readOnly?: boolean
  isContentEditable?: boolean
  selectedIndex?: number
  files?: { length: number } | null
  options?: ArrayLike<{ selected: boolean; defaultSelected: boolean }>
}

/** Minimal shape of the document {@link hasUnsavedInput} reads. */
export interface DocumentLike {
  activeElement: unknown
  querySelectorAll(selector: string): ArrayLike<unknown>
}

const NOT_TEXT = new Set(['button', 'submit', 'reset', 'image', 'hidden', 'checkbox', 'radio', 'file', 'range', 'color'])

function isTextEditable(el: FieldLike): boolean {
  if (el.isContentEditable === true) return true
  if (el.disabled || el.readOnly) return false
  const tag = el.tagName.toUpperCase()
  if (tag === 'TEXTAREA') return true
  return tag === 'INPUT' && !NOT_TEXT.has((el.type ?? 'text').toLowerCase())
}

function isDirty(el: FieldLike): boolean {
  if (el.disabled) return false
  const tag = el.tagName.toUpperCase()
  if (tag === 'TEXTAREA') return el.value !== el.defaultValue
  if (tag === 'SELECT') {
    const options = Array.from(el.options ?? [])
    if (!options.some((o) => o.defaultSelected) && el.type !== 'select-multiple') return (el.selectedIndex ?? 0) > 0
    return options.some((o) => o.selected !== o.defaultSelected)
  }
  if (tag !== 'INPUT') return false
  const type = (el.type ?? 'text').toLowerCase()
  if (type === 'checkbox' || type === 'radio') return el.checked !== el.defaultChecked
  if (type === 'file') return (el.files?.length ?? 0) > 0
  if (NOT_TEXT.has(type)) return false
  return el.value !== el.defaultValue
}

/**
 * Whether a reload could throw away what the user typed: a focused text field (they are typing),
 * or an input/textarea/select whose value differs from its default. Controlled React inputs keep
 * their default in sync with their value, so only the focus check covers them; apps with complex
 * editors should pass `onSkew` and decide themselves.
 */
export function hasUnsavedInput(doc: DocumentLike | null = hasDocument() ? (document as unknown as DocumentLike) : null): boolean {
  if (doc === null) return false
  const active = doc.activeElement as FieldLike | null
  if (active && typeof active.tagName === 'string' && isTextEditable(active)) return true
  const fields = doc.querySelectorAll('input, textarea, select')
  for (let i = 0; i < fields.length; i++) {
    if (isDirty(fields[i] as FieldLike)) return true
  }
  return false
}

/** Attributes of a clicked link that decide whether it is an internal navigation. */
export interface LinkInfo {
  href: string | null
  target: string | null
  download: boolean
}

/**
 * The absolute URL a link click navigates to inside this app, or `null` when the click is not an
 * internal page navigation: no href, another window (`target`), a download, another origin or
 * scheme, or a jump to a fragment of the current page.
 */
export function internalHref(link: LinkInfo, current: string): string | null {
  if (link.href === null || link.download) return null
  if (link.target !== null && link.target !== '' && link.target.toLowerCase() !== '_self') return null
  let url: URL
  let here: URL
  try {
    here = new URL(current)
    url = new URL(link.href, here)
  } catch {
    return null
  }
  if (url.origin !== here.origin || (url.protocol !== 'http:' && url.protocol !== 'https:')) return null
  if (url.hash !== '' && url.pathname === here.pathname && url.search === here.search) return null
  return url.href
}

function linkOf(event: MouseEvent): LinkInfo | null {
  const path = typeof event.composedPath === 'function' ? event.composedPath() : [event.target]
  for (const node of path) {
    const el = node as Element | null
    if (el && typeof el.tagName === 'string' && el.tagName.toLowerCase() === 'a' && el.hasAttribute('href')) {
      return { href: el.getAttribute('href'), target: el.getAttribute('target'), download: el.hasAttribute('download') }
    }
  }
  return null
}

/**
 * Listens (capture phase, on window, so before React's root listener and Next.js's `<Link>`) for
 * plain left clicks on internal links, and for back/forward to another path or query. When
 * `callback` takes a click over, the event is cancelled so Next.js does not start a client-side
 * navigation in parallel.
 */
export function onInternalNavigation(callback: (url: string | null) => boolean): () => void {
  if (!hasDocument() || typeof window === 'undefined') return () => {}
  const onClick = (event: MouseEvent) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    const link = linkOf(event)
    if (link === null) return
    const url = internalHref(link, window.location.href)
    if (url !== null && callback(url)) {
      event.preventDefault()
      event.stopImmediatePropagation()
    }
  }
  // Fragment navigations fire popstate too; only a change of path or query is a page navigation.
  const pageOf = () => window.location.pathname + window.location.search
  let page = pageOf()
  const onPop = () => {
    const now = pageOf()
    if (now === page) return
    page = now
    callback(null)
  }
  window.addEventListener('click', onClick, true)
  window.addEventListener('popstate', onPop)
  return () => {
    window.removeEventListener('click', onClick, true)
    window.removeEventListener('popstate', onPop)
  }
}

function sessionStore(): StorageLike | null {
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
    hasUnsavedInput: () => hasUnsavedInput(),
    reload: () => window.location.reload(),
    navigate: (url) => window.location.assign(url),
    storage: sessionStore,
    onHidden(callback) {
      if (!hasDocument()) return () => {}
      const listener = () => {
        if (document.visibilityState === 'hidden') callback()
      }
      document.addEventListener('visibilitychange', listener)
      return () => document.removeEventListener('visibilitychange', listener)
    },
    onNavigate: onInternalNavigation,
  }
}
