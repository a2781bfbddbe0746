/**
 * How the build's action IDs reach the Edge middleware guard (Next.js 14, and 15 before Node
 * middleware). The Edge sandbox cannot read `server-reference-manifest.json`, but Next.js builds
 * its `process.env` from a copy of the server process's environment when the sandbox starts (the
 * first middleware request). So the Node side of the same server (withSkewGuard when `next start`
 * loads the config, and `register()` in instrumentation) puts the IDs into one environment
 * variable before any request, and the Edge guard reads them from there.
 *
 * The value names the build it lists, so a variable inherited from another build (a parent process,
 * a stale shell) is ignored rather than trusted. Runtime-neutral: no Node APIs here.
 */

/** The environment variable holding `v1;<build id>;<id>,<id>,…`. */
export const EDGE_ACTIONS_ENV = '__SKEW_GUARD_ACTION_IDS'

/**
 * Largest value published (64 KiB, about 1,500 actions). Child processes of the server inherit the
 * variable, and Linux refuses to start a process with one environment string over 128 KiB; past
 * this size the Edge unknown-action check stays off (the server says so once) instead.
 */
export const EDGE_ACTIONS_MAX_CHARS = 64 * 1024

const VERSION = 'v1'
const ACTION_ID = /^[0-9a-f]{40}(?:[0-9a-f]{2})?$/

/** The variable's value for a build's action IDs, or null when it would be over the size cap. */
export function encodeEdgeActions(buildId: string, ids: Iterable<string>): string | null {
  const list = [...ids].filter((id) => ACTION_ID.test(id))
  const value = `${VERSION};${buildId};${list.join(',')}`
  return value.length <= EDGE_ACTIONS_MAX_CHARS && !buildId.includes(';') ? value : null
}

/** The action IDs in `value` when it lists `buildId`, else null (missing, malformed, another build). */
export function decodeEdgeActions(value: string | undefined, buildId: string | null): Set<string> | null {
  if (!value || !buildId) return null
  const [version, listed, ids, extra] = value.split(';')
  if (version !== VERSION || listed !== buildId || ids === undefined || extra !== undefined) return null
  const set = new Set(ids ? ids.split(',') : [])
  for (const id of set) if (!ACTION_ID.test(id)) return null
  return set
}
