// Next.js 15.3 overlay (the matrix suite copies it over the app and deletes proxy.ts): before 15.5,
// middleware.ts runs on Edge (15.2–15.4 can opt into Node only with `experimental.nodeMiddleware`).
// `next-skew-guard/proxy` resolves to its WebCrypto build there (the `edge-light` export
// condition). Every check runs: the server process hands the Edge sandbox the build's action IDs
// and its runtime keyring's payload check (withSkewGuard and register() publish them).
import { skewGuard } from 'next-skew-guard/proxy'

export const middleware = skewGuard({ policy: process.env.SKEW_POLICY === 'reject' ? 'reject' : 'reload-after' })

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
