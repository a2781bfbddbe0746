'use client'
// v1 of the notes route's client code (v2/app/notes/notes-view.tsx is the next deploy's).
import { useState } from 'react'

export function NotesView() {
  const [open, setOpen] = useState(false)
  return (
    <p>
      <output id="notes-view">notes view of v1</output>{' '}
      <button type="button" onClick={() => setOpen(!open)}>
        {open ? 'Hide' : 'Show'} details
      </button>
    </p>
  )
}
