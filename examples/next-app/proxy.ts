// The server-side guard (Next.js 16 proxy.ts, always on the Node runtime):
// - GET /api/health answers { status, buildId, deploymentId } (the client guard polls it);
// - an action ID this build does not know gets 409 + `x-skew-guard: unknown-action`;
// - a call from a page of another build runs and gets `x-skew-guard: reload` (policy 'reload-after'),
//   or is refused with 409 `stale-build` (policy 'reject');
// - closure arguments sealed with a previous key (SKEW_GUARD_PREVIOUS_KEYS) get 409 `key-rotated`.
import { skewGuard } from 'next-skew-guard/proxy'

// Read when the server starts, so one build can run under either policy.
export const proxy = skewGuard({ policy: process.env.SKEW_POLICY === 'reject' ? 'reject' : 'reload-after' })

export const config = {
  // Static files never carry Server Actions: keep the proxy off them.
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
