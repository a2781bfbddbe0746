/**
 * `withSkewGuard(nextConfig, options)`: the `next.config` wrapper.
 *
 * - adds the native core, `next-skew-guard-native`, to the server externals (14:
 *   `experimental.serverComponentsExternalPackages` plus `experimental.instrumentationHook`; 15+:
 *   `serverExternalPackages`), because a `.node` addon cannot be bundled;
 * - fixes one build identity that the server (`.next/BUILD_ID`) and the client bundle
 *   (`NEXT_PUBLIC_SKEW_GUARD_BUILD_ID`) both know;
 * - fails a production build whose Server Actions key is missing or invalid, with the fix.
 */

import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'

import { checkKey } from '../core'
import { BUILD_ID_ENV, DIST_DIR_ENV, nextMajor } from '../server/build-info'
import { publishForEdge } from '../server/edge-bridge'
import { CLIENT_BUILD_ENV } from '../shared/protocol'

/**
 * Only the native loader is external. Listing `next-skew-guard` itself would make Next.js
 * `require()` its `'use client'` modules on the server instead of bundling them as client
 * references, which breaks `<SkewGuard />` on 14, 15 and 16 (see docs/DECISIONS.md).
 */
const PACKAGE = 'next-skew-guard-native'
const PHASE_BUILD = 'phase-production-build'
const PHASE_SERVER = 'phase-production-server'

/** Options of {@link withSkewGuard}. */
export interface SkewGuardConfigOptions {
  /**
   * The build identity. Default: `SKEW_GUARD_BUILD_ID`, else the commit from common CI variables
   * (`GIT_COMMIT`, `SOURCE_COMMIT`, `GITHUB_SHA`, `CI_COMMIT_SHA`, `VERCEL_GIT_COMMIT_SHA`), else
   * `git rev-parse HEAD`, else a random ID per build. Your own `generateBuildId` wins over all of these.
   */
  buildId?: string
  /**
   * Fail `next build` when `NEXT_SERVER_ACTIONS_ENCRYPTION_KEY` is missing, invalid, public or
   * degenerate. Default true. Set false only if you pin the key some other way and know why.
   */
  requireKey?: boolean
  /** The Next.js major the config is for. Default: read from the installed `next`. */
  nextMajor?: number
}

/** A Next.js config object (only the fields this wrapper touches are typed). */
export interface NextConfigObject {
  distDir?: string
  env?: Record<string, string | undefined>
  generateBuildId?: () => string | null | Promise<string | null>
  serverExternalPackages?: string[]
  experimental?: Record<string, unknown> & { serverComponentsExternalPackages?: string[]; instrumentationHook?: boolean }
  [key: string]: unknown
}

/** A Next.js config: an object, or a (possibly async) function of the phase. */
export type NextConfigInput =
  | NextConfigObject
  | ((phase: string, context: { defaultConfig: NextConfigObject }) => NextConfigObject | Promise<NextConfigObject>)

const OPTION_KEYS = ['buildId', 'requireKey', 'nextMajor'] as const

/** Thrown for a misconfiguration the build must not continue with. */
export class SkewGuardConfigError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'SkewGuardConfigError'
    this.code = code
  }
}

function validateOptions(options: unknown): SkewGuardConfigOptions {
  if (options === undefined) return {}
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw Object.assign(new TypeError('withSkewGuard options must be an object.'), { code: 'ERR_INVALID_ARG_TYPE' })
  }
  for (const key of Object.keys(options)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) {
      throw Object.assign(
        new TypeError(`Unknown withSkewGuard option "${key}". Valid options: ${OPTION_KEYS.join(', ')}.`),
        { code: 'ERR_UNKNOWN_OPTION' },
      )
    }
  }
  const o = options as SkewGuardConfigOptions
  if (o.buildId !== undefined && (typeof o.buildId !== 'string' || !/^[\w.-]{1,128}$/.test(o.buildId))) {
    throw Object.assign(
      new TypeError('withSkewGuard option buildId must be 1-128 characters of letters, digits, "_", "." or "-".'),
      { code: 'ERR_INVALID_ARG_VALUE' },
    )
  }
  if (o.requireKey !== undefined && typeof o.requireKey !== 'boolean') {
    throw Object.assign(new TypeError('withSkewGuard option requireKey must be a boolean.'), { code: 'ERR_INVALID_ARG_TYPE' })
  }
  if (o.nextMajor !== undefined && !(Number.isInteger(o.nextMajor) && o.nextMajor >= 14)) {
    throw Object.assign(new TypeError('withSkewGuard option nextMajor must be 14, 15, 16 or later.'), {
      code: 'ERR_INVALID_ARG_VALUE',
    })
  }
  return o
}

function gitCommit(): string | undefined {
  for (const name of ['GIT_COMMIT', 'SOURCE_COMMIT', 'GITHUB_SHA', 'CI_COMMIT_SHA', 'VERCEL_GIT_COMMIT_SHA']) {
    const value = process.env[name]
    if (value && /^[\w.-]{1,128}$/.test(value)) return value.slice(0, 40)
  }
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
      .toString()
      .trim()
      .slice(0, 40) || undefined
  } catch {
    return undefined
  }
}

/**
 * Where the identity chosen for this build is kept. Next.js loads the config again in every
 * webpack compiler worker (the config is not serialisable); workers inherit `process.env`, so
 * the first load's choice reaches all of them instead of each worker picking its own.
 */
const RESOLVED_ENV = '__SKEW_GUARD_RESOLVED_BUILD_ID'
const BUILD_ID_SHAPE = /^[\w.-]{1,128}$/

/** The identity for this build: explicit, pinned, commit, or random; the same in every worker. */
async function resolveBuildId(config: NextConfigObject, options: SkewGuardConfigOptions): Promise<string> {
  const resolved = process.env[RESOLVED_ENV]
  if (resolved) return resolved
  let buildId: string | undefined
  if (typeof config.generateBuildId === 'function') {
    const own = await config.generateBuildId()
    if (typeof own === 'string' && own) buildId = own
  }
  // `||`, not `??`: a Dockerfile `ENV SKEW_GUARD_BUILD_ID=$ARG` without the build-arg sets ''.
  const pinned = process.env[BUILD_ID_ENV]
  if (pinned && !BUILD_ID_SHAPE.test(pinned)) {
    throw new SkewGuardConfigError(
      'ERR_BUILD_ID',
      `${BUILD_ID_ENV} must be 1-128 characters of letters, digits, "_", "." or "-"; got ${JSON.stringify(pinned.slice(0, 40))}.`,
    )
  }
  buildId ||= options.buildId || pinned || gitCommit() || `b-${randomBytes(8).toString('hex')}`
  process.env[RESOLVED_ENV] = buildId
  return buildId
}

/**
 * Fails the build with the exact reason when the key would break Server Actions across deploys.
 * Next.js 14 ignores the key at build time (only the runtime key counts), so there it only warns.
 */
function assertBuildKey(major: number | null): void {
  const key = process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY
  const optOut = 'If you really pin the key another way, pass withSkewGuard(config, { requireKey: false }).'
  if (major === 14) {
    const report = key ? checkKey(key) : null
    if (!report) {
      console.warn('[next-skew-guard] Next.js 14 reads NEXT_SERVER_ACTIONS_ENCRYPTION_KEY only at runtime: set it for `next start`.')
    } else {
      for (const f of [...report.errors, ...report.warnings]) console.warn(`[next-skew-guard] NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: ${f.message}`)
    }
    return
  }
  if (key === undefined || key === '') {
    const why =
      major === 14
        ? 'Next.js 14 then encrypts closure arguments with a random key per build, so after every deploy open tabs fail with an OperationError.'
        : 'Next.js then generates a random key per build (always inside Docker), which changes every Server Action ID: after every deploy, open tabs hit "Failed to find Server Action".'
    throw new SkewGuardConfigError(
      'ERR_KEY_MISSING',
      `NEXT_SERVER_ACTIONS_ENCRYPTION_KEY is not set for this production build. ${why} Generate a key once ` +
        "(`node -e \"console.log(require('next-skew-guard').generateKey())\"` or `openssl rand -base64 32`), store it as a " +
        `secret, and set it both at build time and at runtime. ${optOut}`,
    )
  }
  const report = checkKey(key)
  if (!report.ok) {
    const [first] = report.errors
    throw new SkewGuardConfigError(first.code, `NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: ${first.message} ${optOut}`)
  }
  for (const warning of report.warnings) {
    console.warn(`[next-skew-guard] NEXT_SERVER_ACTIONS_ENCRYPTION_KEY (check value ${report.checkValue}): ${warning.message}`)
  }
}

function withUnique(list: unknown, item: string): string[] {
  const items = Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : []
  return items.includes(item) ? items : [...items, item]
}

/** Applies the guard's settings to a resolved config object for one phase. */
async function apply(config: NextConfigObject, phase: string, options: SkewGuardConfigOptions): Promise<NextConfigObject> {
  const major = options.nextMajor ?? nextMajor()
  const out: NextConfigObject = { ...config }
  if (major === 14) {
    out.experimental = {
      ...config.experimental,
      serverComponentsExternalPackages: withUnique(config.experimental?.serverComponentsExternalPackages, PACKAGE),
      instrumentationHook: true,
    }
  } else {
    out.serverExternalPackages = withUnique(config.serverExternalPackages, PACKAGE)
    // A leftover 14-era key makes Next.js 15+ replace serverExternalPackages with it: add it there too.
    if (Array.isArray(config.experimental?.serverComponentsExternalPackages)) {
      out.experimental = {
        ...config.experimental,
        serverComponentsExternalPackages: withUnique(config.experimental.serverComponentsExternalPackages, PACKAGE),
      }
    }
  }
  // The server runtime reads BUILD_ID from here (custom distDir included).
  process.env[DIST_DIR_ENV] = config.distDir ?? '.next'
  // `next start` loads the config in the server process, before the Edge sandbox exists.
  if (phase === PHASE_SERVER) publishForEdge()
  if (phase === PHASE_BUILD) {
    const buildId = await resolveBuildId(config, options)
    // Only a real `next build` calls generateBuildId (not `next lint`/`typegen`, not the webpack
    // workers), so the key check lives here and fails exactly the builds it should.
    out.generateBuildId = () => {
      if (options.requireKey !== false) assertBuildKey(major)
      return buildId
    }
    // Inlined at build into every bundle, client and server alike.
    out.env = { ...config.env, [CLIENT_BUILD_ENV]: buildId, [BUILD_ID_ENV]: buildId }
  }
  return out
}

/**
 * Wraps a Next.js config (object or function). Keeps every setting of yours and returns a
 * config function, which Next.js 14, 15 and 16 all accept.
 *
 * @example
 * // next.config.mjs
 * import { withSkewGuard } from 'next-skew-guard/config'
 * export default withSkewGuard({ reactStrictMode: true })
 */
export function withSkewGuard(
  nextConfig: NextConfigInput = {},
  options?: SkewGuardConfigOptions,
): (phase: string, context: { defaultConfig: NextConfigObject }) => Promise<NextConfigObject> {
  const validated = validateOptions(options)
  if (typeof nextConfig !== 'function' && (typeof nextConfig !== 'object' || nextConfig === null)) {
    throw Object.assign(new TypeError('withSkewGuard expects your Next.js config object or function.'), {
      code: 'ERR_INVALID_ARG_TYPE',
    })
  }
  return async (phase, context) => {
    const base = typeof nextConfig === 'function' ? await nextConfig(phase, context) : nextConfig
    return apply(base ?? {}, phase, validated)
  }
}
