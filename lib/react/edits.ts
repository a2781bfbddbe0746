/**
 * Which fields the user edited, and saving them right before a reload: the part of keeping typed
 * input across a reload that has to work from the first moment (see input.ts for the whole story
 * and for restoring). Edits are input and change events since the page loaded, in the capture
 * phase: what the user did, not what the DOM's defaults say, so React-controlled fields count too.
 *
 * Loaded with `<SkewGuard />`, while input.ts (restoring) is loaded after hydration: recording
 * must not miss the first keystroke, and a reload (an action answered by another build, a click
 * on a banner's button) may come before anything else has loaded, so saving must not wait.
 */
import type { StorageLike } from './types'

/** The `sessionStorage` key holding the fields saved before an automatic reload. */
export const INPUT_STORAGE_KEY = 'next-skew-guard:input'

/** The parts of a DOM element the tracker reads (duck-typed, so it is testable without a DOM). */
export interface EditableLike {
  tagName: string
  type?: string
  id?: string
  name?: string
  value?: string
  checked?: boolean
  disabled?: boolean
  isConnected?: boolean
  isContentEditable?: boolean
  textContent?: string | null
  files?: { length: number } | null
  form?: unknown
  parentElement?: EditableLike | null
  children?: ArrayLike<unknown>
  options?: ArrayLike<{ selected: boolean; value: string }>
}

/** The parts of the document the tracker uses. */
export interface InputDocument {
  body: unknown
  forms: ArrayLike<unknown>
  getElementById(id: string): unknown
  addEventListener(type: string, listener: (event: { target: unknown }) => void, capture: boolean): void
  removeEventListener(type: string, listener: (event: { target: unknown }) => void, capture: boolean): void
}

const edited = new Set<EditableLike>()
let tracking: { doc: InputDocument; users: number; stop(): void } | null = null

/** The element's tag name, upper case (`''` for anything else). Internal. */
export function tagOf(el: EditableLike): string {
  return typeof el.tagName === 'string' ? el.tagName.toUpperCase() : ''
}

/** Field types whose value a user does not type and a reload does not lose. */
const NOT_INPUT = new Set(['button', 'submit', 'reset', 'image', 'hidden'])

/** Whether an element is a field a user types or chooses in. Internal. */
export function isField(el: unknown): el is EditableLike {
  if (typeof el !== 'object' || el === null) return false
  const field = el as EditableLike
  const tag = tagOf(field)
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true
  if (tag === 'INPUT') return !NOT_INPUT.has((field.type ?? 'text').toLowerCase())
  return field.isContentEditable === true
}

/** The element an event reached a contenteditable region through is its editing host, or inside it. */
function editingHost(el: EditableLike): EditableLike {
  let host = el
  while (host.parentElement && host.parentElement.isContentEditable === true) host = host.parentElement
  return host
}

/**
 * Starts recording the fields the user edits in `doc` (idempotent; every caller gets its own
 * stop function, and tracking ends when the last one stops).
 */
export function trackInput(doc: InputDocument | null): () => void {
  if (doc === null) return () => {}
  if (tracking === null || tracking.doc !== doc) {
    tracking?.stop()
    const onEdit = (event: { target: unknown }) => {
      const target = event.target as EditableLike
      if (isField(target)) edited.add(target.isContentEditable === true ? editingHost(target) : target)
    }
    doc.addEventListener('input', onEdit, true)
    doc.addEventListener('change', onEdit, true)
    tracking = {
      doc,
      users: 0,
      stop: () => {
        doc.removeEventListener('input', onEdit, true)
        doc.removeEventListener('change', onEdit, true)
      },
    }
  }
  const current = tracking
  current.users++
  let stopped = false
  return () => {
    if (stopped) return
    stopped = true
    if (--current.users === 0 && tracking === current) {
      current.stop()
      tracking = null
    }
  }
}

/** Forgets every recorded field (tests, and after the fields were saved). */
export function forgetEditedFields(): void {
  edited.clear()
}

/** Records a field as edited (restored fields are edited again, from the user's point of view). */
export function markEdited(el: EditableLike): void {
  if (isField(el)) edited.add(el)
}

/** Whether a field holds something a reload would lose. */
function holdsInput(el: EditableLike): boolean {
  if (el.isConnected === false || el.disabled) return false
  const tag = tagOf(el)
  const type = (el.type ?? '').toLowerCase()
  if (tag === 'INPUT' && type === 'file') return (el.files?.length ?? 0) > 0
  if (tag === 'INPUT' && (type === 'checkbox' || type === 'radio')) return true
  if (tag === 'SELECT') return true
  if (tag === 'INPUT' || tag === 'TEXTAREA') return (el.value ?? '') !== ''
  return (el.textContent ?? '') !== ''
}

/** The fields the user edited that still hold input. */
export function editedFields(): EditableLike[] {
  const fields: EditableLike[] = []
  for (const el of edited) {
    if (el.isConnected === false) edited.delete(el)
    else if (holdsInput(el)) fields.push(el)
  }
  return fields
}

/** Whether the page holds input the user typed (see {@link trackInput}). */
export function hasEditedInput(): boolean {
  return editedFields().length > 0
}

/**
 * Whether `storage` holds fields saved before a reload (by input.ts), without reading them: the
 * guard loads the code that restores them only then.
 */
export function hasSavedInput(storage: StorageLike | null): boolean {
  try {
    return storage !== null && storage.getItem(INPUT_STORAGE_KEY) !== null
  } catch {
    return false
  }
}

/** Upper bound of a snapshot; larger input holds the reload back rather than being cut. */
const MAX_SNAPSHOT_CHARS = 512 * 1024

/** Where a field sits in the page, in the most stable terms available. */
export type FieldLocator = { id: string } | { form: number; name: string; n: number } | { path: number[] }

/** One saved field. */
export interface SavedField {
  at: FieldLocator
  /** Text of inputs, textareas and contenteditable elements. */
  value?: string
  /** Checkboxes and radio buttons. */
  checked?: boolean
  /** The selected option values of a select. */
  selected?: string[]
}

/** What is kept in `sessionStorage` across the reload. */
export interface InputSnapshot {
  /** `pathname + search` of the page the fields belong to. */
  page: string
  savedAt: number
  fields: SavedField[]
}

function isPassword(el: EditableLike): boolean {
  return tagOf(el) === 'INPUT' && (el.type ?? '').toLowerCase() === 'password'
}

function indexIn(list: ArrayLike<unknown> | undefined, item: unknown): number {
  if (!list) return -1
  for (let i = 0; i < list.length; i++) if (list[i] === item) return i
  return -1
}

/** The locator of a field, or null when the element has no stable place to be found again. */
export function locate(el: EditableLike, doc: InputDocument): FieldLocator | null {
  if (el.id && doc.getElementById(el.id) === el) return { id: el.id }
  if (el.name && el.form) {
    const form = indexIn(doc.forms, el.form)
    const named = (el.form as { elements?: { namedItem?(n: string): unknown } }).elements?.namedItem?.(el.name)
    // A RadioNodeList for repeated names: the position among them; a single element: 0.
    const n =
      named && typeof (named as ArrayLike<unknown>).length === 'number' && !(named as EditableLike).tagName
        ? indexIn(named as ArrayLike<unknown>, el)
        : 0
    if (form !== -1 && n !== -1) return { form, name: el.name, n }
  }
  const path: number[] = []
  let node: EditableLike | null | undefined = el
  while (node && node !== doc.body) {
    const parent: EditableLike | null | undefined = node.parentElement
    const i = indexIn(parent?.children, node)
    if (!parent || i === -1) return null
    path.unshift(i)
    node = parent
  }
  return node === doc.body ? { path } : null
}

/**
 * Saves the edited fields of the page for the next load. Returns false when something the user
 * entered cannot be saved (a chosen file, a field without a stable place, more than fits): the
 * caller must then not reload. Passwords are left out on purpose (never written to storage).
 */
export function saveInput(storage: StorageLike | null, doc: InputDocument | null, page: string, now: number): boolean {
  const fields = editedFields()
  if (fields.length === 0) return true
  if (storage === null || doc === null) return false
  const saved: SavedField[] = []
  for (const el of fields) {
    if (isPassword(el)) continue
    const tag = tagOf(el)
    const type = (el.type ?? '').toLowerCase()
    if (tag === 'INPUT' && type === 'file') return false
    const at = locate(el, doc)
    if (at === null) return false
    if (tag === 'INPUT' && (type === 'checkbox' || type === 'radio')) saved.push({ at, checked: el.checked === true })
    else if (tag === 'SELECT')
      saved.push({
        at,
        selected: Array.from(el.options ?? [])
          .filter((o) => o.selected)
          .map((o) => o.value),
      })
    else if (tag === 'INPUT' || tag === 'TEXTAREA') saved.push({ at, value: el.value ?? '' })
    else saved.push({ at, value: el.textContent ?? '' })
  }
  const snapshot: InputSnapshot = { page, savedAt: now, fields: saved }
  const text = JSON.stringify(snapshot)
  if (text.length > MAX_SNAPSHOT_CHARS) return false
  try {
    storage.setItem(INPUT_STORAGE_KEY, text)
    return true
  } catch {
    return false
  }
}
