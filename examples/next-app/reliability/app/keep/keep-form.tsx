'use client'
// A form with every kind of field a user types into: a React-controlled input (useState + value),
// an uncontrolled input, a textarea, a select and a contenteditable. Save awaits the action itself
// (not through callSafeAction), as most apps do; "Save with the page's closure" calls an inline
// Server Action whose captured value travels encrypted. `fields` picks which fields are shown.
import { useRef, useState } from 'react'
import { saveDraft } from './actions'
import type { Draft } from './draft'

export function KeepForm({ fields, saveWithClosure }: { fields: string; saveWithClosure: (draft: Draft) => Promise<string> }) {
  const all = fields === 'all'
  const show = (name: string) => all || fields.split(',').includes(name)
  const [title, setTitle] = useState('')
  const [status, setStatus] = useState('')
  const notes = useRef<HTMLDivElement>(null)

  async function save(form: HTMLFormElement, withClosure: boolean) {
    const data = new FormData(form)
    const draft: Draft = {}
    if (show('title')) draft.title = title
    if (show('subtitle')) draft.subtitle = String(data.get('subtitle') ?? '')
    if (show('body')) draft.body = String(data.get('body') ?? '')
    if (show('color')) draft.color = String(data.get('color') ?? '')
    if (show('notes')) draft.notes = notes.current?.textContent ?? ''
    setStatus('saving…')
    try {
      const saved = withClosure ? await saveWithClosure(draft) : await saveDraft(draft)
      setStatus(saved === undefined ? 'not saved (no answer)' : `saved: ${saved}`)
    } catch (error) {
      setStatus(`not saved: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  return (
    <form
      id="keep-form"
      onSubmit={(event) => {
        event.preventDefault()
        const submitter = (event.nativeEvent as SubmitEvent).submitter
        void save(event.currentTarget, submitter?.id === 'keep-save-closure')
      }}
    >
      {show('title') && (
        <p>
          <label>
            Title <input id="keep-title" name="title" value={title} onChange={(event) => setTitle(event.target.value)} />
          </label>{' '}
          <output id="keep-title-echo">{title}</output>
        </p>
      )}
      {show('subtitle') && (
        <p>
          <label>
            Subtitle <input id="keep-subtitle" name="subtitle" defaultValue="" />
          </label>
        </p>
      )}
      {show('body') && (
        <p>
          <label>
            Body <textarea id="keep-body" name="body" defaultValue="" />
          </label>
        </p>
      )}
      {show('color') && (
        <p>
          <label>
            Colour{' '}
            <select id="keep-color" name="color" defaultValue="red">
              <option value="red">red</option>
              <option value="green">green</option>
              <option value="blue">blue</option>
            </select>
          </label>
        </p>
      )}
      {show('notes') && (
        <div
          id="keep-notes"
          ref={notes}
          contentEditable
          suppressContentEditableWarning
          role="textbox"
          aria-label="Notes"
          style={{ border: '1px solid', minHeight: '2em' }}
        />
      )}
      <p>
        <button id="keep-save" type="submit">
          Save
        </button>{' '}
        <button id="keep-save-closure" type="submit">
          Save with the page&apos;s closure
        </button>
      </p>
      <output id="keep-status">{status}</output>
    </form>
  )
}
