import { randomUUID } from 'node:crypto'
import { ClosureButton } from './closure-button'

// Rendered per request: the closure captures a value made for this very render, sealed with the
// server's key. A key change without the old key leaves an open tab's sealed value undecryptable.
export const dynamic = 'force-dynamic'

export default function Page() {
  const ticket = `ticket ${randomUUID().slice(0, 8)}`

  async function readTicket(): Promise<string> {
    'use server'
    return `the server sealed "${ticket}"`
  }

  return (
    <main>
      <h1>An inline Server Action</h1>
      <p>
        This render&apos;s ticket: <code id="ticket">{ticket}</code>
      </p>
      <ClosureButton read={readTicket} />
    </main>
  )
}
