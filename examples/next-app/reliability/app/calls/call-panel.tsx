'use client'
// Calls actions two ways, as apps do: through callSafeAction (every outcome a value) and directly
// (the app catches the rejection). Each output shows what the user would read; `data-result` holds
// the safe call's whole result.
import { useState } from 'react'
import { callSafeAction } from 'next-skew-guard/action'
import { resultJson, resultText } from '../call-result'
import { echo, echoPlain, explode, refuse } from './actions'

async function plainly(call: () => Promise<string>): Promise<string> {
  try {
    const value = await call()
    // Next.js 14 resolves a call that got no answer from Next.js with `undefined`.
    return value === undefined ? 'no answer' : `ok: ${value}`
  } catch (error) {
    return `failed: ${error instanceof Error ? error.message : String(error)}`
  }
}

export function CallPanel() {
  const [safe, setSafe] = useState({ text: '', json: '' })
  const [plain, setPlain] = useState('')
  const [refused, setRefused] = useState({ text: '', json: '' })
  const [thrown, setThrown] = useState('')

  return (
    <section>
      <p>
        <button
          id="call-safe"
          onClick={async () => {
            const result = await callSafeAction(echo, 'ping')
            setSafe({ text: resultText(result), json: resultJson(result) })
          }}
        >
          Echo (safe action)
        </button>{' '}
        <output id="call-safe-result" data-result={safe.json}>
          {safe.text}
        </output>
      </p>
      <p>
        <button id="call-plain" onClick={async () => setPlain(await plainly(() => echoPlain('ping')))}>
          Echo (plain action)
        </button>{' '}
        <output id="call-plain-result">{plain}</output>
      </p>
      <p>
        <button
          id="call-refused"
          onClick={async () => {
            const result = await callSafeAction(refuse)
            setRefused({ text: resultText(result), json: resultJson(result) })
          }}
        >
          Do something not allowed (safe action)
        </button>{' '}
        <output id="call-refused-result" data-result={refused.json}>
          {refused.text}
        </output>
      </p>
      <p>
        <button id="call-throws" onClick={async () => setThrown(await plainly(explode))}>
          Fail (plain action that throws)
        </button>{' '}
        <output id="call-throws-result">{thrown}</output>
      </p>
    </section>
  )
}
