/**
 * The client half of `next-skew-guard/action`: `callSafeAction` and its options, for client
 * components. What each outcome of a call means is decided in classify.ts. No Node.js APIs (the
 * only `process` reference is `process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID`, which Next.js
 * replaces with a string literal in client bundles).
 */

import { actionResponseMark, actionResponsesSince } from '../shared/protocol'
import { SkewGuardOptionError, checkOptions, describe, fn, nonEmptyString } from '../shared/options'
import { classifySettled, observationsOf } from './classify'
import type { CallSafeActionResult, RefreshRequired, SafeActionResult } from './types'

/** Options of the client helpers (`callSafeAction.with`, `useSafeAction`). */
export interface SafeActionClientOptions<Data = unknown> {
  /**
   * This page's build identity. Default: `process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID`,
   * which `withSkewGuard` inlines into the client bundle. Absent or empty
   * means unknown: results are then never called a build mismatch.
   */
  buildId?: string
  /**
   * Called once for every call whose result asks the page to refresh
   * (`requiresRefresh: true`: it did not run because the page is out of
   * date, or it ran on a server of another build), after the result is known
   * and before `callSafeAction` resolves with it: show a banner, schedule a
   * reload, report it. It cannot change the result; what it throws or
   * rejects with is logged and ignored.
   */
  onSkew?: (result: RefreshRequired<Data>) => void | Promise<void>
}

const OPTION_CHECKS = { buildId: nonEmptyString, onSkew: fn }

/**
 * This page's build identity as inlined by Next.js. The expression must stay
 * literally `process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID`: Next.js replaces
 * exactly that text at build time, and nothing dynamic. The `try` covers
 * bundlers and runtimes without a `process` object.
 */
function inlinedBuildId(): string | null {
  try {
    const value = process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID
    return typeof value === 'string' && value !== '' ? value : null
  } catch {
    return null
  }
}

function logError(label: string, error: unknown): void {
  try {
    console.error(`[next-skew-guard] ${label}`, error)
  } catch {
    // a broken console must not turn a result into a rejection
  }
}

/** Runs the app's `onSkew` without letting it change or delay the result. */
export function notifySkew<Data>(onSkew: SafeActionClientOptions<Data>['onSkew'], result: RefreshRequired<Data>): void {
  if (!onSkew) return
  try {
    const pending = onSkew(result)
    if (pending && typeof (pending as Promise<void>).then === 'function') {
      ;(pending as Promise<void>).then(undefined, (e: unknown) => logError('onSkew rejected:', e))
    }
  } catch (e) {
    logError('onSkew threw:', e)
  }
}

/** A safe action as the client sees it (a Server Action reference returning a {@link SafeActionResult}). */
export type SafeActionLike<Args extends unknown[], Data> = (...args: Args) => Promise<SafeActionResult<Data>>

/** Validated, defaulted client options. */
export interface ResolvedClientOptions<Data> {
  clientBuildId: string | null
  onSkew?: (result: RefreshRequired<Data>) => void | Promise<void>
}

/** Validates client options and fills in the inlined build ID. */
export function resolveClientOptions<Data>(where: string, options: SafeActionClientOptions<Data> | undefined): ResolvedClientOptions<Data> {
  checkOptions(where, options, OPTION_CHECKS)
  return { clientBuildId: options?.buildId ?? inlinedBuildId(), onSkew: options?.onSkew }
}

/** Runs one call with resolved options. Shared by `callSafeAction` and `useSafeAction`. */
export async function runSafeAction<Args extends unknown[], Data>(
  resolved: ResolvedClientOptions<Data>,
  action: SafeActionLike<Args, Data>,
  args: Args,
): Promise<CallSafeActionResult<Data>> {
  if (typeof action !== 'function') {
    throw new SkewGuardOptionError(
      'ERR_INVALID_ARG_TYPE',
      `callSafeAction: "action" must be a function (a Server Action); received ${describe(action)}.`,
    )
  }
  let settled: { ok: true; value: unknown } | { ok: false; error: unknown }
  const mark = actionResponseMark()
  try {
    settled = { ok: true, value: await action(...args) }
  } catch (error) {
    settled = { ok: false, error }
  }
  const result = classifySettled<Data>(settled, resolved.clientBuildId, observationsOf(actionResponsesSince(mark)))
  if (result.requiresRefresh) notifySkew(resolved.onSkew, result as RefreshRequired<Data>)
  return result
}

/** `callSafeAction` and the callers made by `callSafeAction.with(options)`. */
export interface CallSafeAction {
  /**
   * Calls a safe action and turns every outcome into a result object:
   * the action's own result (with `requiresRefresh: true` when it ran on
   * another build), `VERSION_SKEW` (with `requiresRefresh: true`) when it
   * did not run because this page is from another build, or a failure that
   * is not skew (`NETWORK_ERROR`, `TRANSPORT_ERROR`, `SERVER_ERROR`,
   * `REDIRECTED`, `UNKNOWN_ERROR`). Never resolves `success: true` unless
   * the action ran and returned. Rejects only with Next.js control-flow errors
   * (`redirect()`, `notFound()`, … thrown by the action), which must reach
   * Next.js unchanged, and with a `TypeError` when `action` is not a function.
   */
  <Args extends unknown[], Data>(action: SafeActionLike<Args, Data>, ...args: Args): Promise<CallSafeActionResult<Data>>
  /**
   * A caller with options: `callSafeAction.with({ onSkew })(action, ...args)`.
   * Options are validated now, not per call; options of an outer `.with` are
   * merged under the inner ones.
   */
  with(options: SafeActionClientOptions): CallSafeAction
}

function makeCaller(base: SafeActionClientOptions): CallSafeAction {
  let resolved: ResolvedClientOptions<unknown> | undefined
  const call = (<Args extends unknown[], Data>(action: SafeActionLike<Args, Data>, ...args: Args) => {
    // Resolved lazily on the first call: in a client bundle the inlined env
    // value is a constant, but reading it at import time would also run on the
    // server during SSR for nothing.
    resolved ??= resolveClientOptions('callSafeAction', base)
    return runSafeAction<Args, Data>(resolved as ResolvedClientOptions<Data>, action, args)
  }) as CallSafeAction
  call.with = (options: SafeActionClientOptions) => {
    checkOptions('callSafeAction.with', options ?? {}, OPTION_CHECKS)
    return makeCaller({ ...base, ...stripUndefined(options) })
  }
  return call
}

function stripUndefined<T extends object>(options: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [key, value] of Object.entries(options)) if (value !== undefined) (out as Record<string, unknown>)[key] = value
  return out
}

/**
 * Calls a safe action (see {@link CallSafeAction}) with default options:
 * this page's build ID from `NEXT_PUBLIC_SKEW_GUARD_BUILD_ID`, no `onSkew`.
 *
 * ```ts
 * const r = await callSafeAction(rename, id, name)
 * if (r.success) show(r.data)
 * else if (isVersionSkew(r)) askToRefresh(r.actionRan)
 * else showError(r.message ?? r.error)
 * ```
 */
export const callSafeAction: CallSafeAction = makeCaller({})
