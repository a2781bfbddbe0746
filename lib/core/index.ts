/**
 * next-skew-guard core for Node.js: the Rust core when its binary loads,
 * otherwise the JS backend on `node:crypto` (same behaviour, one warning).
 * Set `NEXT_SKEW_GUARD_BACKEND=js` to choose the JS backend explicitly.
 */

import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'

import { Keyring as KeyringBase, createCore, type ForceRefreshOptions } from './api'
import { createJsBackend } from './backend-js'
import { createNativeBackend } from './backend-native'
import { nodeCrypto } from './crypto-node'
import { nativeFileProblem } from './native-file'
import type { Backend, BackendName, BuildIdComparison, KeyCheckReport, KeyInfo } from './types'

/** This machine's napi platform name (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`, …). */
function platformName(): string {
  if (process.platform === 'linux') {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header
    return `linux-${process.arch}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`
  }
  return process.platform === 'win32' ? `win32-${process.arch}-msvc` : `${process.platform}-${process.arch}`
}

/** The platform package napi-rs publishes for this machine (`next-skew-guard-native-linux-x64-gnu`, …). */
function platformPackage(): string {
  return `next-skew-guard-native-${platformName()}`
}

/**
 * Throws when the binary the generated loader would open first is cut short: opening it would
 * kill the process (see native-file.ts). The loader's own order: an explicit
 * `NAPI_RS_NATIVE_LIBRARY_PATH`, a file beside the loader, then the platform package.
 */
function assertNativeFileComplete(): void {
  let file: string | undefined = process.env.NAPI_RS_NATIVE_LIBRARY_PATH || undefined
  if (!file) {
    const resolve = createRequire(path.join(process.cwd(), 'package.json')).resolve
    const beside = (() => {
      try {
        return path.join(path.dirname(resolve('next-skew-guard-native')), `next-skew-guard.${platformName()}.node`)
      } catch {
        return undefined
      }
    })()
    file = beside && fs.existsSync(beside) ? beside : undefined
    if (!file) {
      try {
        file = resolve(platformPackage())
      } catch {
        file = undefined
      }
    }
  }
  const problem = file ? nativeFileProblem(fs, file) : null
  if (problem) throw new Error(problem)
}

const WARNED = Symbol.for('next-skew-guard.native-warning')

function loadBackend(): Backend {
  if (process.env.NEXT_SKEW_GUARD_BACKEND === 'js') return createJsBackend(nodeCrypto)
  try {
    assertNativeFileComplete()
    return createNativeBackend(require('next-skew-guard-native'))
  } catch (e) {
    // Once per process: Next.js may load this module in several bundles.
    const g = globalThis as unknown as Record<symbol, boolean | undefined>
    if (!g[WARNED]) {
      g[WARNED] = true
      const pkg = platformPackage()
      const message = (e as Error).message
      const reason = /Cannot find module 'next-skew-guard-native'/.test(message)
        ? 'the package next-skew-guard-native is not installed'
        : /Cannot find native binding/.test(message)
          ? `neither the package ${pkg} nor a next-skew-guard.*.node file beside next-skew-guard-native is installed`
          : `it did not load: ${message.split('\n')[0]}`
      process.emitWarning(
        `next-skew-guard: no usable native binary for ${process.platform}-${process.arch} (${reason}); using the JS backend ` +
          '(node:crypto), which gives the same results, a few microseconds slower per check. To get the binary, install ' +
          `${pkg} (from the registry, or the tarball \`npm run pack\` made in a checkout), or build it from source with a Rust ` +
          'toolchain (`npm run build:native`). Set NEXT_SKEW_GUARD_BACKEND=js to use the JS backend on purpose and silence this message.',
        { type: 'NextSkewGuardWarning', code: 'NEXT_SKEW_GUARD_NATIVE_UNAVAILABLE' },
      )
    }
    return createJsBackend(nodeCrypto)
  }
}

const impl = loadBackend()
const core = createCore(impl)

/** Which implementation is active: the Rust core (`'native'`), or `'js'` (`node:crypto` on Node without the binary, WebCrypto on Edge). */
export const backend: BackendName = impl.name

/**
 * The current Server Actions key plus previous keys still accepted after a
 * rotation. Verifies, opens and seals Next.js bound-args payloads (the
 * encrypted closure arguments of inline Server Actions) in the format of
 * Next.js 14, 15 and 16. Key material stays inside: only check values appear
 * in `util.inspect`, `JSON.stringify` and error messages.
 *
 * @example
 * const keyring = Keyring.fromEnv() // NEXT_SERVER_ACTIONS_ENCRYPTION_KEY + SKEW_GUARD_PREVIOUS_KEYS
 * const result = keyring.verifySync(payload, actionId)
 * if (result.status === 'previous-key') // the tab predates a key rotation: ask it to refresh
 */
export class Keyring extends KeyringBase {
  protected static override backendImpl: Backend = impl
}

/**
 * A new random key from the operating system's CSPRNG, as canonical base64:
 * the value for `NEXT_SERVER_ACTIONS_ENCRYPTION_KEY`.
 * @param bytes 16, 24 or 32 (default; what Next.js itself generates).
 */
export function generateKey(bytes: 16 | 24 | 32 = 32): string {
  return core.generateKey(bytes)
}

/**
 * Parses a key exactly as Next.js reads `NEXT_SERVER_ACTIONS_ENCRYPTION_KEY`
 * (`atob`: whitespace ignored, padding optional; 16, 24 or 32 bytes). Throws a
 * {@link SkewGuardError} for anything Next.js would reject, with a code such as
 * `ERR_KEY_HEX` or `ERR_KEY_LENGTH` and a message that says how to fix it.
 */
export function parseKey(key: string): KeyInfo {
  return core.parseKey(key)
}

/**
 * Checks a key without throwing (except for a non-string): everything
 * {@link parseKey} rejects, public and degenerate keys (errors), and forms
 * Next.js accepts that are probably mistakes (warnings: whitespace, missing
 * padding, hex-looking, shorter than 32 bytes).
 */
export function checkKey(key: string): KeyCheckReport {
  return core.checkKey(key)
}

/**
 * The key check value: 6 hex digits of AES(key, zero block). Compare keys
 * across machines and logs without revealing them. Throws like {@link parseKey}.
 */
export function keyCheckValue(key: string): string {
  return core.keyCheckValue(key)
}

/**
 * Compares a client's build ID with the server's. Absent or empty on either
 * side is `'unknown'`, never `'same'`. Constant-time for equal lengths.
 */
export function compareBuildIds(client: string | null | undefined, server: string | null | undefined): BuildIdComparison {
  return core.compareBuildIds(client, server)
}

/**
 * Whether a tab loaded before a key rotation must reload now: true when it
 * loaded before `rotatedAt` and `noticeMs` have passed since. Until then its
 * payloads still verify as `previous-key`.
 */
export function shouldForceRefresh(options: ForceRefreshOptions): boolean {
  return core.shouldForceRefresh(options)
}

export * from './exports'
