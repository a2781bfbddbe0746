'use client'
// Buttons that call Server Actions through callSafeAction. Every outcome is a value: the action's
// data, its own error, or VERSION_SKEW when this page is from another deployment. The client guard
// (<SkewGuard /> in the layout) reloads the page by itself when a refused action makes that safe.
import { useState } from 'react'
import { callSafeAction, isVersionSkew, type CallSafeActionResult, type SafeAction } from 'next-skew-guard/action'
import { greet, shout } from './actions'

function describe(result: CallSafeActionResult<string>): string {
  if (result.success) return result.data
  if (isVersionSkew(result)) {
    // `actionRan` tells whether the server ran it anyway (policy 'reload-after'): do not repeat it then.
    const ran = result.actionRan && result.result?.success ? `; it ran on build ${result.buildId}: ${result.result.data}` : ''
    return `VERSION_SKEW (${result.reason})${ran}`
  }
  return `error: ${result.error}`
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
