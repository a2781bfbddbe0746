'use client'
// Plain Next.js variant (see plain/next.config.mjs), build "v2": the same panel, calling `welcome`
// (v1: `greet`) directly, as a normal Next.js app calls it.
import { useState } from 'react'
import { shout, welcome } from './actions'

export function ActionPanel({ readNote }: { readNote: () => Promise<string> }) {
  const [greeting, setGreeting] = useState('')
  const [shouted, setShouted] = useState('')
  const [note, setNote] = useState('')

  return (
    <section>
      <h2>Server Actions</h2>
      <p>
        <button id="say-hello" onClick={async () => setGreeting(await welcome('Ada'))}>
          Say hello
        </button>{' '}
        <output id="say-hello-result">{greeting}</output>
      </p>
      <p>
        <button id="shout" onClick={async () => setShouted(await shout('hello'))}>
          Shout
        </button>{' '}
        <output id="shout-result">{shouted}</output>
      </p>
      <p>
        <button id="read-note" onClick={async () => setNote(await readNote())}>
          Read the server&apos;s note (a closure: its captured value travels encrypted)
        </button>{' '}
        <output id="read-note-result">{note}</output>
      </p>
    </section>
  )
}
