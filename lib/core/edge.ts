/**
 * next-skew-guard core for Edge runtimes, workers and browsers (selected by
 * the `edge-light`, `workerd`, `worker` and `browser` export conditions):
 * the JS backend on WebCrypto. Same API and results as the Node entry, but
 * payload methods are async only: `verifySync`, `openSync` and `sealSync`
 * throw `ERR_SYNC_UNAVAILABLE`.
 */

import { createCore, type KeyringInstance } from './api'
import { createJsBackend } from './backend-js'
import { webCrypto } from './crypto-web'

const core = createCore(createJsBackend(webCrypto))

/** Always `'js'` here. */
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
