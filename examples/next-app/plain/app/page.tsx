// Plain Next.js variant (see plain/next.config.mjs): the same page, its closure a plain inline
// Server Action.
import { randomUUID } from 'node:crypto'
import { ActionPanel } from './action-panel'
import { saveNote } from './actions'

export const dynamic = 'force-dynamic'

export default async function Page({ searchParams }: { searchParams: Promise<{ saved?: string }> }) {
  const { saved } = await searchParams
  const note = `note ${randomUUID().slice(0, 8)}`

  async function readNote() {
    'use server'
    return `the server sealed "${note}"`
  }

  return (
    <main>
      <h1>next-skew-guard example (plain Next.js)</h1>
      <p>
        Page build: <code id="page-build">{process.env.NEXT_PUBLIC_BUILD_ID}</code>; this render&apos;s note:{' '}
        <code id="page-note">{note}</code>
      </p>
      <ActionPanel readNote={readNote} />
      <h2>A form that works without JavaScript</h2>
      <form id="note-form" action={saveNote}>
        <input id="note-input" name="note" defaultValue="" placeholder="a note" />
        <button id="note-submit" type="submit">
          Save
        </button>
      </form>
      <p>
        Saved: <output id="saved-note">{saved ?? ''}</output>
      </p>
    </main>
  )
}
