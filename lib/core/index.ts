/**
 * next-skew-guard core for Node.js: the Rust core when its binary loads,
 * otherwise the JS backend on `node:crypto` (same behaviour, one warning).
 * Set `NEXT_SKEW_GUARD_BACKEND=js` to choose the JS backend explicitly.
 */

import { createCore, type KeyringInstance } from './api'
import { createJsBackend } from './backend-js'
import { createNativeBackend } from './backend-native'
import { nodeCrypto } from './crypto-node'
import type { Backend } from './types'

function loadBackend(): Backend {
  if (process.env.NEXT_SKEW_GUARD_BACKEND === 'js') return createJsBackend(nodeCrypto)
  try {
    return createNativeBackend(require('../../index.js'))
  } catch (e) {
    process.emitWarning(
      `The native binary for ${process.platform}-${process.arch} could not be loaded ` +
        `(${(e as Error).message.split('\n')[0]}); using the JS backend (node:crypto), which behaves the same ` +
        'but is slower. Reinstall with optional dependencies (`npm install --include=optional`), or set ' +
        'NEXT_SKEW_GUARD_BACKEND=js to choose the JS backend and silence this warning.',
      { type: 'NextSkewGuardWarning', code: 'NEXT_SKEW_GUARD_NATIVE_UNAVAILABLE' },
    )
    return createJsBackend(nodeCrypto)
  }
}

const core = createCore(loadBackend())

/** Which implementation is active: the Rust core (`'native'`) or `node:crypto` (`'js'`). */
export const backend = core.backend
export const generateKey = core.generateKey
export const parseKey = core.parseKey
export const checkKey = core.checkKey
export const keyCheckValue = core.keyCheckValue
export const compareBuildIds = core.compareBuildIds
export const shouldForceRefresh = core.shouldForceRefresh
export const Keyring = core.Keyring
export type Keyring = KeyringInstance
export * from './exports'
