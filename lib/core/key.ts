/**
 * Key parsing and checking for the JS backend: the same rules, codes and
 * messages as the Rust core (`src/key.rs`), the shared ones from one table
 * (`rules.json`); the test suite holds both to the same corpus, ASCII and
 * non-ASCII.
 */

import { aesEncryptBlock } from './aes-block'
import { atobBytes, toBase64, withoutWhitespace } from './atob'
import { SkewGuardError } from './errors'
import publicKeys from './public-keys.json'
import { CHAR_NAMES, LIMITS, PLACEHOLDER_WORDS, message } from './rules'
import type { KeyCheckReport, KeyFinding, KeyInfo } from './types'

/** Key lengths AES (and so Next.js) accepts, in bytes. */
export const VALID_KEY_LENGTHS: readonly number[] = LIMITS.keyLengths

const isValidLength = (n: number) => VALID_KEY_LENGTHS.includes(n)

const isWhitespace = (c: string) => c === '\t' || c === '\n' || c === '\f' || c === '\r' || c === ' '

/** Why `atob` rejects a key, in words; positions count characters (code points), as the Rust core does. */
function notBase64Reason(key: string): string {
  const chars = Array.from(key)
  for (const [position, c] of chars.entries()) {
    if (!(/^[A-Za-z0-9+/=]$/.test(c) || isWhitespace(c))) {
      const codePoint = c.codePointAt(0)!
      const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`
      const shown = /^[\x21-\x7e]$/.test(c) ? `'${c}' (${hex})` : hex
      return message('notBase64Char', { shown, name: CHAR_NAMES.get(codePoint) ?? '', position })
    }
  }
  const compact = chars.map((c, i) => [i, c] as const).filter(([, c]) => !isWhitespace(c))
  let dataLen = compact.length
  while (dataLen > 0 && compact[dataLen - 1][1] === '=') dataLen--
  const inner = compact.slice(0, dataLen).find(([, c]) => c === '=')
  if (inner) return message('notBase64InnerPadding', { position: inner[0] })
  if (dataLen % 4 === 1) return message('notBase64Length', { length: dataLen })
  return message('notBase64Padding', { length: compact.length })
}

/**
 * Readable text encoded as base64 (a passphrase, not random bytes). Random keys pass: all 24+
 * bytes printable has odds of (95/256)^24 ≈ 5e-11, and 16 bytes all letters or digits (62/256)^16 ≈ 7e-11.
 */
function looksLikeText(bytes: Uint8Array): boolean {
  return bytes.length >= 24
    ? bytes.every((b) => b >= 0x20 && b < 0x7f)
    : bytes.every((b) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a))
}

/** A decoded key, kept inside this module's callers only. */
export interface ParsedKey {
  bytes: Uint8Array
  canonical: boolean
  hasWhitespace: boolean
  missingPadding: boolean
  looksHex: boolean
}

/** Parses like Next.js (`atob`, 16/24/32 bytes) and throws with a reason. */
export function parseKeyBytes(key: string): ParsedKey {
  const compact = withoutWhitespace(key)
  if (compact.length === 0) throw new SkewGuardError('ERR_KEY_EMPTY', message('keyEmpty'))
  if (/["'`]/.test(compact)) throw new SkewGuardError('ERR_KEY_QUOTED', message('keyQuoted'))
  const looksHex = /^[0-9a-fA-F]+$/.test(compact)
  const bytes = atobBytes(key)
  if (!(bytes && isValidLength(bytes.length))) {
    const lower = compact.toLowerCase()
    if (PLACEHOLDER_WORDS.some((w) => lower.includes(w))) {
      throw new SkewGuardError('ERR_KEY_PLACEHOLDER', message('keyPlaceholder'))
    }
  }
  if (!bytes) {
    if (/[-_]/.test(compact)) throw new SkewGuardError('ERR_KEY_BASE64URL', message('keyBase64Url'))
    throw new SkewGuardError('ERR_KEY_NOT_BASE64', message('keyNotBase64', { reason: notBase64Reason(key) }))
  }
  const n = bytes.length
  if (!isValidLength(n)) {
    if (looksHex && compact.length % 2 === 0 && isValidLength(compact.length / 2)) {
      throw new SkewGuardError('ERR_KEY_HEX', message('keyHex', { chars: compact.length, bytes: compact.length / 2, decoded: n }))
    }
    throw new SkewGuardError('ERR_KEY_LENGTH', message('keyLength', { bytes: n }))
  }
  const canonicalForm = toBase64(bytes)
  return {
    bytes,
    canonical: key === canonicalForm,
    hasWhitespace: compact.length !== key.length,
    missingPadding: canonicalForm.endsWith('=') && !compact.endsWith('='),
    looksHex,
  }
}

/** Key check value: first 3 bytes of AES(key, zero block), lowercase hex. */
export function checkValueOf(bytes: Uint8Array): string {
  return Array.from(aesEncryptBlock(bytes, new Uint8Array(16)).subarray(0, 3), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** See the facade's `parseKey`. */
export function parseKey(key: string): KeyInfo {
  const parsed = parseKeyBytes(key)
  const n = parsed.bytes.length as 16 | 24 | 32
  return { bytes: n, bits: (n * 8) as 128 | 192 | 256, checkValue: checkValueOf(parsed.bytes), canonical: parsed.canonical }
}

const PUBLIC = new Set(publicKeys.map((k) => toBase64(atobBytes(k) ?? new Uint8Array())))

/** See the facade's `checkKey`. */
export function checkKey(key: string): KeyCheckReport {
  let parsed: ParsedKey
  try {
    parsed = parseKeyBytes(key)
  } catch (e) {
    const err = e as SkewGuardError
    const bytes = atobBytes(key)?.length
    return { ok: false, ...(bytes === undefined ? {} : { bytes }), errors: [{ code: err.code, message: err.message }], warnings: [] }
  }
  const { bytes } = parsed
  const errors: KeyFinding[] = []
  const warnings: KeyFinding[] = []
  if (PUBLIC.has(toBase64(bytes))) {
    errors.push({ code: 'ERR_KEY_PUBLIC', message: message('keyPublic') })
  } else if (bytes.every((b) => b === bytes[0])) {
    errors.push({ code: 'ERR_KEY_WEAK', message: message('keyWeakRepeated') })
  } else if (looksLikeText(bytes)) {
    errors.push({ code: 'ERR_KEY_WEAK', message: message('keyWeakText') })
  }
  if (parsed.hasWhitespace) warnings.push({ code: 'WARN_KEY_WHITESPACE', message: message('warnWhitespace') })
  if (parsed.missingPadding) warnings.push({ code: 'WARN_KEY_UNPADDED', message: message('warnUnpadded') })
  if (!parsed.canonical && !parsed.hasWhitespace && !parsed.missingPadding) {
    warnings.push({ code: 'WARN_KEY_NONCANONICAL', message: message('warnNoncanonical') })
  }
  const n = bytes.length
  if (parsed.looksHex) warnings.push({ code: 'WARN_KEY_HEX', message: message('warnHex', { bytes: n, bits: n * 8 }) })
  if (n < 32) warnings.push({ code: 'WARN_KEY_SHORT', message: message('warnShort', { bytes: n, bits: n * 8 }) })
  return { ok: errors.length === 0, bytes: n, checkValue: checkValueOf(bytes), errors, warnings }
}
