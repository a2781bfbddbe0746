import type { ReactNode } from 'react'
import { SkewGuard } from 'next-skew-guard/react'

// A guard configured from an environment variable nobody set: Number(undefined) is NaN. The guard
// must fall back to its default (and say so once), never take the page down with it. Rendered per
// request, as a layout reading its settings at run time is.
export const dynamic = 'force-dynamic'

export default function Layout({ children }: { children: ReactNode }) {
  return (
    <>
      {children}
      <SkewGuard pollIntervalMs={Number(process.env.NEXT_PUBLIC_HEALTH_POLL_MS)} />
    </>
  )
}
