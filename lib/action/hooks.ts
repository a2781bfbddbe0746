'use client'
/**
 * React hook of `next-skew-guard/action`. A `'use client'` module: when a
 * server bundle reaches it through the index (a `'use server'` file importing
 * `createSafeAction`), Next.js replaces it with client references instead of
 * evaluating React hooks on the server. React is an optional peer dependency,
 * so it is required on first use rather than at load: the index (and the
 * server helper) still load where React is not installed.
 */

import type * as ReactNamespace from 'react'
import { resolveClientOptions, runSafeAction, type SafeActionClientOptions, type SafeActionLike } from './client'
import type { CallSafeActionResult } from './types'

type ReactModule = typeof ReactNamespace

let react: ReactModule | undefined
function React(): ReactModule {
  // A literal require('react'): bundlers must see it to include React (it is
  // the app's own copy), while Node only evaluates it when a hook runs.
  return (react ??= require('react') as ReactModule)
}

/** Lifecycle of the last call made through {@link useSafeAction}. */
export type SafeActionStatus = 'idle' | 'executing' | 'success' | 'error'

/** What {@link useSafeAction} returns. */
export interface UseSafeActionReturn<Args extends unknown[], Data> {
  /**
   * Calls the action (through `callSafeAction`) and resolves with its
   * result, which also lands in `result`. Stable across renders. Safe to
   * call without awaiting: its rejections (Next.js control-flow errors such as
   * `redirect()`, which are also rethrown during render) are marked handled.
   */
  execute: (...args: Args) => Promise<CallSafeActionResult<Data>>
  /** The result of the latest call, `undefined` before the first call and after `reset()`. */
  result: CallSafeActionResult<Data> | undefined
  /** `'success'` when `result.success`; `'error'` for every failure, version skew included. */
  status: SafeActionStatus
  /** `status === 'executing'`. */
  isPending: boolean
  /** Back to `idle`; a call still in flight no longer updates the state. */
  reset: () => void
}

interface HookState<Data> {
  status: SafeActionStatus
  result: CallSafeActionResult<Data> | undefined
  /** A rejection to rethrow during render (see `execute`). */
  thrown?: { error: unknown }
}

/**
 * Runs a safe action from a client component and tracks its state.
 * Built on `callSafeAction`: version skew arrives as a `VERSION_SKEW` result
 * (and `options.onSkew` runs), never as a thrown error.
 *
 * Only the latest call updates the state: an older call that settles later
 * is ignored (its promise still resolves). Next.js control-flow errors
 * (`redirect()`, `notFound()`, …) are rethrown during render, as React does
 * for actions passed to `useActionState` or `<form action>`, so Next.js's
 * redirect and not-found boundaries handle them.
 *
 * ```tsx
 * const { execute, result, isPending } = useSafeAction(rename, { onSkew: () => setStale(true) })
 * ```
 *
 * Works with React 18.2+ and 19. `options` may be a new object on every
 * render; the latest one is used by the next call.
 */
export function useSafeAction<Args extends unknown[], Data>(
  action: SafeActionLike<Args, Data>,
  options?: SafeActionClientOptions<Data>,
): UseSafeActionReturn<Args, Data> {
  const { useState, useRef, useCallback, useEffect } = React()
  // Validated at every render (a few property checks) so a bad option fails
  // where it is written, not at the first click.
  const resolved = resolveClientOptions('useSafeAction', options)
  const [state, setState] = useState<HookState<Data>>({ status: 'idle', result: undefined })
  const latest = useRef({ action, resolved })
  latest.current = { action, resolved }
  const callId = useRef(0)
  const mounted = useRef(false)

  useEffect(() => {
    // Set here, not at init: Strict Mode runs effect, cleanup, effect again.
    mounted.current = true
    return () => {
      mounted.current = false
    }
  }, [])

  const execute = useCallback((...args: Args) => {
    const id = ++callId.current
    const { action: currentAction, resolved: currentOptions } = latest.current
    setState((previous) => ({ status: 'executing', result: previous.result }))
    const run = runSafeAction<Args, Data>(currentOptions, currentAction, args).then(
      (result) => {
        if (mounted.current && id === callId.current) setState({ status: result.success ? 'success' : 'error', result })
        return result
      },
      (error: unknown) => {
        if (mounted.current && id === callId.current) setState({ status: 'idle', result: undefined, thrown: { error } })
        throw error
      },
    )
    // Marks the rejection handled for fire-and-forget calls (onClick={() => execute(x)});
    // an awaiting caller still receives it.
    run.catch(() => undefined)
    return run
  }, [])

  const reset = useCallback(() => {
    callId.current++
    setState({ status: 'idle', result: undefined })
  }, [])

  if (state.thrown) throw state.thrown.error

  return { execute, result: state.result, status: state.status, isPending: state.status === 'executing', reset }
}
