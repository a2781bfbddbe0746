import { CallPanel } from '../../calls/call-panel'

// Behind a reverse proxy that answers this page's action calls itself with the status in the path
// (413, 429, 403, 502, 504, as nginx, a rate limiter, a WAF or a gateway would): the page must show
// an error, not reload or report skew.
export const dynamic = 'force-dynamic'

export default function Page() {
  return (
    <main>
      <h1>Actions behind a gateway that answers for Next.js</h1>
      <CallPanel />
    </main>
  )
}
