/**
 * `next-skew-guard/instrumentation` when Next.js compiles `instrumentation.ts`
 * for the Edge runtime: `register()` has nothing to check there (no file
 * system, no native core) and `onRequestError` classifies as on Node.
 */

import { createOnRequestError } from './on-request-error'

export { getSkewStats, onSkew } from '../server/events'
export type { SkewEvent, SkewKind, SkewStats } from '../server/events'

/** No-op on Edge. */
export async function register(): Promise<undefined> {
  return undefined
}

/** See the Node entry. The build identity is the one inlined at build. */
export const onRequestError = createOnRequestError(() => process.env.SKEW_GUARD_BUILD_ID || null)
