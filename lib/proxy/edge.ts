/**
 * `next-skew-guard/proxy` on the Edge runtime (Edge middleware on 14 and
 * 15): no file system, and the build's key instead of the runtime one. The
 * Node side of the same server process hands it the build's action IDs and
 * the runtime keyring's payload check (see `shared/edge-bridge.ts`), so under
 * `next start` and standalone `server.js`, with `withSkewGuard` and
 * `register()` in place, every check runs as on Node. Where they are missing
 * (another host for Edge functions), the unknown-action and payload checks
 * are off and requests pass; the health endpoint and the build-identity check
 * always run. An explicit `keyring` option still wins.
 */

import { compareBuildIds } from '../core/edge'
import type { ActionManifest } from '../server/build-info'
import { decodeEdgeActions, EDGE_ACTIONS_ENV, EDGE_VERIFIER, sharedAnchor, type SharedVerifier } from '../shared/edge-bridge'
import { createSkewGuard } from './guard'

export type { GuardKeyring, SkewGuardOptions, StalePolicy } from './guard'

const readBuildId = () => process.env.SKEW_GUARD_BUILD_ID || null

let cached: { value: string | undefined; buildId: string | null; manifest: ActionManifest | null } | undefined

/** The build's action IDs as a manifest without export names (as on 14), decoded once per value. */
function readManifest(): ActionManifest | null {
  const value = process.env[EDGE_ACTIONS_ENV]
  const buildId = readBuildId()
  if (!cached || cached.value !== value || cached.buildId !== buildId) {
    const ids = decodeEdgeActions(value, buildId)
    const actions = ids && new Map([...ids].map((id) => [id, { pages: [] }]))
    cached = { value, buildId, manifest: actions && { actions, encryptionKey: null, file: EDGE_ACTIONS_ENV } }
  }
  return cached.manifest
}

export const skewGuard = createSkewGuard({
  // Inlined at build (NODE_ENV by Next.js, the identity by withSkewGuard).
  isProduction: () => process.env.NODE_ENV === 'production',
  readBuildId,
  readManifest,
  // The runtime keyring lives on the Node side of the process (see shared/edge-bridge.ts).
  keyringFromEnv: () => (sharedAnchor()[EDGE_VERIFIER] as SharedVerifier | undefined) ?? null,
  compareBuildIds,
})
