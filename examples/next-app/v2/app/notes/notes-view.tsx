'use client'
// v2 of the notes route's client code: changed, so its chunk is another file than v1's.
import { useState } from 'react'

export function NotesView() {
  const [count, setCount] = useState(0)
  return (
    <p>
      <output id="notes-view">notes view of v2</output>{' '}
      <button type="button" onClick={() => setCount(count + 1)}>
        Clicked {count} times
      </button>
    </p>
  )
}
