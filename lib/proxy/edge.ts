/**
 * `next-skew-guard/proxy` on the Edge runtime (Edge middleware on 14 and
 * 15): WebCrypto, no file system. Runs the health endpoint and the
 * build-identity check; the unknown-action check needs the build's manifest
 * and is off here. Closure payload checks run only with an explicit
 * `keyring` option: on Next.js 14 the Edge sandbox sees the random build key
 * instead of your runtime key, so a default keyring would report every
 * legitimate closure as tampering. On 15, pass `keyring: Keyring.fromEnv()`
 * (from `next-skew-guard`) to turn them on.
 */

import { compareBuildIds } from '../core/edge'
import { createSkewGuard } from './guard'

export type { GuardKeyring, SkewGuardOptions, StalePolicy } from './guard'

export const skewGuard = createSkewGuard({
  // Inlined at build (NODE_ENV by Next.js, the identity by withSkewGuard).
  isProduction: () => process.env.NODE_ENV === 'production',
  readBuildId: () => process.env.SKEW_GUARD_BUILD_ID || null,
  readManifest: () => null,
  keyringFromEnv: () => null,
  compareBuildIds,
})
