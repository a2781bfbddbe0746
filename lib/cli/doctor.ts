/**
 * `next-skew-guard doctor [dir]`: one screen about an app and its build, each finding with its fix.
 */

import { spawnSync } from 'node:child_process'
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

/** What {@link loadedConfig} reads off the app's resolved Next.js config. */
export interface LoadedConfig {
  distDir: string
  deploymentId: string | null
  /** Whether the config has a `generateBuildId` of its own (Next.js's default returns null). */
  ownBuildId: boolean
}

/**
 * The app's config as `next start` resolves it (env vars, config functions, withSkewGuard), loaded
 * by the app's own Next.js in a child process so that evaluating it cannot touch this one. Null
 * when it cannot be loaded (Next.js not installed, a config that throws); the caller falls back to
 * reading the file.
 */
export function loadedConfig(dir: string, env: Record<string, string | undefined>): LoadedConfig | null {
  const script = `
    const { createRequire } = require('node:module')
    const req = createRequire(require('node:path').join(process.cwd(), 'package.json'))
    const m = req('next/dist/server/config.js')
    const load = m.default || m.loadConfig
    const log = console.log
    for (const k of ['log', 'info', 'warn', 'error']) console[k] = () => {}
    load('phase-production-server', process.cwd()).then((c) => {
      let own = false
      try { own = typeof c.generateBuildId === 'function' && c.generateBuildId() !== null } catch { own = true }
      process.stdout.write(JSON.stringify({ distDir: c.distDir, deploymentId: c.deploymentId || null, ownBuildId: own }))
    }, () => process.exit(3))`
  // The key and the identity variables stay out: the config is only read, not built.
  const childEnv = { ...env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' }
  const r = spawnSync(process.execPath, ['-e', script], { cwd: dir, env: childEnv as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 30_000 })
  if (r.status !== 0) return null
  try {
    const value = JSON.parse(r.stdout) as LoadedConfig
    return typeof value.distDir === 'string' ? value : null
  } catch {
    return null
  }
}

const EXT = ['ts', 'js', 'mjs', 'cjs', 'tsx', 'jsx', 'mts', 'cts']
const withExt = (base: string) => EXT.map((e) => `${base}.${e}`)

/** Builds the report for an app directory. `env` is the environment the app will run with. */
export function doctor(dirArg: string, env: Record<string, string | undefined> = process.env, distDirArg?: string): DoctorReport {
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
      fix: declared ? "Run your package manager's install." : 'Run doctor in the Next.js app directory.',
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

  // Build: where Next.js puts it (the loaded config: an env var or a function may set distDir).
  const configFile = firstExisting(
    dir,
    withExt('next.config').filter((f) => !f.endsWith('x')),
  )
  const config = configFile ? (read(configFile) ?? '') : ''
  const loaded = distDirArg === undefined && nextVersion ? loadedConfig(dir, env) : null
  const distMatch = /distDir\s*:\s*['"`]([^'"`]+)['"`]/.exec(config)
  const distDir = path.resolve(dir, distDirArg ?? loaded?.distDir ?? distMatch?.[1] ?? '.next')
  if (!fs.existsSync(path.join(distDir, 'BUILD_ID'))) {
    add({
      status: 'warn',
      check: 'build',
      message: `no build in ${path.relative(dir, distDir) || '.'}`,
      fix: 'Run `next build` to check the build too.',
    })
  } else {
    const buildId = (read(path.join(distDir, 'BUILD_ID')) ?? '').trim()
    add(buildIdentityFinding(buildId, /withSkewGuard/.test(config), loaded?.ownBuildId ?? /generateBuildId/.test(config)))
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
        ? {
            status: 'ok',
            check: 'externals',
            message: wrapped ? 'withSkewGuard adds next-skew-guard-native' : 'next-skew-guard-native listed',
          }
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
    add({
      status: 'fail',
      check: 'guard',
      message: `${path.relative(dir, hook)} does not use next-skew-guard/proxy`,
      fix: 'Wrap it: skewGuard({ next: yourProxy })',
    })
  } else if (proxy) {
    add({ status: 'ok', check: 'guard', message: `${path.relative(dir, proxy)} (Node runtime): every check runs` })
  } else if (/runtime\s*:\s*['"`]nodejs['"`]/.test(hookText)) {
    add({ status: 'ok', check: 'guard', message: `${path.relative(dir, middleware!)} on the Node runtime: every check runs` })
  } else {
    add({
      status: 'warn',
      check: 'guard',
      message:
        `${path.relative(dir, middleware!)} runs on Edge: its checks rely on the server process handing it the build's action IDs ` +
        'and keyring (withSkewGuard under next start, register() in a standalone server); Edge hosted elsewhere gets fewer checks',
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

  // The client guard: <SkewGuard /> rendered from the root layout (directly or through a component).
  const appDir = ['src/app', 'app'].map((d) => path.join(dir, d)).find((d) => fs.existsSync(d)) ?? null
  const sources = appDir ? sourceFiles(dir) : []
  const texts = new Map(sources.map((f) => [f, read(f) ?? '']))
  const guardFiles = [...texts].filter(([, t]) => /next-skew-guard\/react/.test(t) && /<SkewGuard\b/.test(t)).map(([f]) => f)
  const layout = appDir ? firstExisting(appDir, ['layout.tsx', 'layout.jsx', 'layout.js', 'layout.ts']) : null
  const layoutText = layout ? (texts.get(layout) ?? read(layout) ?? '') : ''
  const rendered =
    guardFiles.includes(layout ?? '') ||
    guardFiles.some((f) => {
      const name = path.basename(f).replace(/\.[^.]+$/, '')
      return new RegExp(`from\\s+['"\`][^'"\`]*${name}['"\`]`).test(layoutText)
    })
  if (!appDir) {
    add({ status: 'info', check: 'client guard', message: 'no App Router (app/): Server Actions and <SkewGuard /> need it' })
  } else {
    add(
      rendered
        ? {
            status: 'ok',
            check: 'client guard',
            message: `<SkewGuard /> in ${path.relative(dir, guardFiles.includes(layout ?? '') ? layout! : guardFiles[0])}, rendered by the root layout`,
          }
        : {
            status: 'fail',
            check: 'client guard',
            message: guardFiles.length
              ? `<SkewGuard /> in ${path.relative(dir, guardFiles[0])}, but the root layout does not render it`
              : 'no <SkewGuard /> in the app',
            fix: "Render <SkewGuard /> (import { SkewGuard } from 'next-skew-guard/react') inside <body> of the root layout, or run `npx next-skew-guard init`.",
          },
    )
  }

  // Safe actions: their results are only read correctly through callSafeAction/useSafeAction.
  const safeServer = [...texts].filter(([, t]) => /\bcreateSafeAction\s*\(/.test(t)).map(([f]) => f)
  if (safeServer.length) {
    const called = [...texts].some(([, t]) => /\b(callSafeAction|useSafeAction)\b/.test(t))
    add(
      called
        ? {
            status: 'ok',
            check: 'safe actions',
            message: `createSafeAction in ${safeServer.length} file(s), called through callSafeAction/useSafeAction`,
          }
        : {
            status: 'warn',
            check: 'safe actions',
            message:
              'createSafeAction is used, but nothing calls callSafeAction or useSafeAction: a call that did not run is not told apart on the client',
            fix: "Call safe actions through callSafeAction(action, ...args) or useSafeAction(action) from 'next-skew-guard/action'.",
          },
    )
  }
  return { dir, nextVersion, findings, ok: !findings.some((f) => f.status === 'fail') }
}

/** The app's source files under `root` (no node_modules, no build output), at most a few thousand. */
function sourceFiles(root: string): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    if (out.length > 5000) return
    let entries: fs.Dirent[]
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      if (entry.name === 'node_modules' || entry.name === 'public' || entry.name.startsWith('.')) continue
      const file = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(file)
      else if (/\.(tsx?|jsx?|mjs|cjs|mts|cts)$/.test(entry.name)) out.push(file)
    }
  }
  walk(root)
  return out
}

/** Where a build's identity came from, said truthfully from what the build and the config show. */
export function buildIdentityFinding(buildId: string, wrapped: boolean, ownBuildId: boolean): Finding {
  const check = 'build identity'
  if (buildId === 'build-TfctsWXpff2fKS') {
    return {
      status: 'fail',
      check,
      message: `BUILD_ID ${buildId} is Next.js 16's constant: a deploymentId is set without generateBuildId, so every build has the same identity and skew between builds goes unseen`,
      fix: 'Wrap the config with withSkewGuard (it supplies generateBuildId), or add your own generateBuildId.',
    }
  }
  if (!wrapped) {
    return ownBuildId
      ? {
          status: 'warn',
          check,
          message: `BUILD_ID ${buildId} from your generateBuildId, but the client bundle does not know it`,
          fix: 'Wrap the config with withSkewGuard (next-skew-guard/config).',
        }
      : {
          status: 'warn',
          check,
          message: `BUILD_ID ${buildId} is random per build`,
          fix: 'Wrap the config with withSkewGuard (next-skew-guard/config).',
        }
  }
  if (/^b-[0-9a-f]{16}$/.test(buildId)) {
    return {
      status: 'warn',
      check,
      message: `BUILD_ID ${buildId} is a random identity: the build had no generateBuildId, no SKEW_GUARD_BUILD_ID and no git commit`,
      fix: 'Build from a git checkout, set SKEW_GUARD_BUILD_ID (e.g. to the commit) at build time, or pass withSkewGuard(config, { buildId }).',
    }
  }
  if (ownBuildId) return { status: 'ok', check, message: `BUILD_ID ${buildId}, from your generateBuildId` }
  if (/^git-[0-9a-f]{16}$/.test(buildId)) return { status: 'ok', check, message: `BUILD_ID ${buildId}, derived from the git commit` }
  return { status: 'ok', check, message: `BUILD_ID ${buildId}, fixed at build time (SKEW_GUARD_BUILD_ID or the buildId option)` }
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
