/**
 * `next-skew-guard/proxy` for the Node runtime: Next.js 16 `proxy.ts`, or
 * `middleware.ts` with `export const config = { runtime: 'nodejs' }` on 15.5+.
 * All checks run here: unknown action IDs (from the build's manifest), build
 * identity, and closure payloads against the keyring (native core).
 *
 * @example
 * // proxy.ts (Next.js 16)
 * import { skewGuard } from 'next-skew-guard/proxy'
 * export const proxy = skewGuard()                 // or skewGuard({ next: myProxy })
 */

import { compareBuildIds } from '../core'
import { isProduction, readActionManifest, readBuildId, type ActionManifest } from '../server/build-info'
import { recordConfigError } from '../server/events'
import { runtimeKeyring } from '../server/runtime-keyring'
import { createForwarder } from './forward'
import { createSkewGuard } from './guard'

export type { ForwardOptions } from './forward'
export type { GuardKeyring, SkewGuardOptions, StalePolicy } from './guard'

let manifest: ActionManifest | null | undefined
let manifestCheckedAt = 0
const MANIFEST_RETRY_MS = 30_000

/** Reads the manifest once; after a failure, retries at most every 30 s (a build may land later). */
function readManifest(): ActionManifest | null {
  if (manifest || (manifest === null && Date.now() - manifestCheckedAt < MANIFEST_RETRY_MS)) return manifest ?? null
  manifestCheckedAt = Date.now()
  try {
    manifest = readActionManifest()
  } catch (e) {
    manifest = null
    recordConfigError('ERR_MANIFEST', `${(e as Error).message} The unknown-action check is off meanwhile.`, 'warn')
  }
  return manifest
}

/** The guard for proxy.ts / Node middleware. See {@link SkewGuardOptions}. */
export const skewGuard = createSkewGuard({
  isProduction,
  readBuildId,
  readManifest,
  keyringFromEnv: () => runtimeKeyring(),
  compareBuildIds,
  createForwarder: (options) => createForwarder(options),
})
