/**
 * `next-skew-guard/instrumentation`: re-export `register` and `onRequestError`
 * from your `instrumentation.ts`.
 *
 * `register()` (Node runtime; a no-op on Edge) checks the runtime key, compares
 * it with the key the build used and loads the action manifest. It leaves the
 * console alone: `register({ countNextLogs: true })` also counts Next.js's own
 * "Failed to find Server Action" reports (Next.js only logs those), by wrapping
 * `console.warn` / `console.error`, which only apps without the proxy guard need.
 * `onRequestError` (Next.js 15+) turns closure decrypt failures into
 * `key-mismatch` skew events.
 *
 * @example
 * // instrumentation.ts, next to another tool's setup (Sentry, OpenTelemetry, …)
 * import { register as registerSkewGuard, onRequestError as skewGuardOnRequestError } from 'next-skew-guard/instrumentation'
 * export async function register() {
 *   await registerSkewGuard()
 *   // … your own register code
 * }
 * export function onRequestError(...args: Parameters<typeof skewGuardOnRequestError>) {
 *   skewGuardOnRequestError(...args)
 *   // … your own error reporting
 * }
 */

import { ENV_PREVIOUS_KEYS, keyCheckValue, Keyring } from '../core'
import { appRequire, isProduction, nextMajor, readActionManifest, readBuildId, type ActionManifest } from '../server/build-info'
import { publishForEdge } from '../server/edge-bridge'
import { logOnce, recordConfigError, recordSkew, state } from '../server/events'
import { bool, checkOptions } from '../shared/options'
import { createOnRequestError } from './on-request-error'

export { getSkewStats, onSkew } from '../server/events'
export type { SkewEvent, SkewKind, SkewStats } from '../server/events'
export type { ErrorContext, RequestInfo } from './on-request-error'

const NOT_FOUND_LOG = /Failed to find Server Action "([0-9a-f]+)"/

/** What `register()` found; also returned for apps that want to log it themselves. */
export interface RegisterReport {
  runtime: 'nodejs' | 'edge'
  nextMajor: number | null
  buildId: string | null
  /** Check value of the runtime key (`NEXT_SERVER_ACTIONS_ENCRYPTION_KEY`), when valid. */
  runtimeKeyCheckValue: string | null
  /** Check value of the key the build wrote into its manifest, when present. */
  buildKeyCheckValue: string | null
  /** Actions in the build's manifest, or null when it could not be read. */
  actions: number | null
  /** Setup problems found, by code. */
  problems: string[]
}

let registered: RegisterReport | null = null

/** Watches console output for Next.js's own unknown-action report (it calls no hook for it). */
function watchNotFoundLogs(buildId: string | null): void {
  const s = state() as ReturnType<typeof state> & { consolePatched?: boolean }
  if (s.consolePatched) return
  s.consolePatched = true
  for (const level of ['warn', 'error'] as const) {
    const original = console[level].bind(console)
    console[level] = (...args: unknown[]) => {
      try {
        const text = args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')
        const match = NOT_FOUND_LOG.exec(text)
        if (match) recordSkew({ kind: 'unknown-action', actionId: match[1], serverBuildId: buildId, source: 'next-log' })
      } catch {
        // Never let counting break logging.
      }
      original(...args)
    }
  }
}

/** Optional Prometheus counter, only when the app already depends on prom-client. */
function enablePrometheus(): void {
  const s = state()
  if (s.counter) return
  try {
    const prom = appRequire()('prom-client') as {
      Counter: new (c: { name: string; help: string; labelNames: string[] }) => { inc(l: Record<string, string>): void }
      register: { getSingleMetric(name: string): unknown }
    }
    const name = 'next_skew_guard_events_total'
    s.counter =
      (prom.register.getSingleMetric(name) as typeof s.counter) ??
      new prom.Counter({ name, help: 'Server Action version-skew events seen by next-skew-guard', labelNames: ['kind'] })
  } catch {
    // prom-client is an optional peer: absent means no metrics, not an error.
  }
}

/** Check value of NEXT_SERVER_ACTIONS_ENCRYPTION_KEY alone, or null when that key itself is the problem. */
function currentKeyCheckValue(): string | null {
  try {
    return Keyring.fromEnv({ ...process.env, [ENV_PREVIOUS_KEYS]: '' }).checkValues[0]
  } catch {
    return null
  }
}

/** Options of {@link register}. */
export interface RegisterOptions {
  /**
   * Also count Next.js's own "Failed to find Server Action" log lines as `unknown-action` events,
   * by wrapping `console.warn` and `console.error` for the process. Default false: the proxy
   * guard counts (and answers) those requests itself, and replacing the console is a step an
   * app must choose, because it interferes with other tools that hook the console.
   */
  countNextLogs?: boolean
}

/**
 * Runs the startup checks. Next.js calls it without arguments; call it yourself from your own
 * `register` to combine it with other tools or to pass options. Safe to call more than once
 * (later calls return the first report; `countNextLogs: true` takes effect on any call).
 */
export async function register(options?: RegisterOptions): Promise<RegisterReport | undefined> {
  checkOptions<RegisterOptions>('register', options, { countNextLogs: bool })
  if (process.env.NEXT_RUNTIME === 'edge') return undefined
  if (options?.countNextLogs) watchNotFoundLogs(readBuildId())
  if (registered) return registered
  const problems: string[] = []
  const major = nextMajor()
  const buildId = readBuildId()
  let runtimeKcv: string | null = null
  try {
    runtimeKcv = Keyring.fromEnv().checkValues[0]
  } catch (e) {
    const err = e as Error & { code?: string }
    problems.push(err.code ?? 'ERR_KEY')
    // A broken previous-key list must not hide a good current key (Next.js never reads the list):
    // say which one is wrong, and keep comparing the current key with the build's.
    runtimeKcv = currentKeyCheckValue()
    recordConfigError(
      err.code ?? 'ERR_KEY',
      runtimeKcv
        ? `${err.message} The current key (check value ${runtimeKcv}) is valid and Server Actions keep working; the guard ` +
            `checks closures against the current key only until ${ENV_PREVIOUS_KEYS} is fixed.`
        : `${err.message} Server Actions with closures will break on the next deploy.`,
    )
  }
  let manifest: ActionManifest | null = null
  // Under `next dev` the production build's files (if any) are not what runs: leave them alone.
  if (isProduction()) {
    try {
      manifest = readActionManifest()
    } catch (e) {
      problems.push('ERR_MANIFEST')
      recordConfigError('ERR_MANIFEST', `${(e as Error).message} Unknown-action checks are off until it can be read.`, 'warn')
    }
  }
  let buildKcv: string | null = null
  if (manifest?.encryptionKey) {
    try {
      buildKcv = keyCheckValue(manifest.encryptionKey)
    } catch {
      buildKcv = null
    }
  }
  // On 14 the manifest always holds a random build key and the runtime env key wins for
  // every payload, so only 15+ (where the build key also salts the action IDs) can mismatch.
  if (major !== 14 && runtimeKcv && buildKcv && runtimeKcv !== buildKcv) {
    problems.push('ERR_KEY_MISMATCH')
    recordConfigError(
      'ERR_KEY_MISMATCH',
      `KEY MISMATCH: the runtime NEXT_SERVER_ACTIONS_ENCRYPTION_KEY (check value ${runtimeKcv}) is not the key this ` +
        `build used (check value ${buildKcv}). Action IDs come from the build key while closures are encrypted with ` +
        'the runtime key, so closure actions fail across servers and deploys. Set the same key at build time and at runtime.',
    )
  }
  enablePrometheus()
  // Standalone server.js never runs next.config: hand Edge middleware its action IDs and keyring here.
  if (isProduction()) publishForEdge()
  registered = {
    runtime: 'nodejs',
    nextMajor: major,
    buildId,
    runtimeKeyCheckValue: runtimeKcv,
    buildKeyCheckValue: buildKcv,
    actions: manifest ? manifest.actions.size : null,
    problems,
  }
  logOnce(
    'register',
    'info',
    `guarding build ${buildId ?? '(unknown)'}: key ${runtimeKcv ?? 'invalid'}, ${manifest ? `${manifest.actions.size} actions` : 'no manifest'}` +
      (problems.length ? `; problems: ${problems.join(', ')}` : ''),
  )
  return registered
}

/**
 * Next.js 15+ calls this for errors in requests. A closure whose bound arguments
 * could not be decrypted (wrong key, tampered, another action) is recorded as
 * skew of kind `key-mismatch`; everything else is left alone.
 */
export const onRequestError = createOnRequestError(readBuildId)

/** For tests and tools: forget the cached register() result. */
export function resetRegistration(): void {
  registered = null
}
