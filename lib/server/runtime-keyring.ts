/**
 * The keyring the guard checks closure payloads with, from the server's environment.
 */

import { ENV_PREVIOUS_KEYS, Keyring } from '../core'
import { recordConfigError } from './events'

/**
 * `Keyring.fromEnv()`; when only `SKEW_GUARD_PREVIOUS_KEYS` is broken, the current key alone:
 * Next.js never reads that list, so its actions keep working, and so should the checks of
 * payloads sealed with the current key. Null when the current key itself is unusable. Problems
 * are reported once (`register()` names the broken entry too).
 */
export function runtimeKeyring(env: NodeJS.ProcessEnv = process.env): Keyring | null {
  try {
    return Keyring.fromEnv(env)
  } catch (e) {
    const err = e as Error & { code?: string }
    let current: Keyring | null = null
    if (env[ENV_PREVIOUS_KEYS]) {
      try {
        current = Keyring.fromEnv({ ...env, [ENV_PREVIOUS_KEYS]: '' })
      } catch {
        current = null
      }
    }
    recordConfigError(
      err.code ?? 'ERR_KEY',
      current
        ? `${err.message} Closure payloads are checked against the current key only until it is fixed.`
        : `${err.message} Closure payload checks are off.`,
    )
    return current
  }
}
