import { CallPanel } from '../calls/call-panel'

// Actions that fail on purpose: their errors are the app's, never version skew.
export const dynamic = 'force-dynamic'

export default function Page() {
  return (
    <main>
      <h1>Actions that fail</h1>
      <CallPanel />
    </main>
  )
}
