// withSkewGuard keeps your config and adds what the guard needs:
// - `next-skew-guard-native` (the Rust core, a .node addon) in serverExternalPackages;
// - one build identity for server and client (SKEW_GUARD_BUILD_ID, the CI commit, or git HEAD);
// - `next build` fails when NEXT_SERVER_ACTIONS_ENCRYPTION_KEY is missing or broken.
import { withSkewGuard } from 'next-skew-guard/config'

export default withSkewGuard({
  // NEXT_DIST_DIR lets two builds of this checkout live side by side (.next-v1, .next-v2): the
  // end-to-end tests deploy "v1", then "v2" from the same directory, as a real redeploy would.
  // A normal app leaves distDir alone.
  distDir: process.env.NEXT_DIST_DIR || '.next',
})
