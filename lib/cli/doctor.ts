/**
 * `next-skew-guard doctor [dir]`: one screen about an app and its build, each finding with its fix.
 */

import * as fs from 'node:fs'
import * as path from 'node:path'

import { checkKey, keyCheckValue } from '../core'
import { ManifestError, appRequire, readActionManifest } from '../server/build-info'

/** One line of the report. */
export interface Finding {
  status: 'ok' | 'fail' | 'warn' | 'info'
  check: string
  message: string
  fix?: string
}

/** The whole report. */
export interface DoctorReport {
  dir: string
  nextVersion: string | null
  findings: Finding[]
  /** True when no finding failed. */
  ok: boolean
}

/** What each Next.js version does with a stale action call, without a guard. */
export function skewBehaviour(version: string): string {
  const [major, minor, patch] = version.split('.').map((n) => Number.parseInt(n, 10))
  if (major === 14) return 'silent: an unknown action resolves undefined (the page HTML comes back); closures fail with a 500'
  if (major === 15 && (minor < 4 || (minor === 4 && patch === 0))) {
    return 'silent: an unknown action resolves with no result; closures fail with a 500'
  }
  if (major === 15 && minor === 4) return 'untyped: an unknown action rejects with a plain Error (404 + x-nextjs-action-not-found)'
  if (major === 15) return 'typed: an unknown action rejects with UnrecognizedActionError (404)'
  if (major === 16 && minor < 4) return 'typed: UnrecognizedActionError (404)'
  if (major >= 16) return 'typed: UnrecognizedActionError (409 for a stale ID, 400 for a malformed one)'
  return 'unsupported version (next-skew-guard supports Next.js 14.2 and later)'
}

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return null
  }
}

function firstExisting(dir: string, names: string[]): string | null {
  for (const name of names) {
    for (const base of [dir, path.join(dir, 'src')]) {
      const file = path.join(base, name)
      if (fs.existsSync(file)) return file
    }
  }
  return null
}

const EXT = ['ts', 'js', 'mjs', 'cjs', 'tsx', 'jsx', 'mts', 'cts']
const withExt = (base: string) => EXT.map((e) => `${base}.${e}`)

/** Builds the report for an app directory. `env` is the environment the app will run with. */
export function doctor(
  dirArg: string,
  env: Record<string, string | undefined> = process.env,
  distDirArg?: string,
): DoctorReport {
  const dir = path.resolve(dirArg)
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new DoctorUsageError(`${dirArg}: no such directory.`)
  const pkg = read(path.join(dir, 'package.json'))
  if (pkg === null) throw new DoctorUsageError(`${dirArg}: not a Node.js project (no package.json).`)
  const findings: Finding[] = []
  const add = (f: Finding) => findings.push(f)

  // Resolved as Node resolves it from the app, so a monorepo's hoisted `next` is found too.
  let nextVersion: string | null = null
  try {
    nextVersion = (appRequire(dir)('next/package.json') as { version?: string }).version ?? null
  } catch {
    nextVersion = null
  }
  const major = nextVersion ? Number.parseInt(nextVersion, 10) : null
  if (!nextVersion) {
    const declared = /"next"\s*:/.test(pkg)
    add({
      status: 'fail',
      check: 'Next.js',
      message: declared ? 'next is declared but not installed' : 'next is not a dependency: this is not a Next.js app',
      fix: declared ? 'Run your package manager\'s install.' : 'Run doctor in the Next.js app directory.',
    })
  } else {
    add({ status: 'info', check: 'Next.js', message: `${nextVersion} — on skew without a guard: ${skewBehaviour(nextVersion)}` })
  }

  // Key: the environment first, then the .env files Next.js loads for production, in its order.
  let key = env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY
  let keySource = 'the environment'
  if (key === undefined) {
    for (const file of ['.env.production.local', '.env.local', '.env.production', '.env']) {
      const value = envFileValue(path.join(dir, file), 'NEXT_SERVER_ACTIONS_ENCRYPTION_KEY')
      if (value !== undefined) {
        key = value
        keySource = file
        break
      }
    }
  }
  let runtimeKcv: string | null = null
  if (key === undefined || key === '') {
    add({
      status: 'fail',
      check: 'key pinned',
      message: 'NEXT_SERVER_ACTIONS_ENCRYPTION_KEY is not set: every build gets a random key (always in Docker)',
      fix: 'Generate one with `npx next-skew-guard keygen` and set it at build time and at runtime.',
    })
  } else {
    const report = checkKey(key)
    runtimeKcv = report.checkValue ?? null
    if (!report.ok) {
      add({ status: 'fail', check: 'key valid', message: `${report.errors[0].code}: ${report.errors[0].message}` })
    } else {
      add({ status: 'ok', check: 'key valid', message: `${report.bytes}-byte key from ${keySource}, check value ${report.checkValue}` })
    }
    // Warnings, as `check` and withSkewGuard treat them: Next.js accepts these keys.
    for (const w of report.warnings) add({ status: 'warn', check: 'key canonical', message: `${w.code}: ${w.message}` })
  }

  // Build
  const configFile = firstExisting(dir, withExt('next.config').filter((f) => !f.endsWith('x')))
  const config = configFile ? (read(configFile) ?? '') : ''
  const distMatch = /distDir\s*:\s*['"`]([^'"`]+)['"`]/.exec(config)
  const distDir = path.resolve(dir, distDirArg ?? distMatch?.[1] ?? '.next')
  if (!fs.existsSync(path.join(distDir, 'BUILD_ID'))) {
    add({ status: 'warn', check: 'build', message: `no build in ${path.relative(dir, distDir) || '.'}`, fix: 'Run `next build` to check the build too.' })
  } else {
    const buildId = (read(path.join(distDir, 'BUILD_ID')) ?? '').trim()
    const stable = /withSkewGuard|generateBuildId/.test(config)
    add({
      status: stable ? 'ok' : 'warn',
      check: 'build identity',
      message: stable ? `BUILD_ID ${buildId}, set by your config` : `BUILD_ID ${buildId} is random per build`,
      ...(stable ? {} : { fix: 'Wrap the config with withSkewGuard (next-skew-guard/config).' }),
    })
    try {
      const manifest = readActionManifest(distDir)
      add({ status: 'info', check: 'actions', message: `${manifest.actions.size} Server Actions in the build` })
      const buildKcv = manifest.encryptionKey ? safeKcv(manifest.encryptionKey) : null
      if (major === 14) {
        add({ status: 'info', check: 'build key', message: 'Next.js 14 always writes a random build key; only the runtime key matters' })
      } else if (buildKcv && runtimeKcv) {
        add(
          buildKcv === runtimeKcv
            ? { status: 'ok', check: 'build key = runtime key', message: `both ${buildKcv}` }
            : {
                status: 'fail',
                check: 'build key = runtime key',
                message: `the build used key ${buildKcv}, the runtime has ${runtimeKcv}: closures fail and IDs do not match`,
                fix: 'Set the same NEXT_SERVER_ACTIONS_ENCRYPTION_KEY at build time and at runtime, then rebuild.',
              },
        )
      }
    } catch (e) {
      if (!(e instanceof ManifestError)) throw e
      add({ status: 'fail', check: 'manifest', message: e.message })
    }
  }

  // Externals
  const wrapped = /withSkewGuard/.test(config)
  const external = /next-skew-guard-native/.test(config)
  const wholeExternal = /['"`]next-skew-guard['"`]/.test(config) && /ExternalPackages/.test(config)
  if (!configFile) {
    add({ status: 'fail', check: 'externals', message: 'no next.config file', fix: 'Create next.config.mjs with withSkewGuard.' })
  } else if (wholeExternal) {
    add({
      status: 'fail',
      check: 'externals',
      message: '"next-skew-guard" itself is in the externals: its client components then break the build',
      fix: 'List only "next-skew-guard-native" (or use withSkewGuard).',
    })
  } else {
    add(
      wrapped || external
        ? { status: 'ok', check: 'externals', message: wrapped ? 'withSkewGuard adds next-skew-guard-native' : 'next-skew-guard-native listed' }
        : {
            status: 'fail',
            check: 'externals',
            message: `next-skew-guard-native is not in ${major === 14 ? 'experimental.serverComponentsExternalPackages' : 'serverExternalPackages'}`,
            fix: 'Wrap the config with withSkewGuard, or list next-skew-guard-native yourself.',
          },
    )
  }

  // Where the guard runs: proxy.ts exists from Next.js 16 on; before, only middleware.ts counts.
  const proxyFile = firstExisting(dir, withExt('proxy'))
  const middleware = firstExisting(dir, withExt('middleware'))
  const proxy = major !== null && major < 16 ? null : proxyFile
  const hook = proxy ?? middleware
  const hookText = hook ? (read(hook) ?? '') : ''
  if (proxy && middleware) {
    add({
      status: 'fail',
      check: 'guard',
      message: `both ${path.relative(dir, proxy)} and ${path.relative(dir, middleware)}: Next.js 16 refuses to build with both`,
      fix: 'Keep proxy.ts only.',
    })
  } else if (!hook) {
    add({
      status: 'fail',
      check: 'guard',
      message: 'no proxy.ts or middleware.ts',
      fix: major !== null && major >= 16 ? 'Add proxy.ts: export const proxy = skewGuard()' : 'Add middleware.ts with skewGuard()',
    })
  } else if (!/next-skew-guard\/proxy/.test(hookText)) {
    add({ status: 'fail', check: 'guard', message: `${path.relative(dir, hook)} does not use next-skew-guard/proxy`, fix: 'Wrap it: skewGuard({ next: yourProxy })' })
  } else if (proxy) {
    add({ status: 'ok', check: 'guard', message: `${path.relative(dir, proxy)} (Node runtime): every check runs` })
  } else if (/runtime\s*:\s*['"`]nodejs['"`]/.test(hookText)) {
    add({ status: 'ok', check: 'guard', message: `${path.relative(dir, middleware!)} on the Node runtime: every check runs` })
  } else {
    add({
      status: 'warn',
      check: 'guard',
      message: `${path.relative(dir, middleware!)} runs on Edge: no unknown-action check (it needs the manifest on disk)`,
      fix: major === 14 ? 'Upgrade to Next.js 15.5+ for Node middleware.' : "Add `export const config = { runtime: 'nodejs' }`.",
    })
  }

  // Instrumentation
  const instrumentation = firstExisting(dir, withExt('instrumentation'))
  const instrumented = instrumentation && /next-skew-guard\/instrumentation/.test(read(instrumentation) ?? '')
  add(
    instrumented
      ? { status: 'ok', check: 'instrumentation', message: `${path.relative(dir, instrumentation!)} registers the guard` }
      : {
          status: 'fail',
          check: 'instrumentation',
          message: instrumentation ? `${path.relative(dir, instrumentation)} does not use next-skew-guard` : 'no instrumentation.ts',
          fix: "export { register, onRequestError } from 'next-skew-guard/instrumentation'",
        },
  )
  return { dir, nextVersion, findings, ok: !findings.some((f) => f.status === 'fail') }
}

/** The value of `name` in a dotenv file (last assignment wins, as in dotenv), quotes removed. */
function envFileValue(file: string, name: string): string | undefined {
  const text = read(file)
  if (text === null) return undefined
  let value: string | undefined
  for (const line of text.split(/\r?\n/)) {
    const m = new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=\\s*(.*)$`).exec(line)
    if (!m) continue
    const raw = m[1].trim()
    const quoted = /^(['"`])(.*)\1$/.exec(raw)
    value = quoted ? quoted[2] : raw.replace(/\s+#.*$/, '')
  }
  return value
}

function safeKcv(key: string): string | null {
  try {
    return keyCheckValue(key)
  } catch {
    return null
  }
}

/** A problem with the arguments (exit 2) rather than with the app. */
export class DoctorUsageError extends Error {}
