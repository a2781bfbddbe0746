/**
 * Errors thrown by next-skew-guard. Every error carries a stable `code`
 * (the same on the native and the JS backend); branch on it, not on the
 * message. Messages say what to do and never contain key material.
 */

/** Stable error codes. */
export type ErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_KEY_EMPTY'
  | 'ERR_KEY_PLACEHOLDER'
  | 'ERR_KEY_QUOTED'
  | 'ERR_KEY_BASE64URL'
  | 'ERR_KEY_NOT_BASE64'
  | 'ERR_KEY_HEX'
  | 'ERR_KEY_LENGTH'
  | 'ERR_KEY_PUBLIC'
  | 'ERR_KEY_WEAK'
  | 'ERR_KEYRING_EMPTY'
  | 'ERR_KEYRING_DUPLICATE'
  | 'ERR_KEYRING_TOO_LARGE'
  | 'ERR_ACTION_ID'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_PAYLOAD_NOT_BASE64'
  | 'ERR_PAYLOAD_TOO_SHORT'
  | 'ERR_PAYLOAD_UNKNOWN_KEY'
  | 'ERR_PAYLOAD_WRONG_ACTION'
  | 'ERR_BUILD_ID_TOO_LONG'
  | 'ERR_RANDOM'
  /** A native task failed unexpectedly (a bug: please report it). */
  | 'ERR_INTERNAL'
  | 'ERR_SYNC_UNAVAILABLE'

/** An error raised by next-skew-guard, with a stable {@link ErrorCode}. */
export class SkewGuardError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string) {
    super(message)
    this.name = 'SkewGuardError'
    this.code = code
  }
}

/** An argument of the wrong JavaScript type (a `TypeError`, like Node's own). */
export class SkewGuardTypeError extends TypeError {
  readonly code = 'ERR_INVALID_ARG_TYPE' as const

  constructor(message: string) {
    super(message)
    this.name = 'SkewGuardTypeError'
  }
}

/** Describes a value for an error message without echoing its content. */
export function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`
  return `type ${typeof value}`
}

/** Throws unless `value` is a string. */
export function expectString(name: string, value: unknown, hint = ''): asserts value is string {
  if (typeof value !== 'string') {
    throw new SkewGuardTypeError(`The "${name}" argument must be a string; received ${describeType(value)}.${hint}`)
  }
}

/**
 * Turns an error of the native binding into a {@link SkewGuardError}. The binding throws (and its
 * async methods reject with) plain `Error`s whose `code` is the stable `ERR_…` string; anything
 * else (a napi status such as `InvalidArg`) passes through unchanged.
 */
export function fromNativeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err
  const { code } = err as { code?: unknown }
  return typeof code === 'string' && code.startsWith('ERR_') ? new SkewGuardError(code as ErrorCode, err.message) : err
}
