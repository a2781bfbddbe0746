/**
 * What the user typed survives a reload. The guard tracks the fields the user edited (input and
 * change events since the page loaded: what the user did, not what the DOM's defaults say, so
 * React-controlled fields count too), saves them to `sessionStorage` right before an automatic
 * reload, and puts them back after it, firing the events React listens to so controlled state
 * follows. A field it cannot save (a chosen file) holds the reload back instead.
 *
 * Tracking and saving live in edits.ts, in the page's first-load JavaScript (a reload may come at
 * any moment); restoring (this module) reaches the page through deferred.ts, loaded right after
 * hydration.
 */
import {
  INPUT_STORAGE_KEY,
  isField,
  markEdited,
  tagOf,
  type EditableLike,
  type FieldLocator,
  type InputDocument,
  type InputSnapshot,
  type SavedField,
} from './edits'
import type { StorageLike } from './types'

// One API for apps and tests, as before tracking and saving moved to their own module.
export {
  INPUT_STORAGE_KEY,
  editedFields,
  forgetEditedFields,
  hasEditedInput,
  locate,
  markEdited,
  saveInput,
  trackInput,
  type EditableLike,
  type FieldLocator,
  type InputDocument,
  type InputSnapshot,
  type SavedField,
} from './edits'

/** Saved fields older than this are not restored (the tab was closed and reopened much later). */
export const RESTORE_MAX_AGE_MS = 10 * 60_000

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
