// "Plain Next.js": the example with every next-skew-guard touch point switched off, for the left
// column of `npm run demo`. The demo copies plain/ over a work copy of the app and deletes
// proxy.ts, instrumentation.ts, app/skew-banner.tsx and app/api/skew-stats/: no withSkewGuard, no
// proxy, no instrumentation, no <SkewGuard />, and actions called the way a normal app calls them.
//
// What stays is what any self-hosted app has: a build ID (the demo names its builds; Next.js would
// otherwise pick a random one, which differs between deploys just the same) and a pinned
// NEXT_SERVER_ACTIONS_ENCRYPTION_KEY (set by the demo at build and at start, as for the guarded app).
const buildId = process.env.SKEW_GUARD_BUILD_ID || 'plain'

export default {
  distDir: process.env.NEXT_DIST_DIR || '.next',
  generateBuildId: async () => buildId,
  env: { NEXT_PUBLIC_BUILD_ID: buildId },
}
