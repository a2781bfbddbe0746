/**
 * The skew event channel: every detector (action interceptor, version check,
 * the app through `reportSkew`) publishes here; the mounted `<SkewGuard>`'s
 * reload policy sees each event first (it may mark it `suppressed`), then
 * listeners and `useSkewState` get the same, final event. Module state, so
 * there is one channel per page however many components use it.
 */
import { VERSION_SKEW } from '../shared/protocol'
import { getClientBuildId } from './build-id'
import { checkOptions, buildIdCheck, oneOf, SkewGuardOptionError, describe, anything } from '../shared/options'
import type { SkewEvent, SkewKind } from './types'

/** Receives every skew event. */
export type SkewListener = (event: SkewEvent) => void

/** Sees an event before the listeners and returns the event to publish (possibly annotated). */
export type SkewPolicy = (event: SkewEvent) => SkewEvent

let last: SkewEvent | null = null
const listeners = new Set<SkewListener>()
const policies: SkewPolicy[] = []

/** A failing listener must neither break the app's fetch nor hide other listeners: surface it asynchronously. */
export function reportAsync(error: unknown): void {
  const g = globalThis as { reportError?: (e: unknown) => void }
  if (typeof g.reportError === 'function') g.reportError(error)
  else if (typeof console !== 'undefined') console.error(error)
}

/** Publishes an event: the active policy first, then every listener. Internal. */
export function emitSkew(event: SkewEvent): SkewEvent {
  let published = event
  const policy = policies[policies.length - 1]
  if (policy) {
    try {
      published = policy(event)
    } catch (error) {
      reportAsync(error)
    }
  }
  last = published
  for (const listener of Array.from(listeners)) {
    try {
      listener(published)
    } catch (error) {
      reportAsync(error)
    }
  }
  return published
}

/** Makes `policy` the active reload policy (the most recently mounted guard wins). Returns its remover. Internal. */
export function registerPolicy(policy: SkewPolicy): () => void {
  policies.push(policy)
  return () => {
    const index = policies.lastIndexOf(policy)
    if (index !== -1) policies.splice(index, 1)
  }
}

/**
 * Calls `listener` with every skew event from now on (actions, the version check, `reportSkew`).
 * Returns the unsubscribe function. Listeners run synchronously inside the action's `fetch`
 * continuation, so keep them short; an exception in one is reported, not propagated.
 */
export function subscribeToSkew(listener: SkewListener): () => void {
  if (typeof listener !== 'function') {
    throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `subscribeToSkew expects a function; received ${describe(listener)}.`)
  }
  return onSkewEvent(listener)
}

/** {@link subscribeToSkew} without the argument check (`useSkewState`'s own listener). Internal. */
export function onSkewEvent(listener: SkewListener): () => void {
  const entry: SkewListener = (event) => listener(event)
  listeners.add(entry)
  return () => {
    listeners.delete(entry)
  }
}

/** The most recent skew event of this page, or `null` when none was seen. */
export function getLastSkew(): SkewEvent | null {
  return last
}

/** What an app passes to {@link reportSkew}; the rest of the event is filled in. */
export interface SkewReport {
  kind: SkewKind
  /** Whether the action may have run. Default: `false` for refused kinds, `true` for `build-mismatch`. */
  actionRan?: boolean
  actionId?: string | null
  serverBuildId?: string | null
  /** The page's build ID; default `getClientBuildId()`. */
  clientBuildId?: string | null
  /** Default `Date.now()`. */
  at?: number
}

const KINDS: readonly SkewKind[] = ['unknown-action', 'stale-build', 'key-rotated', 'unknown-key', 'build-mismatch', 'missing-chunk']

/**
 * Feeds skew the app detected itself into the same channel (for example an
 * `UnrecognizedActionError` caught around an action call, or a safe-action result flagged
 * `VERSION_SKEW`), so the mounted `<SkewGuard>` applies its reload policy to it. Returns the
 * published event (with `suppressed` when the cooldown withheld a reload).
 */
export function reportSkew(report: SkewReport): SkewEvent {
  if (typeof report !== 'object' || report === null) {
    throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `reportSkew expects { kind, ... }; received ${describe(report)}.`)
  }
  checkOptions<SkewReport>('reportSkew', report, {
    kind: oneOf(KINDS),
    actionRan: (where, name, value) => {
      if (typeof value !== 'boolean') {
        throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `${where}: "${name}" must be a boolean; received ${describe(value)}.`)
      }
    },
    actionId: buildIdCheck,
    serverBuildId: buildIdCheck,
    clientBuildId: buildIdCheck,
    at: anything,
  })
  if (report.kind === undefined) oneOf(KINDS)('reportSkew', 'kind', undefined)
  const at = report.at ?? Date.now()
  if (typeof at !== 'number' || !Number.isFinite(at)) {
    throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `reportSkew: "at" must be a finite number; received ${describe(at)}.`)
  }
  return emitSkew({
    type: VERSION_SKEW,
    kind: report.kind,
    source: 'app',
    actionId: report.actionId || null,
    clientBuildId: report.clientBuildId === undefined ? getClientBuildId() : report.clientBuildId || null,
    serverBuildId: report.serverBuildId || null,
    actionRan: report.actionRan ?? report.kind === 'build-mismatch',
    at,
  })
}

/** Forgets the last event, listeners and policies. Tests only (not exported from the package). */
export function resetSkewStore(): void {
  last = null
  listeners.clear()
  policies.length = 0
}
