// The client guard keeps what the user typed across its own reloads: which fields count as edited
// (what the user did, not DOM defaults), how they are saved and found again, what holds a reload
// back. Fake DOM objects here; the real browser (React-controlled fields included) is in the e2e suites.
const test = require('node:test')
const assert = require('node:assert/strict')

const input = require('../dist/react/input.js')
const { INPUT_STORAGE_KEY, trackInput, forgetEditedFields, hasEditedInput, saveInput, takeSnapshot, restoreFields, locate, find } = input

function storage() {
  const data = new Map()
  return {
    data,
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    removeItem: (k) => data.delete(k),
  }
}

/** A tiny document: body > main > [form > fields…, div(contenteditable), loose input]. */
function page() {
  const listeners = new Map()
  const el = (tagName, props = {}) => ({ tagName, isConnected: true, children: [], parentElement: null, ...props })
  const adopt = (parent, ...kids) => {
    for (const kid of kids) {
      kid.parentElement = parent
      parent.children.push(kid)
    }
    return parent
  }
  const body = el('BODY')
  const main = el('MAIN')
  const form = el('FORM', { id: '' })
  const fields = {
    title: el('INPUT', { type: 'text', id: 'title', value: '' }),
    note: el('TEXTAREA', { name: 'note', value: '' }),
    tag: el('INPUT', { type: 'radio', name: 'tag', value: 'a', checked: false }),
    tag2: el('INPUT', { type: 'radio', name: 'tag', value: 'b', checked: false }),
    color: el('SELECT', {
      name: 'color',
      options: [
        { value: 'red', selected: true },
        { value: 'blue', selected: false },
      ],
    }),
    password: el('INPUT', { type: 'password', name: 'pw', value: '' }),
    file: el('INPUT', { type: 'file', name: 'upload', files: { length: 0 } }),
    editor: el('DIV', { isContentEditable: true, textContent: '' }),
    loose: el('INPUT', { type: 'text', value: '' }),
    submit: el('INPUT', { type: 'submit', value: 'Save' }),
  }
  adopt(form, fields.title, fields.note, fields.tag, fields.tag2, fields.color, fields.password, fields.file, fields.submit)
  adopt(main, form, fields.editor, fields.loose)
  adopt(body, main)
  const named = (name) => {
    const all = form.children.filter((c) => c.name === name)
    return all.length === 1 ? all[0] : all.length ? Object.assign([...all], { length: all.length }) : null
  }
  form.elements = { namedItem: named }
  for (const f of form.children) f.form = form
  const doc = {
    body,
    forms: [form],
    getElementById: (id) => Object.values(fields).find((f) => f.id === id) ?? null,
    addEventListener: (type, fn) => listeners.set(type, fn),
    removeEventListener: (type) => listeners.delete(type),
  }
  const type = (field, value) => {
    if ('textContent' in field && field.isContentEditable) field.textContent = value
    else field.value = value
    listeners.get('input')?.({ target: field })
  }
  const change = (field, apply) => {
    apply(field)
    listeners.get('change')?.({ target: field })
  }
  return { doc, fields, type, change, listeners }
}

test.beforeEach(() => forgetEditedFields())

test('edited means: the user typed (input/change events), whatever the DOM defaults say; cleared fields hold nothing', () => {
  const { doc, fields, type } = page()
  const stop = trackInput(doc)
  try {
    assert.equal(hasEditedInput(), false)
    // A React-controlled field: value and default move together, only the event tells.
    fields.title.value = 'set by the app'
    assert.equal(hasEditedInput(), false, "a value the app set is not the user's input")
    type(fields.title, 'typed')
    assert.equal(hasEditedInput(), true)
    type(fields.title, '')
    assert.equal(hasEditedInput(), false, 'cleared after a successful save')
    type(fields.submit, 'x')
    assert.equal(hasEditedInput(), false, 'buttons are not input')
  } finally {
    stop()
  }
  assert.equal(fields.title.value, '')
})

test('saveInput: every edited field, found again by id, form name (and position) or DOM path; never passwords', () => {
  const { doc, fields, type, change } = page()
  const stop = trackInput(doc)
  try {
    type(fields.title, 'My title')
    type(fields.note, 'A long note\nwith lines')
    change(fields.tag2, (f) => (f.checked = true))
    change(fields.color, (f) => {
      f.options[0].selected = false
      f.options[1].selected = true
    })
    type(fields.password, 'secret')
    type(fields.editor, 'rich text')
    type(fields.loose, 'no id, no form')
    const store = storage()
    assert.equal(saveInput(store, doc, '/notes?x=1', 1000), true)
    const saved = JSON.parse(store.data.get(INPUT_STORAGE_KEY))
    assert.equal(saved.page, '/notes?x=1')
    assert.deepEqual(saved.fields, [
      { at: { id: 'title' }, value: 'My title' },
      { at: { form: 0, name: 'note', n: 0 }, value: 'A long note\nwith lines' },
      { at: { form: 0, name: 'tag', n: 1 }, checked: true },
      { at: { form: 0, name: 'color', n: 0 }, selected: ['blue'] },
      { at: { path: [0, 1] }, value: 'rich text' },
      { at: { path: [0, 2] }, value: 'no id, no form' },
    ])
    assert.ok(!store.data.get(INPUT_STORAGE_KEY).includes('secret'), 'passwords never reach storage')
    for (const field of saved.fields) assert.equal(find(field.at, doc) !== null, true)
  } finally {
    stop()
  }
})

test('saveInput refuses (the reload must wait) what it cannot keep: a chosen file, no storage, too much', () => {
  const { doc, fields, type, change } = page()
  const stop = trackInput(doc)
  try {
    assert.equal(saveInput(null, doc, '/', 0), true, 'nothing typed: nothing to lose')
    type(fields.title, 'x')
    assert.equal(saveInput(null, doc, '/', 0), false, 'no storage')
    const full = storage()
    full.setItem = () => {
      throw new Error('QuotaExceededError')
    }
    assert.equal(saveInput(full, doc, '/', 0), false, 'storage full')
    type(fields.note, 'x'.repeat(600 * 1024))
    assert.equal(saveInput(storage(), doc, '/', 0), false, 'too large to save whole')
    type(fields.note, '')
    change(fields.file, (f) => (f.files = { length: 1 }))
    assert.equal(saveInput(storage(), doc, '/', 0), false, 'a chosen file cannot be restored')
  } finally {
    stop()
  }
})

test('takeSnapshot: only for the same page, only if recent, and only once', () => {
  const store = storage()
  store.setItem(INPUT_STORAGE_KEY, JSON.stringify({ page: '/a', savedAt: 1000, fields: [{ at: { id: 'x' }, value: 'v' }] }))
  assert.equal(takeSnapshot(store, '/b', 1000), null, 'another page')
  assert.equal(store.data.has(INPUT_STORAGE_KEY), false, 'taken away all the same: it was meant for one load')
  store.setItem(INPUT_STORAGE_KEY, JSON.stringify({ page: '/a', savedAt: 1000, fields: [] }))
  assert.equal(takeSnapshot(store, '/a', 1000 + input.RESTORE_MAX_AGE_MS + 1), null, 'too old')
  store.setItem(INPUT_STORAGE_KEY, '{not json')
  assert.equal(takeSnapshot(store, '/a', 1000), null)
  store.setItem(INPUT_STORAGE_KEY, JSON.stringify({ page: '/a', savedAt: 1000, fields: [] }))
  assert.deepEqual(takeSnapshot(store, '/a', 2000), { page: '/a', savedAt: 1000, fields: [] })
  assert.equal(takeSnapshot(store, '/a', 2000), null)
  assert.equal(takeSnapshot(null, '/a', 2000), null)
})

test('restoreFields writes each saved value through the writer (so React sees it) and returns what is not there yet', () => {
  const { doc, fields } = page()
  const writes = []
  const writer = {
    setValue: (el, v) => writes.push(['value', el, v]),
    setChecked: (el, v) => writes.push(['checked', el, v]),
    setSelected: (el, v) => writes.push(['selected', el, v]),
    setText: (el, v) => writes.push(['text', el, v]),
  }
  const missing = restoreFields(
    [
      { at: { id: 'title' }, value: 'T' },
      { at: { form: 0, name: 'tag', n: 1 }, checked: true },
      { at: { form: 0, name: 'color', n: 0 }, selected: ['blue'] },
      { at: { path: [0, 1] }, value: 'rich' },
      { at: { id: 'later' }, value: 'lazy' },
    ],
    doc,
    writer,
  )
  assert.deepEqual(writes, [
    ['value', fields.title, 'T'],
    ['checked', fields.tag2, true],
    ['selected', fields.color, ['blue']],
    ['text', fields.editor, 'rich'],
  ])
  assert.deepEqual(missing, [{ at: { id: 'later' }, value: 'lazy' }])
  assert.equal(hasEditedInput(), true, "restored fields are the user's input again")
  assert.deepEqual(locate(fields.loose, doc), { path: [0, 2] })
})
