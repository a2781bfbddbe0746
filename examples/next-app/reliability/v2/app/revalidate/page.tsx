// Build "v2": the page also renders a new client component (and the badge changed). A v1 tab whose
// action call is answered by v2 receives this tree, with client code the v1 page does not have.
import { Badge } from './badge'
import { BumpButton } from './bump-button'
import { bumps } from './counter'
import { Ribbon } from './ribbon'

export const dynamic = 'force-dynamic'

export default function Page() {
  return (
    <main>
      <h1>A page its action revalidates</h1>
      <p>
        <Badge /> <Ribbon /> Count on the server: <output id="rev-count">{bumps()}</output>
      </p>
      <BumpButton />
    </main>
  )
}
