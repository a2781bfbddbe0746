/**
 * The JS backend: the same behaviour as the native core, on platform
 * crypto. Node without a usable binary gets `node:crypto` (synchronous, so
 * `…Sync` methods keep working); Edge runtimes and browsers get WebCrypto,
 * where payload operations are async only.
 */

import { atobBytes, bytesToLatin1, toBase64 } from './atob'
import { SkewGuardError } from './errors'
import { checkKey, checkValueOf, parseKey, parseKeyBytes } from './key'
import { LIMITS, VERDICTS, message } from './rules'
import type { Backend, BackendKeyring, BuildIdComparison, OpenResult, PayloadInput, VerdictCode } from './types'

const { ivBytes: IV_LEN, tagBytes: TAG_LEN, maxKeys: MAX_KEYS, maxBuildIdBytes: MAX_BUILD_ID_LEN } = LIMITS
const BOM = [0xef, 0xbb, 0xbf]

/** Authenticated encryption primitives of one platform. Keys are opaque. */
export interface CipherProvider<K> {
  readonly sync: boolean
  importKey(bytes: Uint8Array): K
  /** ct‖tag → plaintext, or null when the tag does not verify. */
  decryptSync(key: K, iv: Uint8Array, sealed: Uint8Array): Uint8Array | null
  decrypt(key: K, iv: Uint8Array, sealed: Uint8Array): Promise<Uint8Array | null>
  /** plaintext → ct‖tag. */
  encryptSync(key: K, iv: Uint8Array, plain: Uint8Array): Uint8Array
  encrypt(key: K, iv: Uint8Array, plain: Uint8Array): Promise<Uint8Array>
}

const utf8 = new TextEncoder()
// `TextDecoder` with its defaults is what Next.js uses: lossy, strips a BOM.
const text = new TextDecoder()

function keyLabel(index: number): string {
  return index === 0 ? message('keyringCurrentKey') : message('keyringPreviousKey', { index })
}

// Verdict codes; `tooLarge` is decided by the facade, before any backend work.
const { current: CURRENT, wrongAction: WRONG_ACTION, unknownKey: UNKNOWN_KEY, notBase64: NOT_BASE64, tooShort: TOO_SHORT } = VERDICTS

type Prepared = { code: VerdictCode } | { iv: Uint8Array; sealed: Uint8Array }

/** The UTF-8 bytes of the last action ID seen: a server checks the same few IDs again and again. */
let lastId = ''
let lastIdBytes = new Uint8Array(0)
function encodedId(actionId: string): Uint8Array {
  if (actionId !== lastId) {
    lastIdBytes = utf8.encode(actionId)
    lastId = actionId
  }
  return lastIdBytes
}

function startsWithId(plain: Uint8Array, id: Uint8Array): number {
  const skip = BOM.every((b, i) => plain[i] === b) ? 3 : 0
  if (plain.length - skip < id.length) return -1
  for (let i = 0; i < id.length; i++) if (plain[skip + i] !== id[i]) return -1
  return skip + id.length
}

class JsKeyring<K> implements BackendKeyring {
  readonly checkValues: readonly string[]
  readonly #keys: K[]
  readonly #max: number
  readonly #crypto: CipherProvider<K>

  constructor(crypto: CipherProvider<K>, current: string, previous: string[], max: number) {
    if (1 + previous.length > MAX_KEYS) {
      throw new SkewGuardError(
        'ERR_KEYRING_TOO_LARGE',
        message('keyringTooLarge', { maxKeys: MAX_KEYS, maxPrevious: MAX_KEYS - 1, previous: previous.length }),
      )
    }
    if (/^[\t\n\f\r ]*$/.test(current)) throw new SkewGuardError('ERR_KEYRING_EMPTY', message('keyringEmpty'))
    const seen: string[] = []
    const values: string[] = []
    this.#keys = [current, ...previous].map((key, index) => {
      let bytes
      try {
        bytes = parseKeyBytes(key).bytes
      } catch (e) {
        if (!(e instanceof SkewGuardError)) throw e
        throw new SkewGuardError(e.code, message('keyringInvalidKey', { key: keyLabel(index), message: e.message }))
      }
      const canonical = toBase64(bytes)
      const checkValue = checkValueOf(bytes)
      const first = seen.indexOf(canonical)
      if (first >= 0) {
        throw new SkewGuardError(
          'ERR_KEYRING_DUPLICATE',
          message('keyringDuplicate', { key: keyLabel(index), first: keyLabel(first), checkValue }),
        )
      }
      seen.push(canonical)
      values.push(checkValue)
      return crypto.importKey(bytes)
    })
    this.checkValues = Object.freeze(values)
    this.#max = max
    this.#crypto = crypto
  }

  // The size cap is enforced by the facade, before any backend work.
  #prepare(payload: PayloadInput, actionId: string): Prepared {
    const bytes = atobBytes(typeof payload === 'string' ? payload : bytesToLatin1(payload))
    if (!bytes) return { code: NOT_BASE64 }
    if (bytes.length < IV_LEN + actionId.length + TAG_LEN) return { code: TOO_SHORT }
    return { iv: bytes.subarray(0, IV_LEN), sealed: bytes.subarray(IV_LEN) }
  }

  #classify(index: number, plain: Uint8Array, actionId: string): VerdictCode {
    return startsWithId(plain, encodedId(actionId)) < 0 ? WRONG_ACTION + index : CURRENT + index
  }

  #decryptSync(payload: PayloadInput, actionId: string): { code: VerdictCode; plain?: Uint8Array } {
    const p = this.#prepare(payload, actionId)
    if ('code' in p) return p
    for (let i = 0; i < this.#keys.length; i++) {
      const plain = this.#crypto.decryptSync(this.#keys[i], p.iv, p.sealed)
      if (plain) return { code: this.#classify(i, plain, actionId), plain }
    }
    return { code: UNKNOWN_KEY }
  }

  async #decrypt(payload: PayloadInput, actionId: string): Promise<{ code: VerdictCode; plain?: Uint8Array }> {
    const p = this.#prepare(payload, actionId)
    if ('code' in p) return p
    for (let i = 0; i < this.#keys.length; i++) {
      const plain = await this.#crypto.decrypt(this.#keys[i], p.iv, p.sealed)
      if (plain) return { code: this.#classify(i, plain, actionId), plain }
    }
    return { code: UNKNOWN_KEY }
  }

  #opened(result: { code: VerdictCode; plain?: Uint8Array }, actionId: string): OpenResult {
    const { code, plain } = result
    if (code < WRONG_ACTION && plain) return { keyIndex: code - CURRENT, rows: text.decode(plain).slice(actionId.length) }
    if (code < UNKNOWN_KEY) throw new SkewGuardError('ERR_PAYLOAD_WRONG_ACTION', message('payloadWrongAction'))
    switch (code) {
      case UNKNOWN_KEY:
        throw new SkewGuardError('ERR_PAYLOAD_UNKNOWN_KEY', message('payloadUnknownKey', { checkValues: this.checkValues.join(', ') }))
      case NOT_BASE64:
        throw new SkewGuardError('ERR_PAYLOAD_NOT_BASE64', message('payloadNotBase64'))
      default:
        throw new SkewGuardError('ERR_PAYLOAD_TOO_SHORT', message('payloadTooShort', { ivBytes: IV_LEN, tagBytes: TAG_LEN }))
    }
  }

  #plaintext(actionId: string, rows: string): Uint8Array {
    const plain = utf8.encode(actionId + rows)
    const total = IV_LEN + plain.length + TAG_LEN
    if (Math.ceil(total / 3) * 4 > this.#max) {
      throw new SkewGuardError(
        'ERR_PAYLOAD_TOO_LARGE',
        message('sealTooLarge', { bytes: plain.length - actionId.length, limit: this.#max }),
      )
    }
    return plain
  }

  #encode(iv: Uint8Array, sealed: Uint8Array): string {
    const out = new Uint8Array(IV_LEN + sealed.length)
    out.set(iv)
    out.set(sealed, IV_LEN)
    return toBase64(out)
  }

  verifySync(payload: PayloadInput, actionId: string): VerdictCode {
    return this.#decryptSync(payload, actionId).code
  }

  /**
   * Promise chains instead of nested async functions: on WebCrypto, where the decryption itself
   * is one thread-pool round trip like Next.js's own, every extra await is a measurable share of
   * a small payload's time.
   */
  verify(payload: PayloadInput, actionId: string): Promise<VerdictCode> {
    const p = this.#prepare(payload, actionId)
    if ('code' in p) return Promise.resolve(p.code)
    return this.#verifyFrom(0, p, actionId)
  }

  #verifyFrom(i: number, p: { iv: Uint8Array; sealed: Uint8Array }, actionId: string): Promise<VerdictCode> {
    if (i >= this.#keys.length) return Promise.resolve(UNKNOWN_KEY)
    return this.#crypto
      .decrypt(this.#keys[i], p.iv, p.sealed)
      .then((plain) => (plain ? this.#classify(i, plain, actionId) : this.#verifyFrom(i + 1, p, actionId)))
  }

  openSync(payload: PayloadInput, actionId: string): OpenResult {
    return this.#opened(this.#decryptSync(payload, actionId), actionId)
  }

  async open(payload: PayloadInput, actionId: string): Promise<OpenResult> {
    return this.#opened(await this.#decrypt(payload, actionId), actionId)
  }

  sealSync(actionId: string, rows: string): string {
    const plain = this.#plaintext(actionId, rows)
    const iv = crypto.getRandomValues(new Uint8Array(IV_LEN))
    return this.#encode(iv, this.#crypto.encryptSync(this.#keys[0], iv, plain))
  }

  async seal(actionId: string, rows: string): Promise<string> {
    const plain = this.#plaintext(actionId, rows)
    const iv = crypto.getRandomValues(new Uint8Array(IV_LEN))
    return this.#encode(iv, await this.#crypto.encrypt(this.#keys[0], iv, plain))
  }
}

/** Constant-time for equal lengths, like the native `subtle::ConstantTimeEq`. */
function compareBuildIds(client: string | undefined, server: string | undefined): BuildIdComparison {
  const a = utf8.encode(client ?? '')
  const b = utf8.encode(server ?? '')
  for (const id of [a, b]) {
    if (id.length > MAX_BUILD_ID_LEN) {
      throw new SkewGuardError('ERR_BUILD_ID_TOO_LONG', message('buildIdTooLong', { bytes: id.length, limit: MAX_BUILD_ID_LEN }))
    }
  }
  if (a.length === 0 || b.length === 0) return 'unknown'
  if (a.length !== b.length) return 'different'
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0 ? 'same' : 'different'
}

function shouldForceRefresh(clientLoadedAt: number, rotatedAt: number, noticeMs: number, now: number): boolean {
  const named = { clientLoadedAt, rotatedAt, noticeMs, now }
  for (const [name, value] of Object.entries(named)) {
    if (!(Number.isFinite(value) && value >= 0)) {
      throw new SkewGuardError('ERR_INVALID_ARG_VALUE', message('timestamp', { name, value }))
    }
  }
  return clientLoadedAt < rotatedAt && now >= rotatedAt + noticeMs
}

/** Builds the JS backend on one platform's AES-GCM. */
export function createJsBackend<K>(cipher: CipherProvider<K>): Backend {
  return {
    name: 'js',
    sync: cipher.sync,
    generateKey(bytes: number): string {
      return toBase64(crypto.getRandomValues(new Uint8Array(bytes)))
    },
    parseKey,
    checkKey,
    compareBuildIds,
    shouldForceRefresh,
    keyring: (current, previous, max) => new JsKeyring(cipher, current, previous, max),
  }
}
