// Next.js 14 overlay (the matrix suite copies it over the app and deletes proxy.ts): 14 has no
// proxy.ts, and its middleware.ts always runs on the Edge runtime. `next-skew-guard/proxy` resolves
// to its WebCrypto build there (the `edge-light` export condition): the health endpoint and the
// build-identity check run; the unknown-action check needs the build's manifest from disk and is
// off, so a renamed action is caught by the client (<SkewGuard /> reads 14's silent HTML answer).
// `keyring: false`: the 14 Edge sandbox sees the random build key, not the runtime key.
import { skewGuard } from 'next-skew-guard/proxy'

export const middleware = skewGuard({
  keyring: false,
  policy: process.env.SKEW_POLICY === 'reject' ? 'reject' : 'reload-after',
})

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
