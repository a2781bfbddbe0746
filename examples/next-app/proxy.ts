// The server-side guard (Next.js 16 proxy.ts, always on the Node runtime):
// - GET /api/health answers { status, buildId, deploymentId } (the client guard polls it);
// - an action ID this build does not know gets 409 + `x-skew-guard: unknown-action`;
// - a call from a page of another build runs and gets `x-skew-guard: reload` (policy 'reload-after'),
//   or is refused with 409 `stale-build` (policy 'reject');
// - closure arguments sealed with a previous key (SKEW_GUARD_PREVIOUS_KEYS) get 409 `key-rotated`.
import { skewGuard } from 'next-skew-guard/proxy'

// Read when the server starts, so one build can run under either policy.
export const proxy = skewGuard({ policy: process.env.SKEW_POLICY === 'reject' ? 'reject' : 'reload-after' })

// Where the proxy runs (docs/performance.md, "The matcher"). Next.js runs a proxy through a second
// request/response round trip that costs more than the guard itself, so it is kept off everything
// that cannot be skew. The first three entries are the recipe every app needs.
export const config = {
  matcher: [
    // Server Action calls from JavaScript: Next.js's client sends the action ID in this header.
    { source: '/:path*', has: [{ type: 'header', key: 'next-action' }] },
    // Server Action form posts without JavaScript: multipart, from a browser asking for HTML.
    {
      source: '/:path*',
      has: [
        { type: 'header', key: 'content-type', value: 'multipart/form-data.*' },
        { type: 'header', key: 'accept', value: '.*text/html.*' },
      ],
    },
    // The health endpoint the client guard polls (`healthPath`; `/api/health/` matches too).
    '/api/health',
    // This example also runs on pages (not on client navigations' RSC requests): its version-routing
    // demo sets the deployment cookie (SKEW_GUARD_DEPLOYMENT_COOKIE=1) and its tests read which
    // build answered a page from `x-build-id`. An app without version routing leaves this out; one
    // with it needs documents only: `has: [{ type: 'header', key: 'sec-fetch-dest', value: 'document' }]`.
    {
      source: '/((?!_next/static|_next/image|favicon.ico).*)',
      missing: [
        { type: 'header', key: 'rsc' },
        { type: 'header', key: 'next-router-prefetch' },
      ],
    },
    // In-app forwarding (SKEW_GUARD_FORWARD=1; docs/routing.md, "Forwarding from the app"): the
    // requests that name their deployment, navigations and action calls by header, a build's own
    // files by `?dpl=`. An app without in-app forwarding leaves these two out.
    { source: '/:path*', has: [{ type: 'header', key: 'x-deployment-id' }] },
    { source: '/_next/static/:path*', has: [{ type: 'query', key: 'dpl' }] },
  ],
}
