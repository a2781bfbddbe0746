// Next.js 15.3 overlay (the matrix suite copies it over the app and deletes proxy.ts): before 15.5,
// middleware.ts runs on Edge (15.2–15.4 can opt into Node only with `experimental.nodeMiddleware`).
// `next-skew-guard/proxy` resolves to its WebCrypto build there (the `edge-light` export
// condition): the health endpoint and the build-identity check run; the unknown-action check needs
// the build's manifest from disk and is off, so a renamed action is caught by the client
// (15.0–15.4.0 answer an unknown ID with a 200 HTML page, which <SkewGuard /> reads).
import { skewGuard } from 'next-skew-guard/proxy'

export const middleware = skewGuard({ policy: process.env.SKEW_POLICY === 'reject' ? 'reject' : 'reload-after' })

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
