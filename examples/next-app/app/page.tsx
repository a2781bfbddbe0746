import { randomUUID } from 'node:crypto'
import Link from 'next/link'
import { createSafeAction } from 'next-skew-guard/action'
import { ActionPanel } from './action-panel'
import { renewNote, saveNote } from './actions'

// Rendered per request: the closure below captures a value made for this very render.
export const dynamic = 'force-dynamic'

export default async function Page({ searchParams }: { searchParams: Promise<{ saved?: string }> }) {
  const { saved } = await searchParams
  // Server data captured by an inline Server Action. Next.js encrypts captured values into the page
  // with NEXT_SERVER_ACTIONS_ENCRYPTION_KEY and decrypts them when the action is called, so a key
  // that differs between deploys (or a rotation) breaks exactly this kind of action.
  const note = `note ${randomUUID().slice(0, 8)}`

  async function readNote() {
    'use server'
    return createSafeAction(async () => `the server sealed "${note}"`)()
  }

  return (
    <main>
      <h1>next-skew-guard example</h1>
      <p>
        Page build: <code id="page-build">{process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID}</code>; this render&apos;s note:{' '}
        <code id="page-note">{note}</code>
      </p>
      <ActionPanel readNote={readNote} />
      <form action={renewNote}>
        <button id="renew-note" type="submit">
          New note (an action that revalidates the page)
        </button>
      </form>
      <p>
        {/* Not prefetched: the route's code loads on the click, from whichever build answers it. */}
        <Link id="to-notes" href="/notes" prefetch={false}>
          Notes (another route, its own client code)
        </Link>
      </p>
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
