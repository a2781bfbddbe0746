'use client'
// Links the app handles itself: `href="#"` that opens a menu, a plain link and a <Link> whose
// onClick calls preventDefault(). None of them loads another document, so the guard must leave
// them alone, even while it waits for a navigation to reload at (armed here through reportSkew,
// the way an app feeds the guard skew it found itself).
import Link from 'next/link'
import { useState } from 'react'
import { reportSkew } from 'next-skew-guard/react'

export function LinkPanel() {
  const [armed, setArmed] = useState('')
  const [menu, setMenu] = useState(0)
  const [plain, setPlain] = useState(0)
  const [link, setLink] = useState(0)

  return (
    <section>
      <p>
        <button
          id="arm-reload"
          onClick={() => {
            const event = reportSkew({ kind: 'build-mismatch', actionRan: true })
            setArmed(event.suppressed ? 'suppressed' : 'reported')
          }}
        >
          Report a new version (the app found it itself)
        </button>{' '}
        <output id="armed">{armed}</output>
      </p>
      <p>
        <a id="menu-link" href="#" onClick={() => setMenu((n) => n + 1)}>
          Menu
        </a>{' '}
        opened <output id="menu-count">{menu}</output> times
      </p>
      <p>
        <a
          id="handled-link"
          href="elsewhere/"
          onClick={(event) => {
            event.preventDefault()
            setPlain((n) => n + 1)
          }}
        >
          A link the app handles
        </a>{' '}
        handled <output id="handled-count">{plain}</output> times
      </p>
      <p>
        <Link
          id="handled-next-link"
          href="/links/elsewhere"
          onClick={(event) => {
            event.preventDefault()
            setLink((n) => n + 1)
          }}
        >
          A Next.js link the app handles
        </Link>{' '}
        handled <output id="handled-next-count">{link}</output> times
      </p>
    </section>
  )
}
