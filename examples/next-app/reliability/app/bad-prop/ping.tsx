'use client'
import { useState } from 'react'

export function Ping() {
  const [pings, setPings] = useState(0)
  return (
    <p>
      <button id="ping" onClick={() => setPings((n) => n + 1)}>
        Ping
      </button>{' '}
      <output id="ping-count">{pings}</output>
    </p>
  )
}
