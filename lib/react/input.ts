/**
 * What the user typed survives a reload. The guard tracks the fields the user edited (input and
 * change events since the page loaded: what the user did, not what the DOM's defaults say, so
 * React-controlled fields count too), saves them to `sessionStorage` right before an automatic
 * reload, and puts them back after it, firing the events React listens to so controlled state
 * follows. A field it cannot save (a chosen file) holds the reload back instead.
 */
import type { StorageLike } from './types'

/** The `sessionStorage` key holding the fields saved before an automatic reload. */
export const INPUT_STORAGE_KEY = 'next-skew-guard:input'
/** Saved fields older than this are not restored (the tab was closed and reopened much later). */
export const RESTORE_MAX_AGE_MS = 10 * 60_000
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

function tagOf(el: EditableLike): string {
  return typeof el.tagName === 'string' ? el.tagName.toUpperCase() : ''
}

/** Field types whose value a user does not type and a reload does not lose. */
const NOT_INPUT = new Set(['button', 'submit', 'reset', 'image', 'hidden'])

function isField(el: unknown): el is EditableLike {
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

function isPassword(el: EditableLike): boolean {
  return tagOf(el) === 'INPUT' && (el.type ?? '').toLowerCase() === 'password'
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

/** The element a locator names now, or null. */
export function find(at: FieldLocator, doc: InputDocument): EditableLike | null {
  if ('id' in at) return (doc.getElementById(at.id) as EditableLike | null) ?? null
  if ('form' in at) {
    const form = doc.forms[at.form] as { elements?: { namedItem?(n: string): unknown } } | undefined
    const named = form?.elements?.namedItem?.(at.name)
    if (!named) return null
    if ((named as EditableLike).tagName) return at.n === 0 ? (named as EditableLike) : null
    return ((named as ArrayLike<unknown>)[at.n] as EditableLike | undefined) ?? null
  }
  let node = doc.body as EditableLike | null
  for (const i of at.path) node = (node?.children?.[i] as EditableLike | undefined) ?? null
  return node
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

/** Reads (and removes) a snapshot saved for `page` within {@link RESTORE_MAX_AGE_MS}; null otherwise. */
export function takeSnapshot(storage: StorageLike | null, page: string, now: number): InputSnapshot | null {
  if (storage === null) return null
  let raw: string | null
  try {
    raw = storage.getItem(INPUT_STORAGE_KEY)
    if (raw !== null) (storage as StorageLike & { removeItem?(key: string): void }).removeItem?.(INPUT_STORAGE_KEY)
  } catch {
    return null
  }
  if (raw === null) return null
  try {
    const snapshot = JSON.parse(raw) as InputSnapshot
    if (snapshot?.page !== page || !Array.isArray(snapshot.fields)) return null
    if (!(typeof snapshot.savedAt === 'number' && Math.abs(now - snapshot.savedAt) <= RESTORE_MAX_AGE_MS)) return null
    return snapshot
  } catch {
    return null
  }
}

/** How a value is written so that React's change tracking sees it (the prototype's setter, then the event). */
export interface FieldWriter {
  setValue(el: EditableLike, value: string): void
  setChecked(el: EditableLike, checked: boolean): void
  setSelected(el: EditableLike, values: string[]): void
  setText(el: EditableLike, text: string): void
}

/**
 * Puts saved fields back. Returns the fields not found (yet): a part of the page that renders
 * later (a lazy component) can be retried.
 */
export function restoreFields(fields: SavedField[], doc: InputDocument, write: FieldWriter): SavedField[] {
  const missing: SavedField[] = []
  for (const field of fields) {
    const el = find(field.at, doc)
    if (el === null || !isField(el)) {
      missing.push(field)
      continue
    }
    if (field.checked !== undefined) write.setChecked(el, field.checked)
    else if (field.selected !== undefined) write.setSelected(el, field.selected)
    else if (el.isContentEditable === true && tagOf(el) !== 'INPUT' && tagOf(el) !== 'TEXTAREA') write.setText(el, field.value ?? '')
    else write.setValue(el, field.value ?? '')
    markEdited(el)
  }
  return missing
}

/** The real browser's field writer. */
export function domWriter(): FieldWriter {
  const fire = (el: EditableLike, type: string) => (el as unknown as EventTarget).dispatchEvent(new Event(type, { bubbles: true }))
  const setNative = (el: EditableLike, prop: 'value', value: string) => {
    // React tracks the last value it set through the instance property; the prototype's setter
    // bypasses that tracker, so the following input event reads as a real change.
    const proto = Object.getPrototypeOf(el) as object
    const setter = Object.getOwnPropertyDescriptor(proto, prop)?.set
    if (setter) setter.call(el, value)
    else (el as unknown as Record<string, unknown>)[prop] = value
  }
  return {
    setValue(el, value) {
      if (el.value === value) return
      setNative(el, 'value', value)
      fire(el, 'input')
    },
    setChecked(el, checked) {
      // A click toggles the box and runs the app's handlers exactly as the user's click did.
      if (el.checked !== checked) (el as unknown as HTMLElement).click()
    },
    setSelected(el, values) {
      const options = Array.from(el.options ?? [])
      if (options.every((o) => o.selected === values.includes(o.value))) return
      for (const option of options) option.selected = values.includes(option.value)
      fire(el, 'change')
    },
    setText(el, text) {
      if (el.textContent === text) return
      el.textContent = text
      fire(el, 'input')
    },
  }
}
