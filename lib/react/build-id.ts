/**
 * The page's build identity. `withSkewGuard` (next-skew-guard/config) sets
 * `NEXT_PUBLIC_SKEW_GUARD_BUILD_ID`; Next.js replaces the literal expression
 * `process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID` with its value in the client
 * bundle at build time. So the expression must stay written out in full here:
 * `process.env[name]` or destructuring would not be inlined.
 */

function envBuildId(): string | undefined {
  try {
    return process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID
  } catch {
    // Not inlined and no `process` global (a bundler other than Next.js): unknown.
    return undefined
  }
}

/**
 * The build ID of the running page: `buildId` when given (a non-empty string), else the value
 * Next.js inlined from `NEXT_PUBLIC_SKEW_GUARD_BUILD_ID` at build time; `null` when neither is
 * known. Empty strings count as unknown, as in the core's `compareBuildIds`.
 */
export function getClientBuildId(buildId?: string | null): string | null {
  if (typeof buildId === 'string' && buildId !== '') return buildId
  const fromEnv = envBuildId()
  return typeof fromEnv === 'string' && fromEnv !== '' ? fromEnv : null
}

/**
 * The core's `compareBuildIds` semantics without the core (which the client bundle must not
 * import): absent or empty on either side is `'unknown'`, never a mismatch, because a missing
 * header or env var must not make every tab reload. Build IDs are public, so no constant-time
 * comparison is needed in the browser.
 */
export function compareBuildIds(client: string | null | undefined, server: string | null | undefined): 'same' | 'different' | 'unknown' {
  if (typeof client !== 'string' || typeof server !== 'string' || client === '' || server === '') return 'unknown'
  return client === server ? 'same' : 'different'
}
