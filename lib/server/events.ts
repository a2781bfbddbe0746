/**
 * Skew events and counters, shared by every part of the guard in one
 * process (proxy, instrumentation, safe actions) through a global, because
 * Next.js may load each entry point as a separate module instance.
 */

import { sharedAnchor } from '../shared/edge-bridge'
import { SkewGuardOptionError, describe } from '../shared/options'

/** What kind of skew was seen. */
export type SkewKind =
  /** The server does not know the action ID (an older or newer build's page). */
  | 'unknown-action'
  /** The page's build differs from the server's (policy decided what happened). */
  | 'stale-build'
  /** Closure arguments sealed with a previous key (a rotation). */
  | 'key-rotated'
  /** Closure arguments no key here opens, seen by the proxy: a key this server never had, or tampering. */
  | 'unknown-key'
  /** Next.js failed to decrypt closure arguments (reported through onRequestError). */
  | 'key-mismatch'

/** One skew event. */
export interface SkewEvent {
  type: 'VERSION_SKEW'
  kind: SkewKind
  actionId?: string
  clientBuildId?: string
  serverBuildId: string | null
  /** Milliseconds since the epoch. */
  at: number
  /** Where it was detected. */
  source: 'proxy' | 'instrumentation' | 'next-log'
}

/** Counters since the process started. */
export interface SkewStats {
  total: number
  byKind: Record<SkewKind, number>
  last: SkewEvent | null
  /** Problems with the guard's own setup (invalid key, missing manifest, key mismatch), by code. */
  configErrors: Record<string, number>
}

type Listener = (event: SkewEvent) => void

interface State {
  stats: SkewStats
  listeners: Set<Listener>
  counter?: { inc(labels: Record<string, string>): void }
  logged: Set<string>
  /** Per kind: when its last line was logged, and how many events came since. */
  skewLog?: Map<SkewKind, { at: number; since: number }>
  /** `false` once an app turned the skew lines off (`skewGuard({ log: false })`). */
  skewLogging?: boolean
}

/** At most one skew line per kind in this window; the next line says how many were left out. */
export const SKEW_LOG_WINDOW_MS = 60_000

const SKEW_LINES: Record<SkewKind, string> = {
  'unknown-action': 'a page of another deployment called a Server Action this build does not have; refused (409), the page reloads',
  'stale-build': 'a page of another deployment called a Server Action this build also has',
  'key-rotated': 'a closure sealed with a previous key was refused (409), the page reloads',
  'unknown-key':
    'a closure sealed with a key this server does not hold reached Next.js, which refuses it (key changed without keeping the old one, or a forgery)',
  'key-mismatch': 'Next.js could not decrypt the arguments of a closure (keys differ between build, servers or deploys)',
}

/** Turns the guard's skew log lines on or off for the process. */
export function setSkewLogging(enabled: boolean): void {
  state().skewLogging = enabled
}

/**
 * One concise line per kind of skew, so operators see what Next.js itself would have logged: at
 * most one per kind a minute, with the count of those left out. IDs only, never keys or payloads.
 */
function logSkew(s: State, event: SkewEvent): void {
  const env = typeof process === 'object' && process !== null ? process.env?.SKEW_GUARD_LOG : undefined
  if (s.skewLogging === false || (env !== undefined && /^(off|0|false|silent)$/i.test(env))) return
  const log = (s.skewLog ??= new Map())
  const entry = log.get(event.kind)
  if (entry && event.at - entry.at < SKEW_LOG_WINDOW_MS && event.at >= entry.at) {
    entry.since++
    return
  }
  const more = entry && entry.since > 0 ? ` (${entry.since} more since the last line)` : ''
  log.set(event.kind, { at: event.at, since: 0 })
  const ids = [
    event.actionId ? `action ${event.actionId}` : null,
    event.clientBuildId ? `page build ${event.clientBuildId}` : null,
    `server build ${event.serverBuildId ?? 'unknown'}`,
  ]
    .filter(Boolean)
    .join(', ')
  try {
    console.warn(`[next-skew-guard] ${event.kind}: ${SKEW_LINES[event.kind]} (${ids})${more}`)
  } catch {
    // A broken console must not break a request.
  }
}

const KEY = Symbol.for('next-skew-guard.state')

function emptyStats(): SkewStats {
  return {
    total: 0,
    byKind: { 'unknown-action': 0, 'stale-build': 0, 'key-rotated': 0, 'unknown-key': 0, 'key-mismatch': 0 },
    last: null,
    configErrors: {},
  }
}

/**
 * The process-wide state, on the object the Node server and its Edge sandbox share (see
 * `shared/edge-bridge.ts`): events the Edge guard records reach `getSkewStats()` on Node.
 */
export function state(): State {
  const anchor = sharedAnchor() as Record<symbol, State | undefined>
  return (anchor[KEY] ??= { stats: emptyStats(), listeners: new Set(), logged: new Set() })
}

/** Records an event: counters, Prometheus (when enabled), listeners. A throwing listener never breaks a request. */
export function recordSkew(event: Omit<SkewEvent, 'type' | 'at'> & { at?: number }): SkewEvent {
  const full: SkewEvent = { type: 'VERSION_SKEW', at: Date.now(), ...event }
  const s = state()
  s.stats.total++
  s.stats.byKind[full.kind]++
  s.stats.last = full
  s.counter?.inc({ kind: full.kind })
  logSkew(s, full)
  for (const listener of s.listeners) {
    try {
      listener(full)
    } catch (e) {
      // One fixed key: a listener that throws per event must not grow memory or flood the log.
      logOnce('listener', 'warn', `an onSkew listener threw (logged once): ${(e as Error)?.message ?? e}`)
    }
  }
  return full
}

/** Counts a setup problem and logs it once per process. */
export function recordConfigError(code: string, message: string, level: 'warn' | 'error' = 'error'): void {
  const s = state()
  s.stats.configErrors[code] = (s.stats.configErrors[code] ?? 0) + 1
  logOnce(code, level, message)
}

/** Logs a message once per process and key, prefixed with the package name. */
export function logOnce(key: string, level: 'warn' | 'error' | 'info', message: string): void {
  const s = state()
  if (s.logged.has(key)) return
  s.logged.add(key)
  console[level](`[next-skew-guard] ${message}`)
}

/** Subscribes to skew events; returns an unsubscribe function. */
export function onSkew(listener: Listener): () => void {
  if (typeof listener !== 'function') {
    throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `onSkew expects a function (event) => void; received ${describe(listener)}.`)
  }
  const s = state()
  s.listeners.add(listener)
  return () => s.listeners.delete(listener)
}

/** A snapshot of the counters. */
export function getSkewStats(): SkewStats {
  const { stats } = state()
  return { ...stats, byKind: { ...stats.byKind }, configErrors: { ...stats.configErrors } }
}

/** Resets counters and listeners (tests). */
export function resetSkewState(): void {
  const s = state()
  s.stats = emptyStats()
  s.listeners.clear()
  s.logged.clear()
  s.skewLog = undefined
  s.skewLogging = undefined
}
