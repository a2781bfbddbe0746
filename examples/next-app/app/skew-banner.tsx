'use client'
// The app's own "new version" banner. <SkewGuard /> decides about reloads; this only shows what it
// saw. `suppressed` means a reload was due but withheld (the tab reloaded for skew moments ago), so
// the user is asked to reload instead of the page looping.
import { useSkewState } from 'next-skew-guard/react'

export function SkewBanner() {
  const skew = useSkewState()
  if (skew === null) return null
  return (
    <div id="skew-banner" role="status" data-kind={skew.kind} data-suppressed={skew.suppressed ? 'true' : 'false'}>
      {skew.suppressed
        ? 'A new version of this app is available, but reloading did not help yet. Please reload the page in a moment.'
        : `This page is from another deployment (${skew.kind}).`}{' '}
      <button onClick={() => window.location.reload()}>Reload</button>
    </div>
  )
}
