import type { ReactNode } from 'react'
import { SkewGuard } from 'next-skew-guard/react'
import { SkewBanner } from './skew-banner'

export const metadata = { title: 'next-skew-guard example' }

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        {children}
        {/* Adds the page's build to every action call, reads the guard's answers, polls
            /api/health, and reloads at a safe moment, never twice within 30 s. Once it sees skew
            it shows a notice: here the app's own (without `fallback`, a small default one). */}
        <SkewGuard fallback={<SkewBanner />} />
      </body>
    </html>
  )
}
