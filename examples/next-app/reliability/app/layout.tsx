import type { ReactNode } from 'react'
import { SkewGuard } from 'next-skew-guard/react'
import { SkewBanner } from './skew-banner'
import { SkewEventLog } from './skew-event-log'

export const metadata = { title: 'next-skew-guard example' }

// The example's root layout plus a log of the skew events the client guard publishes, and the
// build this document came from (#doc-build), so a test can tell which deploy rendered the page.
export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        {children}
        <footer>
          <small>
            Document build: <code id="doc-build">{process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID}</code>
          </small>
        </footer>
        {/* Before <SkewGuard />: its effect subscribes before the guard's effects start publishing. */}
        <SkewEventLog />
        <SkewGuard fallback={<SkewBanner />} />
      </body>
    </html>
  )
}
