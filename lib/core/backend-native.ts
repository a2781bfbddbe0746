/** The native backend: the Rust core through its generated napi loader. */

import { fromNativeError } from './errors'
import type { Backend, BackendKeyring, KeyInfo, PayloadInput } from './types'

/** The generated loader of the `next-skew-guard-native` package (made by `napi build`). */
type Native = typeof import('next-skew-guard-native')

function call<T>(fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    throw fromNativeError(e)
  }
}

async function callAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    throw fromNativeError(e)
  }
}

const FUNCTIONS = ['generateKey', 'parseKey', 'checkKey', 'compareBuildIds', 'shouldForceRefresh', 'NativeKeyring'] as const
const METHODS = ['verifyString', 'verifyBytes', 'verifyAsync', 'open', 'openAsync', 'seal', 'sealAsync'] as const

/**
 * Throws unless `native` is the binding this version was written against. A binary left from
 * another version can load and still lack a function; failing here lets the loader fall back to
 * the JS backend, instead of the first call failing in someone's request.
 */
function assertBinding(native: Native): void {
  const missing = [
    ...FUNCTIONS.filter((name) => typeof (native as unknown as Record<string, unknown>)?.[name] !== 'function'),
    ...METHODS.filter((name) => typeof native?.NativeKeyring?.prototype?.[name] !== 'function').map((m) => `NativeKeyring#${m}`),
  ]
  if (missing.length) throw new Error(`the native binding lacks ${missing.join(', ')} (a binary from another version?)`)
}

/** Wraps a loaded binding; throws when it is not this version's (see {@link assertBinding}). */
export function createNativeBackend(native: Native): Backend {
  assertBinding(native)
  return {
    name: 'native',
    sync: true,
    generateKey: (bytes) => call(() => native.generateKey(bytes)),
    parseKey: (key) => call(() => native.parseKey(key) as KeyInfo),
    checkKey: (key) => {
      const { ok, bytes, checkValue, errors, warnings } = native.checkKey(key)
      // Same shape and key order as the JS backend, so serialised reports are identical.
      return { ok, ...(bytes == null ? {} : { bytes }), ...(checkValue == null ? {} : { checkValue }), errors, warnings }
    },
    compareBuildIds: (client, server) => call(() => native.compareBuildIds(client, server)),
    shouldForceRefresh: (...args) => call(() => native.shouldForceRefresh(...args)),
    keyring(current, previous, max): BackendKeyring {
      const ring = call(() => new native.NativeKeyring(current, previous, max))
      return {
        checkValues: Object.freeze(ring.checkValues),
        // The hot path: no closure per call (what `call` costs is measurable at this size).
        verifySync(payload: PayloadInput, id: string) {
          try {
            return typeof payload === 'string' ? ring.verifyString(payload, id) : ring.verifyBytes(payload, id)
          } catch (e) {
            throw fromNativeError(e)
          }
        },
        verify: (payload, id) => callAsync(() => ring.verifyAsync(payload, id)),
        openSync: (payload, id) => call(() => ring.open(payload, id)),
        open: (payload, id) => callAsync(() => ring.openAsync(payload, id)),
        sealSync: (id, rows) => call(() => ring.seal(id, rows)),
        seal: (id, rows) => callAsync(() => ring.sealAsync(id, rows)),
      }
    },
  }
}
