'use client'
// Build "v2" of the badge: new code (a v1 page has no such module).
import { useEffect, useState } from 'react'

export function Badge() {
  const [mounted, setMounted] = useState(false)
  useEffect(() => setMounted(true), [])
  return (
    <span id="rev-badge" data-mounted={mounted ? 'yes' : 'no'}>
      badge v2
    </span>
  )
}
