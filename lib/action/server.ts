/**
 * The server half of `next-skew-guard/action`: `createSafeAction`, used in a
 * `'use server'` module. No browser APIs. Node's `fs` is reached only through
 * a guarded lookup at first use, so this module also loads where `fs` does not
 * exist (Edge runtime) and in client bundles (which never call it).
 */

import { SkewGuardOptionError, bool, checkOptions, describe, fn as isFunction, nonEmptyString } from '../shared/options'
import { SafeActionError, findControlFlowError } from './errors'
import type { SafeAction, SafeActionFailure, SafeActionResult } from './types'

/** Options of {@link createSafeAction}. */
export interface CreateSafeActionOptions {
  /**
   * The build identity to report. Default: `SKEW_GUARD_BUILD_ID`, else the
   * contents of `<cwd>/<__SKEW_GUARD_DIST_DIR or .next>/BUILD_ID`, else `null`.
   */
  buildId?: string
  /**
   * Send the message of unexpected errors to the client (default `false`).
   * Error messages routinely carry SQL, file paths and user data, so they stay
   * on the server unless you opt in (e.g. in development only).
   */
  exposeErrors?: boolean
  /**
   * Called with every error the wrapped function throws (control-flow errors
   * such as `redirect()` excepted), `SafeActionError`s included, for logging.
   * Without it, unexpected errors are logged with `console.error`, because the
   * wrapper stops Next.js from logging them itself. Whatever it throws or
   * rejects with is logged and otherwise ignored: the action still resolves.
   */
  onError?: (error: unknown) => void | Promise<void>
}

const OPTION_CHECKS = { buildId: nonEmptyString, exposeErrors: bool, onError: isFunction }

/** Error code of the result when the wrapped function threw something other than a `SafeActionError`. */
export const ACTION_ERROR = 'ACTION_ERROR'

/** Longest build identity read from a `BUILD_ID` file; anything longer is not one (the core's limit, too). */
const MAX_BUILD_ID_BYTES = 1024

interface FsLike {
  readFileSync(path: string, encoding: 'utf8'): string
}

/**
 * Finds `node:fs` without a static require call a bundler could see: a
 * visible one would make webpack/Turbopack try to bundle `fs` for the browser
 * and the Edge runtime (where this module may be loaded but never reads the
 * file). `process.getBuiltinModule` (Node 20.16+) works even inside a
 * bundle; older Node versions get the CommonJS `module.require` of this file.
 */
function loadFs(): FsLike | undefined {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    if (proc && typeof proc.getBuiltinModule === 'function') {
      const fs = proc.getBuiltinModule('node:fs') as FsLike | undefined
      if (fs && typeof fs.readFileSync === 'function') return fs
    }
  } catch {
    // fall through: a runtime whose process object is a partial polyfill
  }
  try {
    const key = 'require' // a computed name, so bundlers do not treat this as a dependency
    const req = typeof module === 'object' && module !== null ? (module as unknown as Record<string, unknown>)[key] : undefined
    if (typeof req === 'function') {
      const fs = (req as (id: string) => FsLike).call(module, 'node:fs')
      if (fs && typeof fs.readFileSync === 'function') return fs
    }
  } catch {
    // no fs here (Edge runtime, browser): the build ID comes from the env or stays unknown
  }
  return undefined
}

let fileBuildId: string | null | undefined

/**
 * `<cwd>/<__SKEW_GUARD_DIST_DIR || '.next'>/BUILD_ID`, read once: the file
 * does not change while a server runs, and an action must not pay for a
 * file read per call. `null` when there is no such file or no `fs`.
 */
function readBuildIdFile(): string | null {
  if (fileBuildId !== undefined) return fileBuildId
  fileBuildId = null
  const fs = loadFs()
  const proc = (globalThis as { process?: { cwd?: () => string; env?: Record<string, string | undefined> } }).process
  if (!fs || !proc || typeof proc.cwd !== 'function') return fileBuildId
  try {
    const distDir = proc.env?.__SKEW_GUARD_DIST_DIR || '.next'
    // String joining instead of node:path: the dist dir is relative to cwd
    // (Next.js's `distDir`), or absolute, which a join with cwd must respect.
    const base = distDir.startsWith('/') || /^[A-Za-z]:[\\/]/.test(distDir) ? distDir : `${proc.cwd()}/${distDir}`
    const text = fs.readFileSync(`${base.replace(/[\\/]+$/, '')}/BUILD_ID`, 'utf8').trim()
    if (text !== '' && text.length <= MAX_BUILD_ID_BYTES) fileBuildId = text
  } catch {
    // no build output here (tests, `next dev` before the first build): unknown, not an error
  }
  return fileBuildId
}

/**
 * The server's build identity as safe actions report it: `explicit`, else the `BUILD_ID` file of
 * the Next.js build output (read once per process: what runs is the build on disk, even when a
 * leftover runtime `SKEW_GUARD_BUILD_ID` says otherwise), else `SKEW_GUARD_BUILD_ID`, else `null`.
 */
export function resolveServerBuildId(explicit?: string): string | null {
  if (explicit) return explicit
  const fromFile = readBuildIdFile()
  if (fromFile) return fromFile
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  return env?.SKEW_GUARD_BUILD_ID || null
}

/** Test seam: forget the cached `BUILD_ID` file contents. Not part of the public API. */
export function __resetBuildIdCache(): void {
  fileBuildId = undefined
}

function logError(label: string, error: unknown): void {
  try {
    console.error(`[next-skew-guard] ${label}`, error)
  } catch {
    // a broken console must not turn a result into a rejection
  }
}

/** Runs `onError` without letting it change the outcome: a throw or a rejection is logged, never propagated. */
function report(onError: CreateSafeActionOptions['onError'], error: unknown): void {
  if (!onError) {
    if (!(error instanceof SafeActionError)) logError('safe action failed:', error)
    return
  }
  try {
    const pending = onError(error)
    if (pending && typeof (pending as Promise<void>).then === 'function') {
      ;(pending as Promise<void>).then(undefined, (e: unknown) => logError('onError rejected:', e))
    }
  } catch (e) {
    logError('onError threw:', e)
  }
}

function failureFor(error: unknown, exposeErrors: boolean, buildId: string | null): SafeActionFailure {
  if (error instanceof SafeActionError) {
    return { success: false, error: error.code, message: error.message, buildId }
  }
  const failure: SafeActionFailure = { success: false, error: ACTION_ERROR, buildId }
  if (exposeErrors) {
    const message = error instanceof Error ? error.message : typeof error === 'string' ? error : undefined
    if (message !== undefined) failure.message = message
  }
  return failure
}

/**
 * Wraps an async Server Action so that it always resolves to a
 * {@link SafeActionResult} carrying the server's build identity:
 * `{ success: true, data, buildId }` or `{ success: false, error, message?, buildId }`.
 *
 * - Thrown errors become `{ success: false, error: 'ACTION_ERROR' }` without
 *   their message (unless `exposeErrors`), or `{ error: code, message }` for
 *   a {@link SafeActionError}.
 * - Next.js control-flow errors (`redirect()`, `notFound()`, `forbidden()`,
 *   `unauthorized()`, dynamic-usage bailouts) are rethrown unchanged, so those
 *   features keep working.
 *
 * Because the result is never `undefined` and user errors never reject, the
 * client can prove skew: an `undefined` result or a React digest error cannot
 * come from a safe action's own code (see `callSafeAction`).
 *
 * ```ts
 * 'use server'
 * import { createSafeAction, SafeActionError } from 'next-skew-guard/action'
 * export const rename = createSafeAction(async (id: string, name: string) => {
 *   if (await taken(name)) throw new SafeActionError('NAME_TAKEN', 'That name is taken.')
 *   return db.rename(id, name)
 * })
 * ```
 *
 * @throws TypeError `ERR_INVALID_ARG_TYPE` when `fn` is not a function or an
 *   option has the wrong type; `ERR_UNKNOWN_OPTION` for an unknown option.
 */
export function createSafeAction<Args extends unknown[], Data>(
  fn: (...args: Args) => Data | PromiseLike<Data>,
  options?: CreateSafeActionOptions,
): SafeAction<Args, Awaited<Data>> {
  if (typeof fn !== 'function') {
    throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `createSafeAction: "fn" must be a function; received ${describe(fn)}.`)
  }
  checkOptions('createSafeAction', options, OPTION_CHECKS)
  // Copied once: later mutation of the caller's object must not change a
  // deployed action's error exposure.
  const explicitBuildId = options?.buildId
  const exposeErrors = options?.exposeErrors === true
  const onError = options?.onError

  // A named async function expression: 'use server' modules may export only
  // async functions, and Next.js checks `typeof` at runtime.
  const safeAction = async function safeAction(...args: Args): Promise<SafeActionResult<Awaited<Data>>> {
    let data: Awaited<Data>
    try {
      data = await fn(...args)
    } catch (error) {
      const controlFlow = findControlFlowError(error)
      if (controlFlow !== undefined) throw controlFlow
      report(onError, error)
      return failureFor(error, exposeErrors, resolveServerBuildId(explicitBuildId))
    }
    return { success: true, data, buildId: resolveServerBuildId(explicitBuildId) }
  }
  return safeAction
}
