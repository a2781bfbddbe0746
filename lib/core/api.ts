/**
 * The public core API, built over one backend. Argument types and formats are
 * validated here, identically for every backend, before any backend work.
 */

import { SkewGuardError, SkewGuardTypeError, describeType, expectString } from './errors'
import { LIMITS, VERDICTS, message } from './rules'
import type { Backend, BackendKeyring, BackendName, BuildIdComparison, KeyCheckReport, KeyInfo, OpenResult, PayloadInput } from './types'

/** The environment variable Next.js reads the Server Actions key from. */
export const ENV_KEY = 'NEXT_SERVER_ACTIONS_ENCRYPTION_KEY'
/** Comma-separated previous keys, still accepted after a rotation. */
export const ENV_PREVIOUS_KEYS = 'SKEW_GUARD_PREVIOUS_KEYS'
/** Default cap on a payload's length (1 MiB, Next.js's default action body limit). */
export const DEFAULT_MAX_PAYLOAD_BYTES: number = LIMITS.defaultMaxPayloadBytes
/** Largest `maxPayloadBytes` a keyring accepts (256 MiB, well under V8's longest string). */
export const MAX_PAYLOAD_BYTES_LIMIT: number = LIMITS.maxPayloadBytesLimit

/** Reason codes of a failed verification. */
export type VerifyReason =
  | 'ERR_PAYLOAD_WRONG_ACTION'
  | 'ERR_PAYLOAD_UNKNOWN_KEY'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_PAYLOAD_NOT_BASE64'
  | 'ERR_PAYLOAD_TOO_SHORT'

/**
 * What a payload is, relative to a keyring:
 * - `current`: sealed with the current key for this action;
 * - `previous-key`: sealed with a previous key (a rotation, not an attack: the tab should refresh);
 * - `wrong-action`: authentic, but made for another action (Next.js would refuse it);
 * - `unknown-key`: no key here authenticates it (a key this server lacks, or tampering);
 * - `malformed`: not a payload (not base64 as `atob` reads it, too short, or over the size cap).
 */
export type VerifyResult =
  | { readonly ok: true; readonly status: 'current' | 'previous-key'; readonly keyIndex: number }
  | { readonly ok: false; readonly status: 'wrong-action'; readonly keyIndex: number; readonly reason: 'ERR_PAYLOAD_WRONG_ACTION' }
  | { readonly ok: false; readonly status: 'unknown-key'; readonly reason: 'ERR_PAYLOAD_UNKNOWN_KEY' }
  | {
      readonly ok: false
      readonly status: 'malformed'
      readonly reason: 'ERR_PAYLOAD_TOO_LARGE' | 'ERR_PAYLOAD_NOT_BASE64' | 'ERR_PAYLOAD_TOO_SHORT'
    }

/** Options of {@link Keyring}. */
export interface KeyringOptions {
  /** The key Next.js encrypts with now (base64, as in `NEXT_SERVER_ACTIONS_ENCRYPTION_KEY`). */
  current: string
  /** Keys of earlier deployments, newest first, still accepted (reported as `previous-key`). */
  previous?: readonly string[]
  /**
   * Longest payload accepted: string length (base64 text is ASCII, so characters = bytes) or byte
   * length; longer ones are refused before any work. Default 1 MiB, at most 256 MiB.
   */
  maxPayloadBytes?: number
}

/** Options of {@link shouldForceRefresh}; times in ms since the epoch or `Date`s. */
export interface ForceRefreshOptions {
  /** When the tab loaded its page. */
  clientLoadedAt: number | Date
  /** When the new key became current. */
  rotatedAt: number | Date
  /** How long after the rotation old tabs may keep running (their payloads verify as `previous-key`). Default 0. */
  noticeMs?: number
  /** The current time. Default `Date.now()`. */
  now?: number | Date
}

/** A Server Action ID: lowercase hex of one of the lengths Next.js uses (40 in 14, 42 in 15 and 16). */
const ACTION_ID = new RegExp(`^(?:${LIMITS.actionIdLengths.map((n) => `[0-9a-f]{${n}}`).join('|')})$`)

/**
 * The last action ID that passed {@link checkActionId}. A server sees the same few IDs over and
 * over, and comparing two equal strings is cheaper than running the pattern again (a measurable
 * part of a `verifySync` call). Only valid IDs are remembered, so invalid ones always throw.
 */
let lastValidActionId = ''

function checkActionId(actionId: unknown): asserts actionId is string {
  if (actionId === lastValidActionId && actionId !== '') return
  expectString('actionId', actionId)
  if (!ACTION_ID.test(actionId)) {
    const problem = LIMITS.actionIdLengths.includes(actionId.length)
      ? message('actionIdChars')
      : message('actionIdLength', { length: actionId.length })
    throw new SkewGuardError('ERR_ACTION_ID', message('actionId', { problem }))
  }
  lastValidActionId = actionId
}

/** Also true for Uint8Arrays from another realm (vm contexts, test runners), where `instanceof` fails. */
function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array || Object.prototype.toString.call(value) === '[object Uint8Array]'
}

function checkPayload(payload: unknown): asserts payload is PayloadInput {
  if (typeof payload !== 'string' && !isBytes(payload)) {
    throw new SkewGuardTypeError(
      `The "payload" argument must be a string or a Uint8Array/Buffer of base64 text; received ${describeType(payload)}.`,
    )
  }
}

function checkKeyArg(key: unknown): asserts key is string {
  expectString('key', key, ' Pass the base64 string, e.g. process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY.')
}

// One frozen result object per verdict code (see `rules.json`), shared by every call.
const OK_RESULTS: VerifyResult[] = Array.from({ length: LIMITS.maxKeys }, (_, i) =>
  Object.freeze({ ok: true as const, status: i === 0 ? ('current' as const) : ('previous-key' as const), keyIndex: i }),
)
const WRONG_ACTION: VerifyResult[] = Array.from({ length: LIMITS.maxKeys }, (_, i) =>
  Object.freeze({ ok: false as const, status: 'wrong-action' as const, keyIndex: i, reason: 'ERR_PAYLOAD_WRONG_ACTION' as const }),
)
const TOO_LARGE: VerifyResult = Object.freeze({ ok: false, status: 'malformed', reason: 'ERR_PAYLOAD_TOO_LARGE' })
const FAILURES: Record<number, VerifyResult> = {
  [VERDICTS.unknownKey]: Object.freeze({ ok: false, status: 'unknown-key', reason: 'ERR_PAYLOAD_UNKNOWN_KEY' }),
  [VERDICTS.tooLarge]: TOO_LARGE,
  [VERDICTS.notBase64]: Object.freeze({ ok: false, status: 'malformed', reason: 'ERR_PAYLOAD_NOT_BASE64' }),
  [VERDICTS.tooShort]: Object.freeze({ ok: false, status: 'malformed', reason: 'ERR_PAYLOAD_TOO_SHORT' }),
}

/** Maps a backend verdict code to its shared, frozen result object. */
function toResult(code: number): VerifyResult {
  return code < VERDICTS.wrongAction
    ? OK_RESULTS[code - VERDICTS.current]
    : code < VERDICTS.unknownKey
      ? WRONG_ACTION[code - VERDICTS.wrongAction]
      : FAILURES[code]
}

function toMs(name: string, value: unknown): number {
  if (value instanceof Date) return value.getTime()
  if (typeof value !== 'number') {
    throw new SkewGuardTypeError(`"${name}" must be a number of milliseconds or a Date; received ${describeType(value)}.`)
  }
  return value
}

function optionalBuildId(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  expectString(name, value, ' Pass undefined or null when the build ID is not known.')
  // Lone surrogates would turn into U+FFFD on the way to bytes and compare equal to it.
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) {
    throw new SkewGuardError('ERR_INVALID_ARG_VALUE', `"${name}" is not a well-formed string (it holds a lone surrogate).`)
  }
  return value
}

const SYNC_UNAVAILABLE = (method: string) =>
  new SkewGuardError(
    'ERR_SYNC_UNAVAILABLE',
    `keyring.${method}Sync() needs synchronous AES-GCM, which WebCrypto (Edge runtime, browsers) does not have. ` +
      `Use \`await keyring.${method}()\` instead.`,
  )

/**
 * The current Server Actions key plus previous keys still accepted after a
 * rotation. Verifies, opens and seals Next.js bound-args payloads (the
 * encrypted closure arguments of inline Server Actions) in the exact format
 * of Next.js 14, 15 and 16. Key material stays inside the keyring: only check
 * values appear in `util.inspect`, `JSON.stringify` and error messages.
 */
export class Keyring {
  /** The backend subclasses bind (each entry point exports its own subclass). */
  protected static backendImpl?: Backend

  /** Which implementation this keyring runs on. */
  readonly backend: BackendName
  /** Check values of the keys, current first (safe to log). */
  readonly checkValues: readonly string[]
  /** The payload length cap in characters. */
  readonly maxPayloadBytes: number
  readonly #ring: BackendKeyring
  readonly #sync: boolean

  constructor(options: KeyringOptions) {
    const backend = (new.target as typeof Keyring).backendImpl
    if (!backend) throw new TypeError('Import Keyring from "next-skew-guard", not from an internal module.')
    this.backend = backend.name
    if (typeof options !== 'object' || options === null) {
      throw new SkewGuardTypeError(`Keyring options must be an object like { current, previous }; received ${describeType(options)}.`)
    }
    const { current, previous = [], maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES } = options
    if (current === undefined || current === null) {
      throw new SkewGuardError(
        'ERR_KEYRING_EMPTY',
        'A keyring needs a current key: pass { current: process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY } or use ' +
          'Keyring.fromEnv(). Generate a key with `npx next-skew-guard keygen`.',
      )
    }
    expectString('current', current)
    if (!Array.isArray(previous)) {
      throw new SkewGuardTypeError(`"previous" must be an array of base64 keys; received ${describeType(previous)}.`)
    }
    // An index loop, not forEach: holes in a sparse array must be reported too.
    for (let i = 0; i < previous.length; i++) expectString(`previous[${i}]`, previous[i])
    if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1 || maxPayloadBytes > MAX_PAYLOAD_BYTES_LIMIT) {
      throw new SkewGuardError(
        'ERR_INVALID_ARG_VALUE',
        `maxPayloadBytes must be an integer between 1 and ${MAX_PAYLOAD_BYTES_LIMIT}; got ${typeof maxPayloadBytes === 'number' ? String(maxPayloadBytes) : describeType(maxPayloadBytes)}.`,
      )
    }
    this.#ring = backend.keyring(current, [...previous], maxPayloadBytes)
    this.#sync = backend.sync
    this.checkValues = this.#ring.checkValues
    this.maxPayloadBytes = maxPayloadBytes
  }

  /**
   * A keyring from the environment: the current key from
   * `NEXT_SERVER_ACTIONS_ENCRYPTION_KEY` (the variable Next.js reads) and
   * previous keys from `SKEW_GUARD_PREVIOUS_KEYS` (comma-separated).
   */
  static fromEnv<T extends Keyring>(
    this: new (
      options: KeyringOptions,
    ) => T,
    env: Record<string, string | undefined> = globalThis.process?.env ?? {},
    options: Omit<KeyringOptions, 'current' | 'previous'> = {},
  ): T {
    if (typeof env !== 'object' || env === null) {
      throw new SkewGuardTypeError(`Keyring.fromEnv expects an environment object like process.env; received ${describeType(env)}.`)
    }
    const current = env[ENV_KEY]
    if (current === undefined || current === '') {
      throw new SkewGuardError(
        'ERR_KEYRING_EMPTY',
        `${ENV_KEY} is not set. Next.js then uses a random per-build key, so every deploy breaks open tabs. ` +
          `Set it to the same value at build time and at runtime; generate one with \`npx next-skew-guard keygen\`.`,
      )
    }
    const list = env[ENV_PREVIOUS_KEYS] ?? ''
    if (typeof list !== 'string') {
      throw new SkewGuardTypeError(`${ENV_PREVIOUS_KEYS} must be a string of comma-separated keys; received ${describeType(list)}.`)
    }
    // Trim ASCII whitespace only, as atob does: NBSP or a BOM must still be reported.
    const previous = list
      .split(',')
      .map((k) => k.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, ''))
      .filter(Boolean)
    try {
      return new this({ ...options, current, previous })
    } catch (e) {
      if (!(e instanceof SkewGuardError || e instanceof SkewGuardTypeError)) throw e
      const message = e.message
        .replace(/^Keyring current key/, ENV_KEY)
        .replace(/^The "current" argument/, ENV_KEY)
        .replace(/previous key #(\d+)/g, `${ENV_PREVIOUS_KEYS} entry #$1`)
        .replace(/^Keyring /, '')
      throw e instanceof SkewGuardError ? new SkewGuardError(e.code, message) : new SkewGuardTypeError(message)
    }
  }

  /** Number of keys (current + previous). */
  get size(): number {
    return this.checkValues.length
  }

  /** Classifies a payload for an action, synchronously (the hot path). Never exposes the plaintext. */
  verifySync(payload: PayloadInput, actionId: string): VerifyResult {
    if (!this.#sync) throw SYNC_UNAVAILABLE('verify')
    checkPayload(payload)
    checkActionId(actionId)
    if (payload.length > this.maxPayloadBytes) return TOO_LARGE
    return toResult(this.#ring.verifySync(payload, actionId))
  }

  /** {@link Keyring.verifySync} off the main thread (native) or on WebCrypto (Edge). */
  // Not an `async` function: one promise less per call, which is measurable on WebCrypto's small
  // payloads. Every error still arrives as a rejection, as from an async function.
  verify(payload: PayloadInput, actionId: string): Promise<VerifyResult> {
    try {
      checkPayload(payload)
      checkActionId(actionId)
      if (payload.length > this.maxPayloadBytes) return Promise.resolve(TOO_LARGE)
      return this.#ring.verify(payload, actionId).then(toResult)
    } catch (e) {
      return Promise.reject(e)
    }
  }

  /** Decrypts a payload and returns its Flight rows; throws `ERR_PAYLOAD_…` where verify reports a failure. For tooling and debugging: never log the rows. */
  openSync(payload: PayloadInput, actionId: string): OpenResult {
    if (!this.#sync) throw SYNC_UNAVAILABLE('open')
    checkPayload(payload)
    checkActionId(actionId)
    this.#checkSize(payload)
    return this.#ring.openSync(payload, actionId)
  }

  /** Async {@link Keyring.openSync}. */
  async open(payload: PayloadInput, actionId: string): Promise<OpenResult> {
    checkPayload(payload)
    checkActionId(actionId)
    this.#checkSize(payload)
    return this.#ring.open(payload, actionId)
  }

  /** Seals Flight rows (e.g. `0:["x"]\n`) for an action with the current key and a random IV, exactly as Next.js does. */
  sealSync(actionId: string, rows: string): string {
    if (!this.#sync) throw SYNC_UNAVAILABLE('seal')
    checkActionId(actionId)
    expectString('rows', rows)
    return this.#ring.sealSync(actionId, rows)
  }

  /** Async {@link Keyring.sealSync}. */
  async seal(actionId: string, rows: string): Promise<string> {
    checkActionId(actionId)
    expectString('rows', rows)
    return this.#ring.seal(actionId, rows)
  }

  #checkSize(payload: PayloadInput): void {
    if (payload.length > this.maxPayloadBytes) {
      throw new SkewGuardError(
        'ERR_PAYLOAD_TOO_LARGE',
        `The payload is longer than this keyring's limit of ${this.maxPayloadBytes} (option maxPayloadBytes).`,
      )
    }
  }

  /** Only non-secret facts: backend, key count, check values, size cap. */
  toJSON() {
    return { backend: this.backend, keys: this.size, checkValues: this.checkValues, maxPayloadBytes: this.maxPayloadBytes }
  }
}

// `util.inspect` shows the same safe summary as JSON (private fields are never shown anyway).
Object.defineProperty(Keyring.prototype, Symbol.for('nodejs.util.inspect.custom'), {
  value(this: Keyring) {
    return `Keyring ${JSON.stringify(this.toJSON())}`
  },
})

/** The core functions over one backend; each entry point exports them with their documentation. */
export function createCore(backend: Backend) {
  return {
    /** Which implementation is active: the Rust core (`'native'`) or platform crypto (`'js'`). */
    backend: backend.name,

    /** A new random key (16, 24 or 32 bytes; default 32) from the OS CSPRNG, as canonical base64. */
    generateKey(bytes: 16 | 24 | 32 = 32): string {
      if (typeof bytes !== 'number') {
        throw new SkewGuardTypeError(`"bytes" must be 16, 24 or 32; received ${describeType(bytes)}.`)
      }
      if (bytes !== 16 && bytes !== 24 && bytes !== 32) {
        throw new SkewGuardError('ERR_INVALID_ARG_VALUE', message('generateLength', { bytes }))
      }
      return backend.generateKey(bytes)
    },

    /** Parses a key exactly as Next.js reads `NEXT_SERVER_ACTIONS_ENCRYPTION_KEY`; throws a coded error for anything Next.js would reject. */
    parseKey(key: string): KeyInfo {
      checkKeyArg(key)
      return backend.parseKey(key)
    },

    /** Everything {@link parseKey} rejects, plus public and degenerate keys (errors) and accepted-but-suspicious forms (warnings). Throws only for a non-string. */
    checkKey(key: string): KeyCheckReport {
      checkKeyArg(key)
      return backend.checkKey(key)
    },

    /** The key check value: 6 hex digits of AES(key, zero block), to compare keys across machines and logs without revealing them. */
    keyCheckValue(key: string): string {
      checkKeyArg(key)
      return backend.parseKey(key).checkValue
    },

    /** Compares a client's build ID with the server's; absent or empty on either side is `'unknown'`, never `'same'`. Constant-time for equal lengths. */
    compareBuildIds(client: string | null | undefined, server: string | null | undefined): BuildIdComparison {
      return backend.compareBuildIds(optionalBuildId('client', client), optionalBuildId('server', server))
    },

    /** Whether a tab loaded before a key rotation must reload now: true once `noticeMs` has passed since `rotatedAt`. */
    shouldForceRefresh(options: ForceRefreshOptions): boolean {
      if (typeof options !== 'object' || options === null) {
        throw new SkewGuardTypeError(
          `shouldForceRefresh expects { clientLoadedAt, rotatedAt, noticeMs?, now? }; received ${describeType(options)}.`,
        )
      }
      const { clientLoadedAt, rotatedAt, noticeMs = 0, now = Date.now() } = options
      return backend.shouldForceRefresh(
        toMs('clientLoadedAt', clientLoadedAt),
        toMs('rotatedAt', rotatedAt),
        toMs('noticeMs', noticeMs),
        toMs('now', now),
      )
    },
  }
}
