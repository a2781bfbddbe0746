/**
 * The Node half of `shared/edge-actions.ts`: puts the build's action IDs where the Edge
 * middleware guard finds them, in the server process's environment, before the first request.
 */

import * as fs from 'node:fs'
import * as path from 'node:path'

import { EDGE_ACTIONS_ENV, encodeEdgeActions } from '../shared/edge-actions'
import { distDir as defaultDistDir, readActionManifest } from './build-info'
import { recordConfigError } from './events'

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

/**
 * Publishes the action IDs of the build in `dir` for the Edge guard. Returns how many were
 * published, or null when there is nothing to do (no Edge middleware, no build) or they cannot be
 * (unreadable manifest, too many IDs; both reported once through the config-error channel).
 */
export function publishActionIdsForEdge(dir: string = defaultDistDir()): number | null {
  if (!hasEdgeMiddleware(dir)) return null
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
