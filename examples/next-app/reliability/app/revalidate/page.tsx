import { Badge } from './badge'
import { BumpButton } from './bump-button'
import { bumps } from './counter'

export const dynamic = 'force-dynamic'

export default function Page() {
  return (
    <main>
      <h1>A page its action revalidates</h1>
      <p>
        <Badge /> Count on the server: <output id="rev-count">{bumps()}</output>
      </p>
      <BumpButton />
    </main>
  )
}
