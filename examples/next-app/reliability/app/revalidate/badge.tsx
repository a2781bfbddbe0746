'use client'
// Build "v1" of a client component on the revalidated page (v2/app/revalidate/badge.tsx changes it).
export function Badge() {
  return <span id="rev-badge">badge v1</span>
}
