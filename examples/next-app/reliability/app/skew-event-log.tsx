'use client'
// Every skew event the client guard publishes on this page, kept where a test (or a curious
// developer in the console) can read it: `window.__skewEvents` for this document, and
// sessionStorage `example:skew-events` for the whole tab, across reloads. A real app would send
// them to its monitoring instead.
import { useEffect } from 'react'
import { subscribeToSkew, type SkewEvent } from 'next-skew-guard/react'

const KEY = 'example:skew-events'

interface LoggedEvent {
  kind: string
  source: string
  actionRan: unknown
  suppressed: boolean
  clientBuildId: string | null
  serverBuildId: string | null
  path: string
}

export function SkewEventLog() {
  useEffect(() => {
    const w = window as unknown as { __skewEvents?: LoggedEvent[] }
    const seen = (w.__skewEvents ??= [])
    return subscribeToSkew((event: SkewEvent) => {
      const entry: LoggedEvent = {
        kind: event.kind,
        source: event.source,
        actionRan: event.actionRan,
        suppressed: event.suppressed === true,
        clientBuildId: event.clientBuildId,
        serverBuildId: event.serverBuildId,
        path: window.location.pathname,
      }
      seen.push(entry)
      try {
        const before = JSON.parse(window.sessionStorage.getItem(KEY) ?? '[]') as LoggedEvent[]
        window.sessionStorage.setItem(KEY, JSON.stringify([...before, entry]))
      } catch {
        // storage unavailable: the in-memory log still has it
      }
    })
  }, [])
  return null
}
