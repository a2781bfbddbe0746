/**
 * The Node half of `shared/edge-bridge.ts`: before the first request, hands the guard in Edge
 * middleware the build's action IDs and the runtime keyring's payload check. Called where the
 * Node side of the server starts: `withSkewGuard` when `next start` loads the config, and
 * `register()` in instrumentation (standalone `server.js` never runs next.config).
 */

import * as fs from 'node:fs'
import * as path from 'node:path'

import { EDGE_ACTIONS_ENV, EDGE_VERIFIER, encodeEdgeActions, sharedAnchor, type SharedVerifier } from '../shared/edge-bridge'
import { distDir as defaultDistDir, readActionManifest } from './build-info'
import { recordConfigError } from './events'
import { runtimeKeyring } from './runtime-keyring'

/** What {@link publishForEdge} handed over. */
export interface EdgePublication {
  /** Action IDs published, or null (none: no manifest, or too many). */
  actions: number | null
  /** Whether the runtime keyring's check was published (false: no valid key in the environment). */
  verifier: boolean
}

/** Whether the build has Edge middleware (Node middleware and proxy.ts read the manifest themselves). */
function hasEdgeMiddleware(dir: string): boolean {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'server', 'middleware-manifest.json'), 'utf8')) as {
      middleware?: Record<string, unknown>
    }
    return Object.keys(manifest.middleware ?? {}).length > 0
  } catch {
    return false
  }
}

function publishActionIds(dir: string): number | null {
  let buildId: string
  try {
    buildId = fs.readFileSync(path.join(dir, 'BUILD_ID'), 'utf8').trim()
  } catch {
    return null
  }
  let ids: string[]
  try {
    ids = [...readActionManifest(dir).actions.keys()]
  } catch (e) {
    recordConfigError('ERR_MANIFEST', `${(e as Error).message} The Edge guard's unknown-action check is off.`, 'warn')
    return null
  }
  const value = encodeEdgeActions(buildId, ids)
  if (value === null) {
    recordConfigError(
      'ERR_MANIFEST',
      `The build has ${ids.length} Server Actions, too many to hand to Edge middleware; its unknown-action check is off. ` +
        'Run the guard as Node middleware (Next.js 15.5+) or proxy.ts (16) to keep it.',
      'warn',
    )
    return null
  }
  process.env[EDGE_ACTIONS_ENV] = value
  return ids.length
}

function publishVerifier(): boolean {
  const keyring = runtimeKeyring()
  if (!keyring) return false
  const verifier: SharedVerifier = { verify: (payload, actionId) => keyring.verify(payload, actionId) }
  sharedAnchor()[EDGE_VERIFIER] = verifier
  return true
}

/**
 * Publishes what the Edge guard of the build in `dir` needs. Returns null when the build has no
 * Edge middleware (nothing to do); problems are reported once through the config-error channel.
 */
export function publishForEdge(dir: string = defaultDistDir()): EdgePublication | null {
  if (!hasEdgeMiddleware(dir)) return null
  return { actions: publishActionIds(dir), verifier: publishVerifier() }
}
