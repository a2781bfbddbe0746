/** AES-GCM from `node:crypto` (OpenSSL): synchronous, for the JS backend on Node. */

import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto'

import type { CipherProvider } from './backend-js'

const TAG_LEN = 16

function algorithm(key: KeyObject) {
  return `aes-${(key.symmetricKeySize ?? 32) * 8}-gcm` as 'aes-256-gcm'
}

function decryptSync(key: KeyObject, iv: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  const decipher = createDecipheriv(algorithm(key), key, iv, { authTagLength: TAG_LEN })
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LEN))
  const head = decipher.update(sealed.subarray(0, sealed.length - TAG_LEN))
  try {
    return Buffer.concat([head, decipher.final()])
  } catch {
    return null
  }
}

function encryptSync(key: KeyObject, iv: Uint8Array, plain: Uint8Array): Uint8Array {
  const cipher = createCipheriv(algorithm(key), key, iv, { authTagLength: TAG_LEN })
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()])
}

/** A `KeyObject` keeps the bytes out of `util.inspect` and JSON. */
export const nodeCrypto: CipherProvider<KeyObject> = {
  sync: true,
  importKey: (bytes) => createSecretKey(bytes),
  decryptSync,
  decrypt: async (key, iv, sealed) => decryptSync(key, iv, sealed),
  encryptSync,
  encrypt: async (key, iv, plain) => encryptSync(key, iv, plain),
}
