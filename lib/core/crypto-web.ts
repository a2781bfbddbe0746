/** AES-GCM from WebCrypto (`crypto.subtle`), exactly the calls Next.js makes. Async only. */

import type { CipherProvider } from './backend-js'
import { SkewGuardError } from './errors'

type WebKey = Promise<CryptoKey>

const TAG_BITS = 128

const gcm = (iv: Uint8Array): AesGcmParams => ({ name: 'AES-GCM', iv: iv as BufferSource, tagLength: TAG_BITS })

function unavailable(): never {
  throw new SkewGuardError('ERR_SYNC_UNAVAILABLE', 'WebCrypto has no synchronous AES-GCM; use the async methods.')
}

export const webCrypto: CipherProvider<WebKey> = {
  sync: false,
  // Imported once per key, lazily; non-extractable, so the bytes cannot be read back.
  importKey(bytes) {
    const key = crypto.subtle.importKey('raw', new Uint8Array(bytes), 'AES-GCM', false, ['encrypt', 'decrypt'])
    // A platform without AES-192 rejects here; each use then fails like a wrong key.
    key.catch(() => undefined)
    return key
  },
  decryptSync: unavailable,
  async decrypt(key, iv, sealed) {
    try {
      return new Uint8Array(await crypto.subtle.decrypt(gcm(iv), await key, sealed as BufferSource))
    } catch {
      return null
    }
  },
  encryptSync: unavailable,
  async encrypt(key, iv, plain) {
    try {
      return new Uint8Array(await crypto.subtle.encrypt(gcm(iv), await key, plain as BufferSource))
    } catch (e) {
      throw new SkewGuardError(
        'ERR_KEY_LENGTH',
        `This runtime's WebCrypto cannot use the current key (${(e as Error)?.name ?? 'error'}); browsers have no AES-192, so use a 16- or 32-byte key here.`,
      )
    }
  },
}
