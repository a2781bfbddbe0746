/** AES-GCM from WebCrypto (`crypto.subtle`), exactly the calls Next.js makes. Async only. */

import type { CipherProvider } from './backend-js'
import { SkewGuardError } from './errors'

/** The import in flight, and the key once it is there (read without an await on the hot path). */
type WebKey = { promise: Promise<CryptoKey>; key?: CryptoKey }

// No `tagLength`: 128 bits is WebCrypto's default, and each extra member is one more WebIDL
// conversion per call.
const gcm = (iv: Uint8Array): AesGcmParams => ({ name: 'AES-GCM', iv: iv as BufferSource })

function unavailable(): never {
  throw new SkewGuardError('ERR_SYNC_UNAVAILABLE', 'WebCrypto has no synchronous AES-GCM; use the async methods.')
}

export const webCrypto: CipherProvider<WebKey> = {
  sync: false,
  // Imported once per key, lazily; non-extractable, so the bytes cannot be read back.
  importKey(bytes) {
    const promise = crypto.subtle.importKey('raw', new Uint8Array(bytes), 'AES-GCM', false, ['encrypt', 'decrypt'])
    const webKey: WebKey = { promise }
    // A platform without AES-192 rejects here; each use then fails like a wrong key.
    promise.then(
      (key) => (webKey.key = key),
      () => undefined,
    )
    return webKey
  },
  decryptSync: unavailable,
  decrypt(webKey, iv, sealed) {
    // Any failure, synchronous or not, means "this key does not open it", as before.
    const run = (key: CryptoKey): Promise<Uint8Array | null> => {
      try {
        return crypto.subtle.decrypt(gcm(iv), key, sealed as BufferSource).then(
          (plain) => new Uint8Array(plain),
          () => null,
        )
      } catch {
        return Promise.resolve(null)
      }
    }
    return webKey.key ? run(webKey.key) : webKey.promise.then(run, () => null)
  },
  encryptSync: unavailable,
  async encrypt(webKey, iv, plain) {
    try {
      return new Uint8Array(await crypto.subtle.encrypt(gcm(iv), webKey.key ?? (await webKey.promise), plain as BufferSource))
    } catch (e) {
      throw new SkewGuardError(
        'ERR_KEY_LENGTH',
        `This runtime's WebCrypto cannot use the current key (${(e as Error)?.name ?? 'error'}); browsers have no AES-192, so use a 16- or 32-byte key here.`,
      )
    }
  },
}
