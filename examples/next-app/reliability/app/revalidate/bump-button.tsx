'use client'
// Awaits the action itself (not through callSafeAction), as most apps do.
import { useState, useTransition } from 'react'
import { bump } from './actions'

export function BumpButton() {
  const [pending, startTransition] = useTransition()
  const [clicked, setClicked] = useState(0)
  return (
    <p>
      <button
        id="rev-bump"
        disabled={pending}
        onClick={() =>
          startTransition(async () => {
            await bump()
            setClicked((n) => n + 1)
          })
        }
      >
        Add one
      </button>{' '}
      <output id="rev-clicked">{clicked}</output>
    </p>
  )
}
