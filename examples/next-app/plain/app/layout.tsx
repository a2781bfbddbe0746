// Plain Next.js variant (see plain/next.config.mjs): no <SkewGuard />, no skew banner.
import type { ReactNode } from 'react'

export const metadata = { title: 'next-skew-guard example (plain Next.js)' }

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}
