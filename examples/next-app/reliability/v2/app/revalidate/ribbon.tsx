'use client'
// New in build "v2": a client component a v1 page has never loaded.
import { useState } from 'react'

export function Ribbon() {
  const [label] = useState('new in v2')
  return <span id="rev-ribbon">{label}</span>
}
