// Build "v2" of the widget: new code, so a new chunk file; v1's chunk is gone from this build.
import { useState } from 'react'

export default function Widget() {
  const [clicks, setClicks] = useState(0)
  return (
    <p id="widget" data-version="v2">
      widget v2{' '}
      <button id="widget-click" onClick={() => setClicks((n) => n + 1)}>
        clicked {clicks} times
      </button>
    </p>
  )
}
