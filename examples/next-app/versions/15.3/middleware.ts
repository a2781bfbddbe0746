// Next.js 15.3 overlay (the matrix suite copies it over the app and deletes proxy.ts): before 15.5,
// middleware.ts runs on Edge (15.2–15.4 can opt into Node only with `experimental.nodeMiddleware`).
// `next-skew-guard/proxy` resolves to its WebCrypto build there (the `edge-light` export
// condition): the health endpoint, the build-identity check and the unknown-action check run (the
// action IDs reach the Edge sandbox from the server process, where withSkewGuard and register()
// publish them). Closure payloads are not checked here: Edge sees the build key, not the runtime
// key, so a key change is caught by onRequestError and the client instead.
import { skewGuard } from 'next-skew-guard/proxy'

export const middleware = skewGuard({ policy: process.env.SKEW_POLICY === 'reject' ? 'reject' : 'reload-after' })

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
