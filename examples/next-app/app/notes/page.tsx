import Link from 'next/link'
import { NotesView } from './notes-view'

// A second route with its own client component: v2 changes that component, so a v1 tab that
// navigates here after the deploy needs a chunk only v1 has.
export default function NotesPage() {
  return (
    <main>
      <h1>Notes</h1>
      <p>
        Rendered by build <code id="notes-build">{process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID}</code>
      </p>
      <NotesView />
      <Link id="to-home" href="/" prefetch={false}>
        Back
      </Link>
    </main>
  )
}
