// Next.js 15.3 overlay (the matrix suite copies it over the app and deletes proxy.ts): before 15.5,
// middleware.ts runs on Edge (15.2–15.4 can opt into Node only with `experimental.nodeMiddleware`).
// `next-skew-guard/proxy` resolves to its WebCrypto build there (the `edge-light` export
// condition). Every check runs: the server process hands the Edge sandbox the build's action IDs
// and its runtime keyring's payload check (withSkewGuard and register() publish them).
import { skewGuard } from 'next-skew-guard/proxy'

export const middleware = skewGuard({ policy: process.env.SKEW_POLICY === 'reject' ? 'reject' : 'reload-after' })

// Where the middleware runs: the same matcher as proxy.ts (see the comments there and
// docs/performance.md, "The matcher").
export const config = {
  matcher: [
    { source: '/:path*', has: [{ type: 'header', key: 'next-action' }] },
    {
      source: '/:path*',
      has: [
        { type: 'header', key: 'content-type', value: 'multipart/form-data.*' },
        { type: 'header', key: 'accept', value: '.*text/html.*' },
      ],
    },
    '/api/health',
    {
      source: '/((?!_next/static|_next/image|favicon.ico).*)',
      missing: [
        { type: 'header', key: 'rsc' },
        { type: 'header', key: 'next-router-prefetch' },
      ],
    },
  ],
}
