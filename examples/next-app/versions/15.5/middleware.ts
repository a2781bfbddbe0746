// Next.js 15.5 overlay (the matrix suite copies it over the app and deletes proxy.ts): 15.5 has no
// proxy.ts; middleware.ts with `runtime: 'nodejs'` (stable since 15.5) runs the guard on Node,
// where it reads the build's manifest: every check runs, as with proxy.ts on 16.
import { skewGuard } from 'next-skew-guard/proxy'

export const middleware = skewGuard({ policy: process.env.SKEW_POLICY === 'reject' ? 'reject' : 'reload-after' })

// Where the middleware runs: the same matcher as proxy.ts (see the comments there and
// docs/performance.md, "The matcher").
export const config = {
  runtime: 'nodejs',
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
    // In-app forwarding (SKEW_GUARD_FORWARD=1), as in proxy.ts.
    { source: '/:path*', has: [{ type: 'header', key: 'x-deployment-id' }] },
    { source: '/_next/static/:path*', has: [{ type: 'query', key: 'dpl' }] },
  ],
}
