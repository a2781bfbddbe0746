/**
 * `next-skew-guard/proxy` on the Edge runtime (Edge middleware on 14 and
 * 15): WebCrypto, no file system. Runs the build-identity check and closure
 * payload checks (with `NEXT_SERVER_ACTIONS_ENCRYPTION_KEY` as the Edge
 * sandbox sees it); the unknown-action check needs the build's manifest and
 * is off here. On Next.js 14, Edge middleware sees the random build key, not
 * your runtime key, so pass `keyring: false` there.
 */

import { compareBuildIds, Keyring } from '../core/edge'
import { recordConfigError } from '../server/events'
import { createSkewGuard } from './guard'

export type { GuardKeyring, SkewGuardOptions, StalePolicy } from './guard'

export const skewGuard = createSkewGuard({
  // Inlined at build by withSkewGuard.
  readBuildId: () => process.env.SKEW_GUARD_BUILD_ID || null,
  readManifest: () => null,
  keyringFromEnv() {
    try {
      return Keyring.fromEnv()
    } catch (e) {
      recordConfigError((e as { code?: string }).code ?? 'ERR_KEY', `${(e as Error).message} Closure payload checks are off.`)
      return null
    }
  },
  compareBuildIds: (client, server) => compareBuildIds(client, server),
})
