// What an app would use instead of next-skew-guard to check a Next.js bound-args payload: the same
// work (base64 decode, AES-GCM with Next.js's 16-byte IV, action-ID prefix check), done two ways.
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, webcrypto } from 'node:crypto'

export const ACTION_ID = '60c6dd4c8b146d5c3453cdc7c1eb87f87a63a6a732'

/** Seals `rows` for ACTION_ID exactly as Next.js's encryptActionBoundArgs does. */
export function seal(keyBytes, rows, actionId = ACTION_ID) {
  const iv = randomBytes(16)
  const cipher = createCipheriv(`aes-${keyBytes.length * 8}-gcm`, keyBytes, iv)
  const ct = Buffer.concat([cipher.update(actionId + rows, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return Buffer.concat([iv, ct]).toString('base64')
}

/** Flight rows that make a plaintext of `bytes` bytes with the action ID in front. */
export function rowsOfPlaintext(bytes) {
  return `0:["${'x'.repeat(bytes - ACTION_ID.length - 7)}"]\n`
}

/** The 128-character payload Next.js 15/16 produce for a one-string closure. */
export const ROWS_128 = '0:["closure-secret"]\n'

/** node:crypto, synchronous: Buffer.from(base64) + createDecipheriv('aes-…-gcm') + prefix check. */
export function nodeCryptoVerifier(keyBytes) {
  const key = createSecretKey(keyBytes)
  const id = Buffer.from(ACTION_ID)
  const alg = `aes-${keyBytes.length * 8}-gcm`
  return (payload) => {
    const b = Buffer.from(payload, 'base64')
    const d = createDecipheriv(alg, key, b.subarray(0, 16), { authTagLength: 16 })
    d.setAuthTag(b.subarray(b.length - 16))
    const plain = Buffer.concat([d.update(b.subarray(16, b.length - 16)), d.final()])
    return plain.subarray(0, id.length).equals(id)
  }
}

/**
 * Next.js's own path (decryptActionBoundArgs before Flight decoding, Next.js 14–16): atob, a
 * byte copy, crypto.subtle.decrypt awaited, TextDecoder, startsWith.
 */
export async function nextVerifier(keyBytes) {
  const key = await webcrypto.subtle.importKey('raw', keyBytes, 'AES-GCM', true, ['encrypt', 'decrypt'])
  const decoder = new TextDecoder()
  return async (payload) => {
    const bin = atob(payload)
    const bytes = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i)
    const plain = await webcrypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.subarray(0, 16) }, key, bytes.subarray(16))
    return decoder.decode(plain).startsWith(ACTION_ID)
  }
}
