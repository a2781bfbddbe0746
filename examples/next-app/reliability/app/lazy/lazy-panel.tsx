'use client'
// Code loaded only when the user asks for it: the widget through next/dynamic, the chart through a
// bare import() in a click handler (its rejection is left unhandled, as in most apps).
import dynamic from 'next/dynamic'
import { useState, type ComponentType } from 'react'

const Widget = dynamic(() => import('./widget'), { loading: () => <p id="widget-loading">loading…</p> })

export function LazyPanel() {
  const [widget, setWidget] = useState(false)
  const [Chart, setChart] = useState<ComponentType | null>(null)

  return (
    <section>
      <p>
        <button id="open-widget" onClick={() => setWidget(true)}>
          Open the widget (next/dynamic)
        </button>
      </p>
      {widget && <Widget />}
      <p>
        <button
          id="open-chart"
          onClick={async () => {
            const mod = await import('./chart')
            setChart(() => mod.Chart)
          }}
        >
          Open the chart (import())
        </button>
      </p>
      {Chart && <Chart />}
    </section>
  )
}
