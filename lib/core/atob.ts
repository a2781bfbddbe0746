/**
 * Base64 exactly as Next.js reads keys and payloads: the platform's own
 * `atob` (WHATWG forgiving-base64). The helpers here only add byte
 * conversion and, for error messages, where `atob` would fail.
 */

const WHITESPACE = /[\t\n\f\r ]/g

/** Decodes with `atob` semantics; `null` where `atob` would throw. */
export function atobBytes(text: string): Uint8Array | null {
  let binary: string
  try {
    binary = atob(text)
  } catch {
    return null
  }
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

/** Bytes of base64 text (e.g. a body slice) as the string `atob` would see. */
export function bytesToLatin1(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[])
  }
  return s
}

/** Canonical base64 (standard alphabet, padded), as `btoa` writes it. */
export function toBase64(bytes: Uint8Array): string {
  return btoa(bytesToLatin1(bytes))
}

/** `text` without ASCII whitespace. */
export function withoutWhitespace(text: string): string {
  return text.replace(WHITESPACE, '')
}
