// Next.js 14 overlay (the matrix suite copies it over the app and deletes proxy.ts): 14 has no
// proxy.ts, and its middleware.ts always runs on the Edge runtime. `next-skew-guard/proxy` resolves
// to its WebCrypto build there (the `edge-light` export condition): the health endpoint, the
// build-identity check and the unknown-action check run (the action IDs reach the Edge sandbox
// from the server process, where withSkewGuard and register() publish them).
// `keyring: false`: the 14 Edge sandbox sees the random build key, not the runtime key.
import { skewGuard } from 'next-skew-guard/proxy'

export const middleware = skewGuard({
  keyring: false,
  policy: process.env.SKEW_POLICY === 'reject' ? 'reject' : 'reload-after',
})

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
