'use client'
// Buttons that call Server Actions through callSafeAction. Every outcome is a value: the action's
// data, its own error, or VERSION_SKEW when this page is from another deployment. The client guard
// (<SkewGuard /> in the layout) reloads the page by itself when a refused action makes that safe.
import { useState } from 'react'
import { callSafeAction, isVersionSkew, type CallSafeActionResult, type SafeAction } from 'next-skew-guard/action'
import { greet, shout } from './actions'

function describe(result: CallSafeActionResult<string>): string {
  // It ran: show what it returned, also when it ran on another build (`requiresRefresh: true`; the
  // guard reloads the page at a safe moment).
  if (result.success) return result.data
  if (isVersionSkew(result)) {
    // The fields a skew result may carry, read as optional.
    const skew = result as { reason?: string; buildId?: string | null; result?: { success: boolean; data?: unknown } }
    const ran = skew.result?.success ? `; it ran on build ${skew.buildId}: ${String(skew.result.data)}` : ''
    return `VERSION_SKEW (${skew.reason})${ran}`
  }
  // `actionRan: 'unknown'`: a proxy or gateway answered instead of the server; it may have run.
  const maybe = (result as { actionRan?: unknown }).actionRan === 'unknown' ? ' (it may have run)' : ''
  return `error: ${result.error}${maybe}`
}

export function ActionPanel({ readNote }: { readNote: SafeAction<[], string> }) {
  const [greeting, setGreeting] = useState('')
  const [shouted, setShouted] = useState('')
  const [note, setNote] = useState('')

  return (
    <section>
      <h2>Server Actions</h2>
      <p>
        <button id="say-hello" onClick={async () => setGreeting(describe(await callSafeAction(greet, 'Ada')))}>
          Say hello
        </button>{' '}
        <output id="say-hello-result">{greeting}</output>
      </p>
      <p>
        <button id="shout" onClick={async () => setShouted(describe(await callSafeAction(shout, 'hello')))}>
          Shout
        </button>{' '}
        <output id="shout-result">{shouted}</output>
      </p>
      <p>
        <button id="read-note" onClick={async () => setNote(describe(await callSafeAction(readNote)))}>
          Read the server&apos;s note (a closure: its captured value travels encrypted)
        </button>{' '}
        <output id="read-note-result">{note}</output>
      </p>
    </section>
  )
}
