'use client'
// Awaits the inline Server Action itself (not through callSafeAction), as most apps do.
import { useState } from 'react'

export function ClosureButton({ read }: { read: () => Promise<string> }) {
  const [text, setText] = useState('')
  return (
    <p>
      <button
        id="closure-read"
        onClick={async () => {
          try {
            setText(await read())
          } catch (error) {
            setText(`failed: ${error instanceof Error ? error.message : String(error)}`)
          }
        }}
      >
        Read the ticket
      </button>{' '}
      <output id="closure-result">{text}</output>
    </p>
  )
}
