/**
 * Key parsing and checking for the JS backend: the same rules, codes and
 * messages as the Rust core (`src/key.rs`); the test suite holds both to
 * the same corpus, ASCII and non-ASCII.
 */

import { aesEncryptBlock } from './aes-block'
import { atobBytes, toBase64, withoutWhitespace } from './atob'
import { SkewGuardError } from './errors'
import publicKeys from './public-keys.json'
import type { KeyCheckReport, KeyFinding, KeyInfo } from './types'

/** Key lengths AES (and so Next.js) accepts, in bytes. */
export const VALID_KEY_LENGTHS = [16, 24, 32] as const

const GENERATE_HINT = 'Generate a valid key with `npx next-skew-guard keygen` (or `openssl rand -base64 32`).'

const SALT_NOTE =
  'Next.js ignores this when decrypting, but Next.js 15 and 16 also salt every Server Action ID with the key ' +
  '*string*, so this key and its canonical form build different action IDs. Use one exact, canonical string at ' +
  'build time and at runtime.'

const PLACEHOLDER_WORDS = [
  'your', '<', '>', '...', 'change', 'replace', 'generate', 'example', 'placeholder', 'secret', 'base64', 'xxxx',
]

const isValidLength = (n: number) => (VALID_KEY_LENGTHS as readonly number[]).includes(n)

const isWhitespace = (c: string) => c === '\t' || c === '\n' || c === '\f' || c === '\r' || c === ' '
const CHAR_NAMES: Record<string, string> = {
  '\ufeff': ' (a byte-order mark, often from a file saved by a Windows editor)',
  '\u00a0': ' (a non-breaking space, often pasted from a web page)',
  '\u000b': ' (a vertical tab)',
}

/** Why `atob` rejects a key, in words; positions count characters (code points), as the Rust core does. */
function notBase64Reason(key: string): string {
  const chars = Array.from(key)
  for (const [i, c] of chars.entries()) {
    if (!(/^[A-Za-z0-9+/=]$/.test(c) || isWhitespace(c))) {
      const hex = `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
      const shown = /^[\x21-\x7e]$/.test(c) ? `'${c}' (${hex})` : hex
      return `${shown}${CHAR_NAMES[c] ?? ''} at position ${i} is outside the base64 alphabet (A-Z a-z 0-9 + / and trailing =)`
    }
  }
  const compact = chars.map((c, i) => [i, c] as const).filter(([, c]) => !isWhitespace(c))
  let dataLen = compact.length
  while (dataLen > 0 && compact[dataLen - 1][1] === '=') dataLen--
  const inner = compact.slice(0, dataLen).find(([, c]) => c === '=')
  if (inner) return `'=' at position ${inner[0]} is padding in the middle of the key`
  if (dataLen % 4 === 1) {
    return (
      `${dataLen} characters (without whitespace and padding) is a length no base64 string has; the key was ` +
      'probably cut off or has extra characters'
    )
  }
  return `its '=' padding does not fit its length (${compact.length} characters without whitespace)`
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
  if (compact.length === 0) {
    throw new SkewGuardError(
      'ERR_KEY_EMPTY',
      `The encryption key is empty. Set it to a base64 string of 32 random bytes. ${GENERATE_HINT}`,
    )
  }
  if (/["'`]/.test(compact)) {
    throw new SkewGuardError(
      'ERR_KEY_QUOTED',
      'The encryption key contains quote characters. They became part of the value: Docker `--env-file`, ' +
        'Kubernetes manifests with nested quotes, and systemd `Environment=` lines keep quotes literally. ' +
        'Remove the quotes so the variable holds only the base64 text.',
    )
  }
  const looksHex = /^[0-9a-fA-F]+$/.test(compact)
  const bytes = atobBytes(key)
  if (!(bytes && isValidLength(bytes.length))) {
    const lower = compact.toLowerCase()
    if (PLACEHOLDER_WORDS.some((w) => lower.includes(w))) {
      throw new SkewGuardError(
        'ERR_KEY_PLACEHOLDER',
        `The encryption key is a placeholder from documentation or an example file, not a key. ${GENERATE_HINT}`,
      )
    }
  }
  if (!bytes) {
    if (/[-_]/.test(compact)) {
      throw new SkewGuardError(
        'ERR_KEY_BASE64URL',
        "The encryption key uses the base64url alphabet ('-' or '_'). Next.js decodes the key with `atob`, " +
          "which accepts only standard base64 ('+' and '/'), so every Server Action with closure arguments " +
          "would fail with `InvalidCharacterError`. Replace '-' with '+' and '_' with '/', or generate a new " +
          'key with `npx next-skew-guard keygen`.',
      )
    }
    throw new SkewGuardError('ERR_KEY_NOT_BASE64', `The encryption key is not base64: ${notBase64Reason(key)}. ${GENERATE_HINT}`)
  }
  const n = bytes.length
  if (!isValidLength(n)) {
    if (looksHex && compact.length % 2 === 0 && isValidLength(compact.length / 2)) {
      throw new SkewGuardError(
        'ERR_KEY_HEX',
        `The encryption key looks like hex (${compact.length} hex characters = ${compact.length / 2} bytes), but ` +
          `Next.js reads it as base64, where it decodes to ${n} bytes and fails with \`DataError: Invalid key ` +
          "length`. Convert it to base64: `node -e \"console.log(Buffer.from(process.argv[1], 'hex')." +
          "toString('base64'))\" <hex-key>`, or generate a base64 key with `npx next-skew-guard keygen` " +
          '(`openssl rand -base64 32`, not `-hex`).',
      )
    }
    throw new SkewGuardError(
      'ERR_KEY_LENGTH',
      `The encryption key decodes to ${n} bytes; Next.js needs 16, 24 or 32 bytes (32 recommended) and ` +
        'otherwise fails every Server Action with closure arguments with `DataError: Invalid key length`. ' +
        GENERATE_HINT,
    )
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
  return Array.from(aesEncryptBlock(bytes, new Uint8Array(16)).subarray(0, 3), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('')
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
    errors.push({
      code: 'ERR_KEY_PUBLIC',
      message:
        'The encryption key is a published example or test key: anyone can decrypt and forge Server Action ' +
        'closure arguments with it. Generate your own with `npx next-skew-guard keygen`.',
    })
  } else if (bytes.every((b) => b === bytes[0])) {
    errors.push({
      code: 'ERR_KEY_WEAK',
      message:
        'The encryption key has every byte the same: it is a placeholder, not a secret. Generate a random ' +
        'one with `npx next-skew-guard keygen`.',
    })
  } else if (looksLikeText(bytes)) {
    errors.push({
      code: 'ERR_KEY_WEAK',
      message:
        'The encryption key decodes to readable text: it is a passphrase encoded as base64, not random ' +
        'bytes. Generate a random one with `npx next-skew-guard keygen`.',
    })
  }
  if (parsed.hasWhitespace) {
    warnings.push({
      code: 'WARN_KEY_WHITESPACE',
      message: `The encryption key contains whitespace (often a trailing newline from \`echo\` or a file). ${SALT_NOTE}`,
    })
  }
  if (parsed.missingPadding) {
    warnings.push({ code: 'WARN_KEY_UNPADDED', message: `The encryption key lacks its '=' padding. ${SALT_NOTE}` })
  }
  if (!parsed.canonical && !parsed.hasWhitespace && !parsed.missingPadding) {
    warnings.push({
      code: 'WARN_KEY_NONCANONICAL',
      message: `The encryption key's last character carries stray bits that base64 decoding drops. ${SALT_NOTE}`,
    })
  }
  const n = bytes.length
  if (parsed.looksHex) {
    warnings.push({
      code: 'WARN_KEY_HEX',
      message:
        `The encryption key looks like hex, but Next.js reads it as base64: it is used as a ${n}-byte AES-${n * 8} ` +
        'key made only of the bytes hex digits decode to, far weaker than its length suggests. Prefer ' +
        '`npx next-skew-guard keygen` (or `openssl rand -base64 32`).',
    })
  }
  if (n < 32) {
    warnings.push({
      code: 'WARN_KEY_SHORT',
      message: `The encryption key is ${n} bytes (AES-${n * 8}). Next.js accepts it, but generates 32-byte keys itself; prefer 32 bytes.`,
    })
  }
  return { ok: errors.length === 0, bytes: n, checkValue: checkValueOf(bytes), errors, warnings }
}
