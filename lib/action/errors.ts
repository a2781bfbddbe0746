/**
 * Errors shared by the server and client halves of `next-skew-guard/action`.
 * No Node.js and no browser APIs here: both halves import this file.
 */

import { SkewGuardOptionError, describe } from '../shared/options'

/** Codes the client side uses; a {@link SafeActionError} may not take them, so a result cannot be mistaken for one. */
const RESERVED_CODES: ReadonlySet<string> = new Set([
  'VERSION_SKEW',
  'NETWORK_ERROR',
  'TRANSPORT_ERROR',
  'SERVER_ERROR',
  'UNKNOWN_ERROR',
  'REDIRECTED',
  'ACTION_ERROR',
])

/**
 * An intended failure of a safe action: throw it from the wrapped function
 * and the caller receives `{ success: false, error: code, message }`.
 * Unlike any other error, its message reaches the client, so write it for
 * the user ("That name is taken") and keep secrets out of it.
 */
export class SafeActionError extends Error {
  /** Stable machine-readable code, returned as the result's `error`. */
  readonly code: string

  /**
   * @param code  what the client branches on, e.g. `'NAME_TAKEN'` (not one of the codes the package's own results use: `VERSION_SKEW`, `NETWORK_ERROR`, `TRANSPORT_ERROR`, `SERVER_ERROR`, `UNKNOWN_ERROR`, `REDIRECTED`, `ACTION_ERROR`)
   * @param message  user-facing text; defaults to the code
   */
  constructor(code: string, message?: string, options?: { cause?: unknown }) {
    if (typeof code !== 'string' || code === '') {
      throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `The "code" argument must be a non-empty string; received ${describe(code)}.`)
    }
    if (RESERVED_CODES.has(code)) {
      throw new SkewGuardOptionError(
        'ERR_INVALID_ARG_VALUE',
        `The "code" argument must not be "${code}": the client side uses it for its own results. Choose another code.`,
      )
    }
    if (message !== undefined && typeof message !== 'string') {
      throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `The "message" argument must be a string; received ${describe(message)}.`)
    }
    // `cause` is passed through only when given, so `'cause' in err` stays meaningful.
    super(message ?? code, ...((options && 'cause' in options ? [{ cause: options.cause }] : []) as []))
    this.name = 'SafeActionError'
    this.code = code
  }
}

const POSTPONE = Symbol.for('react.postpone')

/**
 * The `digest` of Next.js's control-flow errors. These are how `redirect()`,
 * `permanentRedirect()`, `notFound()`, `forbidden()`, `unauthorized()` and
 * dynamic rendering signal Next.js: catching them breaks those features, so
 * both the server wrapper and the client helpers let them through unchanged.
 * The list is the one Next.js's own `unstable_rethrow` uses (15.x/16.x), plus
 * the 14.x `NEXT_NOT_FOUND`.
 */
function isControlFlowDigest(digest: string): boolean {
  return (
    digest.startsWith('NEXT_REDIRECT') || // redirect(), permanentRedirect(): 14, 15, 16
    digest === 'NEXT_NOT_FOUND' || // notFound() on 14
    digest.startsWith('NEXT_HTTP_ERROR_FALLBACK;') || // notFound(), forbidden(), unauthorized() on 15+
    digest === 'DYNAMIC_SERVER_USAGE' || // headers()/cookies() during static rendering
    digest === 'BAILOUT_TO_CLIENT_SIDE_RENDERING' ||
    digest === 'HANGING_PROMISE_REJECTION' ||
    digest === 'NEXT_PRERENDER_INTERRUPTED'
  )
}

/** True for one of Next.js's control-flow errors (see {@link isControlFlowDigest}) or a React postpone. */
export function isNextControlFlowError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { digest, $$typeof } = error as { digest?: unknown; $$typeof?: unknown }
  if ($$typeof === POSTPONE) return true
  return typeof digest === 'string' && isControlFlowDigest(digest)
}

/**
 * The control-flow error to rethrow for `error`: the error itself, or (as
 * Next.js's `unstable_rethrow` does) one found on its `cause` chain, for code
 * that wrapped a `redirect()` in its own error. `undefined` when there is none.
 */
export function findControlFlowError(error: unknown): unknown {
  let current: unknown = error
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    if (isNextControlFlowError(current)) return current
    if (!(current instanceof Error) || !('cause' in current)) return undefined
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}
