/**
 * next-skew-guard core for Edge runtimes, workers and browsers (selected by
 * the `edge-light`, `workerd`, `worker` and `browser` export conditions):
 * the JS backend on WebCrypto. Same API and results as the Node entry, but
 * payload methods are async only: `verifySync`, `openSync` and `sealSync`
 * throw `ERR_SYNC_UNAVAILABLE`.
 */

import { Keyring as KeyringBase, createCore } from './api'
import { createJsBackend } from './backend-js'
import { webCrypto } from './crypto-web'
import type { Backend } from './types'

const impl = createJsBackend(webCrypto)
const core = createCore(impl)

// Types and documentation: see index.ts (the package's `types` entry serves both).
export const backend = impl.name
export class Keyring extends KeyringBase {
  protected static override backendImpl: Backend = impl
}
export const { generateKey, parseKey, checkKey, keyCheckValue, compareBuildIds, shouldForceRefresh } = core
export * from './exports'
