/**
 * `next-skew-guard/proxy` on the Edge runtime (Edge middleware on 14 and
 * 15): WebCrypto, no file system. Runs the health endpoint, the
 * build-identity check and the unknown-action check; the action IDs come from
 * the server process (see `shared/edge-actions.ts`), so the check is on under
 * `next start` and standalone `server.js` with `withSkewGuard` and
 * `register()` in place, and off (requests pass) where they are missing.
 * Closure payload checks run only with an explicit `keyring` option: on
 * Next.js 14 the Edge sandbox sees the random build key instead of your
 * runtime key, so a default keyring would report every legitimate closure as
 * tampering. On 15, pass `keyring: Keyring.fromEnv()` (from
 * `next-skew-guard`) to turn them on.
 */

import { compareBuildIds } from '../core/edge'
import type { ActionManifest } from '../server/build-info'
import { decodeEdgeActions, EDGE_ACTIONS_ENV } from '../shared/edge-actions'
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
  keyringFromEnv: () => null,
  compareBuildIds,
})
