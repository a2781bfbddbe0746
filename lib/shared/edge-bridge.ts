/**
 * What the Node side of a `next start` (or standalone `server.js`) process hands to the guard in
 * its Edge middleware (Next.js 14, and 15 before Node middleware). The Edge sandbox cannot read
 * files and sees the build's encryption key instead of the runtime one, but it runs in the same
 * process, and Next.js gives it two things it shares with Node:
 *
 * - a copy of the server process's environment, taken when the sandbox starts (the first
 *   middleware request): the build's action IDs travel there ({@link EDGE_ACTIONS_ENV});
 * - the server's own `AsyncLocalStorage` class, which Next.js also sets on Node's `globalThis`:
 *   {@link sharedAnchor} hangs the skew counters and the runtime keyring's `verify` on it, so Edge
 *   events reach `getSkewStats()` and Edge payload checks use the runtime keys without copying them.
 *
 * Runtime-neutral: no Node APIs here (the Node half is `server/edge-bridge.ts`).
 */

import { ACTION_ID_PATTERN } from './protocol'

/** The environment variable holding `v1;<build id>;<id>,<id>,…`. */
export const EDGE_ACTIONS_ENV = '__SKEW_GUARD_ACTION_IDS'

/**
 * Largest value published (64 KiB, about 1,500 actions). Child processes of the server inherit the
 * variable, and Linux refuses to start a process with one environment string over 128 KiB; past
 * this size the Edge unknown-action check stays off (the server says so once) instead.
 */
export const EDGE_ACTIONS_MAX_CHARS = 64 * 1024

/** Slot on the {@link sharedAnchor} for the runtime keyring's payload check. */
export const EDGE_VERIFIER = Symbol.for('next-skew-guard.edge-verifier')

/** The part of a keyring the Edge guard calls (what the Node side puts in {@link EDGE_VERIFIER}). */
export interface SharedVerifier {
  verify(payload: string, actionId: string): Promise<{ status: string }>
}

const VERSION = 'v1'

/**
 * One object both runtimes of a Next.js server process see: Next.js's `AsyncLocalStorage` class
 * where Next.js set it (Node server and Edge sandbox alike), else `globalThis` (tests, plain Node).
 */
export function sharedAnchor(): Record<symbol, unknown> {
  const shared = (globalThis as { AsyncLocalStorage?: unknown }).AsyncLocalStorage
  return (typeof shared === 'function' ? shared : globalThis) as unknown as Record<symbol, unknown>
}

/** The variable's value for a build's action IDs, or null when it would be over the size cap. */
export function encodeEdgeActions(buildId: string, ids: Iterable<string>): string | null {
  const list = [...ids].filter((id) => ACTION_ID_PATTERN.test(id))
  const value = `${VERSION};${buildId};${list.join(',')}`
  return value.length <= EDGE_ACTIONS_MAX_CHARS && !buildId.includes(';') ? value : null
}

/** The action IDs in `value` when it lists `buildId`, else null (missing, malformed, another build). */
export function decodeEdgeActions(value: string | undefined, buildId: string | null): Set<string> | null {
  if (!value || !buildId) return null
  const [version, listed, ids, extra] = value.split(';')
  if (version !== VERSION || listed !== buildId || ids === undefined || extra !== undefined) return null
  const set = new Set(ids ? ids.split(',') : [])
  for (const id of set) if (!ACTION_ID_PATTERN.test(id)) return null
  return set
}
