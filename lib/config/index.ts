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
import { createHash, randomBytes } from 'node:crypto'
import { lstatSync, readFileSync, realpathSync } from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

import { checkKey } from '../core'
import { BUILD_ID_ENV, DIST_DIR_ENV, nextMajor, nextStartDir } from '../server/build-info'
import { publishForEdge } from '../server/edge-bridge'
import { SkewGuardOptionError, bool, checkOptions, describe, either, literal, matching, type Check } from '../shared/options'
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
   * The build identity, used as is. Default: `SKEW_GUARD_BUILD_ID` (as is), else an identity
   * derived from the commit (common CI variables `GIT_COMMIT`, `SOURCE_COMMIT`, `GITHUB_SHA`,
   * `CI_COMMIT_SHA`, `VERCEL_GIT_COMMIT_SHA`, else `git rev-parse HEAD`): `git-` and 16 hex digits
   * of its SHA-256, stable per commit without publishing the commit itself (the identity is sent
   * in response headers and the health endpoint), else a random ID per build. Your own
   * `generateBuildId` wins over all of these (trimmed, as Next.js trims it).
   */
  buildId?: string
  /**
   * The Next.js `deploymentId` of this build (Next.js then sends it as `x-deployment-id` on action
   * and navigation requests and as `?dpl=` on static assets, which a version-routing proxy reads).
   * Default: your config's `deploymentId`, else `NEXT_DEPLOYMENT_ID`, else the build identity
   * (characters Next.js does not allow replaced by `-`). `false` leaves it unset.
   */
  deploymentId?: string | false
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
  deploymentId?: string
  env?: Record<string, string | undefined>
  generateBuildId?: () => string | null | Promise<string | null>
  serverExternalPackages?: string[]
  experimental?: Record<string, unknown> & { serverComponentsExternalPackages?: string[]; instrumentationHook?: boolean }
  [key: string]: unknown
}

/**
 * A Next.js config: an object, or a (possibly async) function of the phase. `C` is your config's
 * own type (Next.js's `NextConfig`, whose interfaces have no index signature), kept as it is.
 */
export type NextConfigInput<C extends object = NextConfigObject> = C | ((phase: string, context: { defaultConfig: C }) => C | Promise<C>)

/** What an identity set through the guard (option, env var) may contain. */
const BUILD_ID_SHAPE = /^[\w.-]{1,128}$/
/** What Next.js accepts as a `deploymentId` (it refuses anything else), kept short for proxy configs. */
const DEPLOYMENT_ID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/

/** Thrown for a misconfiguration the build must not continue with. */
export class SkewGuardConfigError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'SkewGuardConfigError'
    this.code = code
  }
}

const OPTION_CHECKS: Record<keyof SkewGuardConfigOptions, Check> = {
  buildId: matching(BUILD_ID_SHAPE, '1-128 characters of letters, digits, "_", "." or "-"'),
  deploymentId: either(
    literal(false),
    matching(DEPLOYMENT_ID_SHAPE, '1-64 characters of letters, digits, "_" or "-" (what Next.js accepts), or false'),
  ),
  requireKey: bool,
  nextMajor: (where, name, value) => {
    if (!(Number.isInteger(value) && (value as number) >= 14)) {
      throw new SkewGuardOptionError(
        'ERR_INVALID_ARG_VALUE',
        `${where}: "${name}" must be 14, 15, 16 or later; received ${describe(value)}.`,
      )
    }
  },
}

function gitCommit(): string | undefined {
  for (const name of ['GIT_COMMIT', 'SOURCE_COMMIT', 'GITHUB_SHA', 'CI_COMMIT_SHA', 'VERCEL_GIT_COMMIT_SHA']) {
    const value = process.env[name]
    if (value && BUILD_ID_SHAPE.test(value)) return value
  }
  try {
    return (
      execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
        .toString()
        .trim() || undefined
    )
  } catch {
    return undefined
  }
}

/**
 * The identity of a commit: stable across machines and rebuilds of the same commit, but not the
 * commit itself, which would tell anyone reading a response header which source version runs.
 */
export function commitIdentity(commit: string): string {
  return `git-${createHash('sha256').update(commit).digest('hex').slice(0, 16)}`
}

/**
 * Where the identity chosen for this build is kept. Next.js loads the config again in every
 * webpack compiler worker (the config is not serialisable); workers inherit `process.env`, so
 * the first load's choice reaches all of them instead of each worker picking its own.
 */
const RESOLVED_ENV = '__SKEW_GUARD_RESOLVED_BUILD_ID'
/**
 * What an app's own `generateBuildId` may return (after trimming): the identity travels in HTTP
 * headers and is compared byte for byte, so visible ASCII without separators or quotes.
 */
const APP_BUILD_ID_SHAPE = /^[^\s"'\\,;\x00-\x1f\x7f-\uffff]{1,128}$/

/**
 * The app's own `generateBuildId` result as Next.js uses it: `null` (Next.js picks a random ID),
 * else a string, trimmed as Next.js trims it. `git rev-parse HEAD` output keeps its newline;
 * inlining that untrimmed would make the client's identity differ from the server's forever.
 */
async function appBuildId(config: NextConfigObject): Promise<string | undefined> {
  if (typeof config.generateBuildId !== 'function') return undefined
  const own = await config.generateBuildId()
  if (own === null || own === undefined) return undefined
  if (typeof own !== 'string') {
    throw new SkewGuardConfigError(
      'ERR_BUILD_ID',
      `generateBuildId in your next.config must return a string or null; it returned ${typeof own}.`,
    )
  }
  const trimmed = own.trim()
  if (!APP_BUILD_ID_SHAPE.test(trimmed)) {
    throw new SkewGuardConfigError(
      'ERR_BUILD_ID',
      `generateBuildId in your next.config returned ${JSON.stringify(own.slice(0, 60))}${own.length > 60 ? '…' : ''}, which ` +
        'next-skew-guard cannot use as a build identity: it travels in HTTP headers, so it must be 1-128 visible ASCII ' +
        'characters without spaces, quotes, backslashes, commas or semicolons (a commit hash, a version, a timestamp). ' +
        'Return such a value, or remove generateBuildId to let the guard derive one from the commit.',
    )
  }
  return trimmed
}

/** A `deploymentId` Next.js accepts, derived from a build identity. */
function deploymentIdFor(buildId: string): string {
  const safe = buildId.replace(/[^A-Za-z0-9_-]/g, '-')
  return safe.length <= 64 ? safe : `${safe.slice(0, 47)}-${createHash('sha256').update(buildId).digest('hex').slice(0, 16)}`
}

/** The identity for this build: explicit, pinned, commit, or random; the same in every worker. */
async function resolveBuildId(config: NextConfigObject, options: SkewGuardConfigOptions): Promise<string> {
  const resolved = process.env[RESOLVED_ENV]
  if (resolved) return resolved
  let buildId = await appBuildId(config)
  // `||`, not `??`: a Dockerfile `ENV SKEW_GUARD_BUILD_ID=$ARG` without the build-arg sets ''.
  const pinned = process.env[BUILD_ID_ENV]
  if (pinned && !BUILD_ID_SHAPE.test(pinned)) {
    throw new SkewGuardConfigError(
      'ERR_BUILD_ID',
      `${BUILD_ID_ENV} must be 1-128 characters of letters, digits, "_", "." or "-"; got ${JSON.stringify(pinned.slice(0, 40))}.`,
    )
  }
  if (!buildId) {
    const commit = options.buildId || pinned ? undefined : gitCommit()
    buildId = options.buildId || pinned || (commit ? commitIdentity(commit) : `b-${randomBytes(8).toString('hex')}`)
  }
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
      for (const f of [...report.errors, ...report.warnings])
        console.warn(`[next-skew-guard] NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: ${f.message}`)
    }
    return
  }
  if (key === undefined || key === '') {
    throw new SkewGuardConfigError(
      'ERR_KEY_MISSING',
      'NEXT_SERVER_ACTIONS_ENCRYPTION_KEY is not set for this production build. Next.js then generates a random key per ' +
        'build (always inside Docker), which changes every Server Action ID: after every deploy, open tabs hit "Failed to ' +
        'find Server Action". Generate a key once ' +
        '(`node -e "console.log(require(\'next-skew-guard\').generateKey())"` or `openssl rand -base64 32`), store it as a ' +
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
/**
 * The directory of the next.config file that called `withSkewGuard`, read off the call stack:
 * Next.js loads that file from the project directory (`next.config.compiled.js` for a transpiled
 * next.config.ts), and passes the directory nowhere else the config could see it.
 */
export function configFileDir(stack: string | undefined): string | null {
  for (const line of (stack ?? '').split('\n')) {
    const match = /(?:\(|at )((?:file:\/\/)?[^()]*?[\\/]next\.config(?:\.compiled)?\.[cm]?[jt]s):\d+:\d+\)?\s*$/.exec(line)
    if (!match) continue
    try {
      return path.dirname(match[1].startsWith('file:') ? fileURLToPath(match[1]) : match[1])
    } catch {
      return null
    }
  }
  return null
}

/**
 * Refuses an install that links `next-skew-guard` to a source checkout (`npm install ../next-skew-guard`
 * makes a symlink): Next.js's bundlers do not build a package from a linked folder outside the
 * project (Turbopack fails with "Can't resolve 'next-skew-guard/action'"). Links into a package
 * manager's store (pnpm's `node_modules/.pnpm/…`) are installs like any other and pass.
 */
export function assertNotLinkedCheckout(projectDir: string): void {
  let dir = projectDir
  for (;;) {
    const candidate = path.join(dir, 'node_modules', 'next-skew-guard')
    let target: string | null = null
    try {
      if (lstatSync(candidate).isSymbolicLink()) target = realpathSync(candidate)
      else return
    } catch {
      target = null
    }
    if (target !== null) {
      if (target.split(path.sep).includes('node_modules')) return
      throw new SkewGuardConfigError(
        'ERR_LINKED_INSTALL',
        `next-skew-guard is installed as a link to the folder ${target} (what \`npm install <folder>\` does). Next.js cannot ` +
          "build a package from a linked source checkout (Turbopack: \"Can't resolve 'next-skew-guard/action'\"). In that " +
          'checkout run `npm run pack`, then install the tarballs it lists: `npm install <the .tgz files>`.',
      )
    }
    const parent = path.dirname(dir)
    if (parent === dir) return
    dir = parent
  }
}

/** The build's identity as written to disk, for `next start`, which loads the config again. */
function builtBuildId(dir: string): string | null {
  try {
    return readFileSync(path.join(dir, 'BUILD_ID'), 'utf8').trim() || null
  } catch {
    return null
  }
}

/** The deployment ID for this build (see {@link SkewGuardConfigOptions.deploymentId}), or undefined to leave it unset. */
function chooseDeploymentId(config: NextConfigObject, options: SkewGuardConfigOptions, buildId: string | null): string | undefined {
  if (options.deploymentId === false) return config.deploymentId
  return options.deploymentId || config.deploymentId || process.env.NEXT_DEPLOYMENT_ID || (buildId ? deploymentIdFor(buildId) : undefined)
}

async function apply(
  config: NextConfigObject,
  phase: string,
  options: SkewGuardConfigOptions,
  projectDir: string | null,
): Promise<NextConfigObject> {
  // The app's own Next.js, from its directory: `next build apps/web` runs in the monorepo root.
  const appDir = projectDir ?? nextStartDir() ?? process.cwd()
  const major = options.nextMajor ?? nextMajor(appDir)
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
  // The server runtime reads BUILD_ID and the manifest from here: absolute, because `next start
  // apps/web` runs in another working directory than the project.
  const dist = path.resolve(appDir, config.distDir ?? '.next')
  process.env[DIST_DIR_ENV] = dist
  if (phase === PHASE_SERVER) {
    // `next start` loads the config in the server process, before the Edge sandbox exists.
    publishForEdge(dist)
    const deploymentId = chooseDeploymentId(config, options, builtBuildId(dist))
    if (deploymentId) out.deploymentId = deploymentId
  }
  if (phase === PHASE_BUILD) {
    assertNotLinkedCheckout(appDir)
    const buildId = await resolveBuildId(config, options)
    const deploymentId = chooseDeploymentId(config, options, buildId)
    if (deploymentId) out.deploymentId = deploymentId
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
export function withSkewGuard<C extends object = NextConfigObject>(
  nextConfig: NextConfigInput<C> = {} as C,
  options?: SkewGuardConfigOptions,
): (phase: string, context: { defaultConfig: C }) => Promise<C> {
  const validated = checkOptions<SkewGuardConfigOptions>('withSkewGuard', options, OPTION_CHECKS)
  const projectDir = configFileDir(new Error().stack)
  if (typeof nextConfig !== 'function' && (typeof nextConfig !== 'object' || nextConfig === null)) {
    throw new SkewGuardOptionError(
      'ERR_INVALID_ARG_TYPE',
      `withSkewGuard expects your Next.js config object or function; received ${describe(nextConfig)}.`,
    )
  }
  return async (phase, context) => {
    const base = typeof nextConfig === 'function' ? await nextConfig(phase, context) : nextConfig
    // Only the fields NextConfigObject names are read or written; the rest is passed on untouched.
    return (await apply((base ?? {}) as NextConfigObject, phase, validated, projectDir)) as C
  }
}
