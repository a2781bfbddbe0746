/**
 * Argument and option validation for every entry point outside the core: the config wrapper, the
 * proxy guard, instrumentation, safe actions and the client guard. Runtime-neutral (no Node.js, no
 * browser APIs), so the client bundle and Edge can import it. The conventions are the core's:
 * `TypeError`s with a stable `code`, messages that say what is accepted and never echo a value
 * that could be a secret.
 */

/** Codes of {@link SkewGuardOptionError}. */
export type OptionErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_UNKNOWN_OPTION'

/**
 * An argument or option the package cannot use. A `TypeError` (like Node's own argument errors)
 * with a stable `code`: branch on the code, not the message.
 */
export class SkewGuardOptionError extends TypeError {
  /** `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE` or `ERR_UNKNOWN_OPTION`. */
  readonly code: OptionErrorCode

  constructor(code: OptionErrorCode, message: string) {
    super(message)
    this.name = 'SkewGuardOptionError'
    this.code = code
  }
}

/**
 * Describes a value for a message: numbers and booleans as they are, word-like strings (an enum
 * value such as `"soon"`) quoted, other strings by length only (it could be a key), objects by type.
 */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return /^[a-z][a-z-]{0,23}$/i.test(value) ? JSON.stringify(value) : `a string of length ${value.length}`
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`
  if (typeof value === 'object') return `an instance of ${(value as object).constructor?.name ?? 'Object'}`
  return `type ${typeof value}`
}

/** Throws a {@link SkewGuardOptionError}; for checks that are not about one option. */
export function fail(code: OptionErrorCode, message: string): never {
  throw new SkewGuardOptionError(code, message)
}

/** Checks one option value; `where` names the function or component for the message. */
export type Check = (where: string, name: string, value: unknown) => void

/**
 * Validates an options object against `checks` (one per valid key). Missing
 * or `undefined` values are skipped (defaults apply); unknown keys are refused
 * because a misspelt option (`pollInterval`) would otherwise be ignored
 * without a word.
 */
export function checkOptions<T extends object>(where: string, options: unknown, checks: Record<string, Check>): T {
  if (options === undefined) return {} as T
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `${where} expects an options object; received ${describe(options)}.`)
  }
  const valid = Object.keys(checks)
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(checks, key)) {
      throw new SkewGuardOptionError(
        'ERR_UNKNOWN_OPTION',
        `${where} has no option ${JSON.stringify(key)}. Valid options: ${valid.join(', ')}.`,
      )
    }
  }
  for (const key of valid) {
    const value = (options as Record<string, unknown>)[key]
    if (value !== undefined) checks[key](where, key, value)
  }
  return options as T
}

const reported = new Set<string>()

/**
 * Like {@link checkOptions}, for props read during render, where a throw would take the whole
 * layout down in production (`pollIntervalMs={Number(process.env.UNSET)}` is `NaN`): each invalid
 * or unknown prop is reported once (console.error, with the same message a throw would carry) and
 * left out, so its default applies.
 */
export function lenientOptions<T extends object>(where: string, options: unknown, checks: Record<string, Check>): T {
  const report = (message: string) => {
    // Once per distinct problem: a layout renders again on every navigation.
    if (reported.has(message) || reported.size > 100) return
    reported.add(message)
    try {
      console.error(`[next-skew-guard] ${message} Using the default instead.`)
    } catch {
      // a broken console must not break rendering
    }
  }
  if (options === undefined || options === null) return {} as T
  if (typeof options !== 'object' || Array.isArray(options)) {
    report(`${where} expects props; received ${describe(options)}.`)
    return {} as T
  }
  const kept: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(checks, key)) {
      report(`${where} has no option ${JSON.stringify(key)}. Valid options: ${Object.keys(checks).join(', ')}.`)
      continue
    }
    if (value === undefined) continue
    try {
      checks[key](where, key, value)
      kept[key] = value
    } catch (error) {
      report((error as Error).message)
    }
  }
  return kept as T
}

/** Any value (`children`, `fallback`: React validates those itself). */
export const anything: Check = () => {}

/** One of a fixed set of strings; the message lists them. */
export function oneOf(values: readonly string[]): Check {
  return (where, name, value) => {
    if (typeof value !== 'string') {
      throw new SkewGuardOptionError(
        'ERR_INVALID_ARG_TYPE',
        `${where}: "${name}" must be one of ${values.map((v) => `'${v}'`).join(', ')}; received ${describe(value)}.`,
      )
    }
    if (!values.includes(value)) {
      throw new SkewGuardOptionError(
        'ERR_INVALID_ARG_VALUE',
        `${where}: "${name}" must be one of ${values.map((v) => `'${v}'`).join(', ')}; received ${describe(value)}.`,
      )
    }
  }
}

/** A function. */
export const fn: Check = (where, name, value) => {
  if (typeof value !== 'function') {
    throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `${where}: "${name}" must be a function; received ${describe(value)}.`)
  }
}

/** A boolean. */
export const bool: Check = (where, name, value) => {
  if (typeof value !== 'boolean') {
    throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `${where}: "${name}" must be a boolean; received ${describe(value)}.`)
  }
}

/** A non-empty string (an empty one is almost always an unset variable: omit the option instead). */
export const nonEmptyString: Check = (where, name, value) => {
  if (typeof value !== 'string') {
    throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `${where}: "${name}" must be a string; received ${describe(value)}.`)
  }
  if (value === '') throw new SkewGuardOptionError('ERR_INVALID_ARG_VALUE', `${where}: "${name}" must not be empty; omit it instead.`)
}

/** A string matching `pattern`, described by `rule` in the message. */
export function matching(pattern: RegExp, rule: string): Check {
  return (where, name, value) => {
    if (typeof value !== 'string') {
      throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `${where}: "${name}" must be ${rule}; received ${describe(value)}.`)
    }
    if (!pattern.test(value))
      throw new SkewGuardOptionError('ERR_INVALID_ARG_VALUE', `${where}: "${name}" must be ${rule}; received ${describe(value)}.`)
  }
}

/** An integer of at least `min`. */
export function integer(min: number): Check {
  return (where, name, value) => {
    if (typeof value !== 'number') {
      throw new SkewGuardOptionError('ERR_INVALID_ARG_TYPE', `${where}: "${name}" must be an integer; received ${describe(value)}.`)
    }
    if (!Number.isInteger(value) || value < min) {
      throw new SkewGuardOptionError(
        'ERR_INVALID_ARG_VALUE',
        `${where}: "${name}" must be an integer of at least ${min}; received ${value}.`,
      )
    }
  }
}

/** One of `checks` (the first that accepts the value); the message of the last one otherwise. */
export function either(...checks: Check[]): Check {
  return (where, name, value) => {
    let last: unknown
    for (const check of checks) {
      try {
        check(where, name, value)
        return
      } catch (error) {
        last = error
      }
    }
    throw last
  }
}

/** Exactly `expected` (e.g. `false` as the "off" value of an option). */
export function literal(expected: unknown): Check {
  return (where, name, value) => {
    if (value !== expected) {
      throw new SkewGuardOptionError(
        'ERR_INVALID_ARG_VALUE',
        `${where}: "${name}" must be ${JSON.stringify(expected)}; received ${describe(value)}.`,
      )
    }
  }
}

/** A build ID: a string, or `null` for "unknown". An empty string also means unknown (an unset env var). */
export const buildIdCheck: Check = (where, name, value) => {
  if (value !== null && typeof value !== 'string') {
    throw new SkewGuardOptionError(
      'ERR_INVALID_ARG_TYPE',
      `${where}: "${name}" must be a string (or null when unknown); received ${describe(value)}.`,
    )
  }
}

/** A finite number of milliseconds, at least `min`. */
export function millis(min: number): Check {
  return (where, name, value) => {
    if (typeof value !== 'number') {
      throw new SkewGuardOptionError(
        'ERR_INVALID_ARG_TYPE',
        `${where}: "${name}" must be a number of milliseconds; received ${describe(value)}.`,
      )
    }
    if (!Number.isFinite(value) || value < min) {
      throw new SkewGuardOptionError(
        'ERR_INVALID_ARG_VALUE',
        `${where}: "${name}" must be a finite number of milliseconds, at least ${min}; received ${value}.`,
      )
    }
  }
}

/** The health endpoint: a path (`/api/health`) or absolute http(s) URL, or `false` to disable polling. */
export const healthPathCheck: Check = (where, name, value) => {
  if (value === false) return
  if (typeof value !== 'string') {
    throw new SkewGuardOptionError(
      'ERR_INVALID_ARG_TYPE',
      `${where}: "${name}" must be a path such as '/api/health', or false to disable polling; received ${describe(value)}.`,
    )
  }
  if (!value.startsWith('/') && !/^https?:\/\//i.test(value)) {
    throw new SkewGuardOptionError(
      'ERR_INVALID_ARG_VALUE',
      `${where}: "${name}" must start with '/' (a path on this site) or be an http(s) URL, or be false; received ${describe(value)}.`,
    )
  }
}

/** A time: a number of ms since the epoch (finite, non-negative) or a `Date`. Returns ms. */
export function toTime(where: string, name: string, value: unknown): number {
  const ms = value instanceof Date ? value.getTime() : value
  if (typeof ms !== 'number') {
    throw new SkewGuardOptionError(
      'ERR_INVALID_ARG_TYPE',
      `${where}: "${name}" must be a number of milliseconds or a Date; received ${describe(value)}.`,
    )
  }
  if (!Number.isFinite(ms) || ms < 0) {
    throw new SkewGuardOptionError(
      'ERR_INVALID_ARG_VALUE',
      `${where}: "${name}" must be a finite, non-negative number of milliseconds; received ${ms}.`,
    )
  }
  return ms
}
