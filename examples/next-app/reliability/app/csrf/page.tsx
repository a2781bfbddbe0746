import { CallPanel } from '../calls/call-panel'

// Behind a proxy that forwards the wrong `x-forwarded-host`: Next.js refuses every action as a
// cross-site request (500 with a digest). A configuration error to show, not version skew.
export const dynamic = 'force-dynamic'

export default function Page() {
  return (
    <main>
      <h1>Actions through a proxy with the wrong forwarded host</h1>
      <CallPanel />
    </main>
  )
}
