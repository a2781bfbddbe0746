'use client'
/**
 * The notice `<SkewGuard />` shows by default once skew has been seen: one sentence and a Reload
 * button, announced politely to screen readers. Deliberately plain (system font, a dark box in a
 * corner, no colours of its own brand) so it fits any design until an app replaces it through
 * `fallback`, or turns it off with `fallback={false}`.
 */
import { createElement, useEffect, useState } from 'react'
import type { CSSProperties, ReactElement } from 'react'
import type { SkewEvent } from './types'

/** Props of {@link SkewGuardBanner}. */
export interface SkewGuardBannerProps {
  /** The skew event to explain. */
  skew: SkewEvent
  /** Called by the Reload button (the guard's `reload`, which keeps what the user typed). */
  reload(): void
}

/** The banner's sentence for an event: what happened, in the user's terms. */
export function bannerText(skew: SkewEvent): string {
  if (skew.kind === 'missing-chunk') return 'Part of this page could not load because the app was updated.'
  if (skew.suppressed && !skew.actionRan && skew.source !== 'version-check') {
    return 'This page is out of date, so your last action did not go through. Reload and try again.'
  }
  return 'A new version of this app is available.'
}

const BOX: CSSProperties = {
  position: 'fixed',
  right: '1rem',
  bottom: '1rem',
  zIndex: 2147483647,
  maxWidth: '26rem',
  display: 'flex',
  gap: '0.75rem',
  alignItems: 'center',
  padding: '0.75rem 1rem',
  borderRadius: '0.5rem',
  background: '#1f2937',
  color: '#fff',
  font: '14px/1.4 system-ui, sans-serif',
  boxShadow: '0 4px 12px rgba(0, 0, 0, 0.25)',
}
const BUTTON: CSSProperties = { font: 'inherit', cursor: 'pointer' }

/**
 * The default notice: "A new version of this app is available. [Reload] [×]". A `role="status"`
 * region (announced without stealing focus); the Reload button reloads keeping typed input; the
 * dismiss button hides it until the next skew event. Style it through the class
 * `next-skew-guard-banner`, or render your own through `<SkewGuard fallback={…}>`.
 */
export function SkewGuardBanner({ skew, reload }: SkewGuardBannerProps): ReactElement | null {
  const [dismissed, setDismissed] = useState<number | null>(null)
  // A new event shows the notice again.
  useEffect(() => setDismissed((at) => (at === skew.at ? at : null)), [skew.at])
  if (dismissed === skew.at) return null
  return createElement(
    'div',
    { role: 'status', 'aria-live': 'polite', className: 'next-skew-guard-banner', 'data-next-skew-guard': skew.kind, style: BOX },
    createElement('span', null, bannerText(skew)),
    createElement('button', { type: 'button', onClick: () => reload(), style: BUTTON }, 'Reload'),
    createElement('button', { type: 'button', 'aria-label': 'Dismiss', onClick: () => setDismissed(skew.at), style: BUTTON }, '×'),
  )
}
