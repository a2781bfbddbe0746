// Prepares the example app (examples/next-app) for end-to-end tests against a real Next.js:
//
//   <work>/                       <NSG_E2E_ROOT or os.tmpdir()/nsg-e2e>/next-16 (NSG_E2E_DIR overrides)
//     tarballs/                   what `npm run pack` makes: the package, its native loader and this
//                                 machine's binary package (made fresh every run)
//     app/                        a work copy of examples/next-app; node_modules/ is kept between
//                                 runs (Next.js, React and TypeScript are installed once)
//     logs/                       build output of every variant
//     demo/, tarballs-demo/, logs-demo/   the same for `npm run demo` (prepareApp({ name: 'demo' })),
//                                 so the demo and the suite never rewrite each other's copy
//
// The package is installed the way a user installs it: from the packed tarballs, with npm, nothing
// copied by hand. A new work copy takes its dependencies from another of the same Next.js version
// when there is one (seedInstall), so Next.js is downloaded once per version.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

import { track } from '../child-registry.mjs'
import { LATEST, NEXT_MATRIX } from '../next-versions.mjs'
import { pack } from '../pack.mjs'
import { progress, step } from './log.mjs'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const EXAMPLE = path.join(ROOT, 'examples', 'next-app')
export const CHROMIUM = process.env.NSG_CHROMIUM || '/usr/bin/chromium'

/** Versions the Next.js 16 example is tested with (the app's package.json pins the same). */
export const VERSIONS = { next: LATEST.next, react: LATEST.react }

/**
 * The Next.js versions of the matrix suite (__test__/e2e-matrix.test.mjs), from
 * scripts/next-versions.json. Each key before 16 names an overlay directory,
 * examples/next-app/versions/<key>/, copied over the work copy after the v1 sources (its
 * package.json pins these versions; its middleware.ts replaces proxy.ts, which the harness
 * deletes), and the work copy, os.tmpdir()/nsg-e2e/next-<key>. 16 is the example as it is.
 */
export const MATRIX = Object.fromEntries(
  Object.entries(NEXT_MATRIX).map(([key, pins]) => [key, key === '16' ? { ...pins, overlay: false } : pins]),
)

/**
 * The environment for every child (npm, next build, next start): ours, minus anything that would
 * change what is tested. npm passes `npm_*` variables to `npm test`'s children; a nested npm
 * would read `npm_config_local_prefix` and friends as its own configuration, so they go. Keys,
 * build IDs, policies and dist dirs are always set explicitly by the caller.
 */
export function childEnv(extra = {}) {
  const env = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|NEXT_|__NEXT|SKEW_GUARD_|__SKEW_GUARD_|NODE_ENV$|NODE_OPTIONS$|INIT_CWD$|TURBOPACK)/i.test(name)) continue
    env[name] = value
  }
  return { ...env, NEXT_TELEMETRY_DISABLED: '1', PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1', ...extra }
}

/**
 * Runs a command to completion; resolves `{ code, output }` (stdout and stderr interleaved).
 * Runs in its own process group, killed as a whole when `timeoutMs` passes.
 */
export function run(command, args, { cwd, env = childEnv(), timeoutMs = 10 * 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }), command)
    let output = ''
    const collect = (chunk) => {
      output += chunk
    }
    child.stdout.setEncoding('utf8').on('data', collect)
    child.stderr.setEncoding('utf8').on('data', collect)
    const timer = setTimeout(() => {
      output += `\n[e2e] ${command} timed out after ${timeoutMs / 1000} s; killed.\n`
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(new Error(`could not start ${command}: ${error.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? (signal ? 128 : 1), output })
    })
  })
}

async function mustRun(title, command, args, options) {
  const { code, output } = await run(command, args, options)
  if (code !== 0) throw new Error(`${title} failed (exit ${code}):\n${output.slice(-8000)}`)
  return output
}

/** Installs Chromium from Debian when the system has none. Playwright never downloads a browser here. */
export async function ensureChromium() {
  if (fs.existsSync(CHROMIUM)) return CHROMIUM
  await step('installing Chromium (apt-get update && apt-get install -y chromium)', async () => {
    const env = childEnv({ DEBIAN_FRONTEND: 'noninteractive' })
    await mustRun('apt-get update', 'apt-get', ['update'], { env })
    await mustRun('apt-get install chromium', 'apt-get', ['install', '-y', 'chromium'], { env })
  })
  if (!fs.existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium, but ${CHROMIUM} does not exist`)
  return CHROMIUM
}

/**
 * Where the e2e work copies live, cached between runs: `NSG_E2E_ROOT` (npm test points it outside
 * the run's own temporary directory, which it removes), else os.tmpdir()/nsg-e2e.
 */
export function e2eRoot() {
  return process.env.NSG_E2E_ROOT || path.join(os.tmpdir(), 'nsg-e2e')
}

/** Where the e2e work copy for one Next.js major lives (cached between runs). */
export function workDir(major) {
  return process.env.NSG_E2E_DIR || path.join(e2eRoot(), `next-${major}`)
}

function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

/**
 * The tarballs a user installs, made by `npm run pack` (scripts/pack.mjs) from this checkout's
 * build: the package, the native loader and this machine's binary package. Returns their paths.
 */
async function packTarballs(dir, backend) {
  const { tarballs, native } = pack({ out: dir, build: false, log: () => {} })
  if (!native && backend === 'native') throw new Error('native/*.node is missing: run `npm run build:native` (npm test does) first')
  return tarballs
}

/**
 * Seeds a fresh work copy with the dependencies of another work copy of the same Next.js version
 * (copied, not linked: npm may rewrite them), so that every suite does not download Next.js again.
 */
export function seedInstall(appDir, pins) {
  const root = e2eRoot()
  let entries = []
  try {
    entries = fs.readdirSync(root)
  } catch {
    return false
  }
  for (const major of entries) {
    let copies = []
    try {
      copies = fs.readdirSync(path.join(root, major))
    } catch {
      continue
    }
    for (const name of copies) {
      const other = path.join(root, major, name)
      if (other === appDir) continue
      try {
        const version = JSON.parse(fs.readFileSync(path.join(other, 'node_modules', 'next', 'package.json'), 'utf8')).version
        const react = JSON.parse(fs.readFileSync(path.join(other, 'node_modules', 'react', 'package.json'), 'utf8')).version
        if (version !== pins.next || react !== pins.react) continue
        fs.cpSync(path.join(other, 'node_modules'), path.join(appDir, 'node_modules'), { recursive: true, verbatimSymlinks: true })
        if (fs.existsSync(path.join(other, 'package-lock.json')))
          fs.copyFileSync(path.join(other, 'package-lock.json'), path.join(appDir, 'package-lock.json'))
        return true
      } catch {
        fs.rmSync(path.join(appDir, 'node_modules'), { recursive: true, force: true })
      }
    }
  }
  return false
}

/**
 * Replaces the work copy's sources with the example's v1 sources. node_modules and the lockfile
 * stay (the install is cached); earlier build output goes. The overlays (v2/, plain/) are applied
 * by applyV2Overlay / applyPlainOverlay; reliability/ by the no-skew and recovery suites
 * (scripts/e2e/reliability.mjs).
 */
function syncSources(appDir, version = null) {
  fs.mkdirSync(appDir, { recursive: true })
  for (const entry of fs.readdirSync(appDir)) {
    if (entry === 'node_modules' || entry === 'package-lock.json') continue
    fs.rmSync(path.join(appDir, entry), { recursive: true, force: true })
  }
  fs.cpSync(EXAMPLE, appDir, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(EXAMPLE, src)
      return !/^(v2|plain|versions|reliability|node_modules|\.next[^/]*|next-env\.d\.ts)(\/|$)/.test(rel) && !rel.endsWith('.tsbuildinfo')
    },
  })
  if (version !== null) applyVersionOverlay(appDir, version)
}

/**
 * For a MATRIX version: Next.js before 16 has no proxy.ts, so it goes, and
 * examples/next-app/versions/<version>/ (package.json with that version's pins, middleware.ts, any
 * per-version source) is copied over the work copy.
 */
function applyVersionOverlay(appDir, version) {
  if (MATRIX[version]?.overlay === false) return
  const overlay = path.join(EXAMPLE, 'versions', String(version))
  if (!MATRIX[version] || !fs.existsSync(overlay)) throw new Error(`no Next.js version overlay ${overlay}`)
  fs.rmSync(path.join(appDir, 'proxy.ts'), { force: true })
  fs.cpSync(overlay, appDir, { recursive: true, force: true })
}

/**
 * Installs Next.js, React, TypeScript (from the app's package.json) and the tarballs into the work
 * copy, as a user installs them: `npm install <the tarballs npm run pack made>`. Nothing is copied
 * by hand; the binary comes from its platform package.
 */
export async function installTarballs(appDir, tarballs, expected) {
  // npm keys a file: dependency by path; drop the old copies so the new tarballs are unpacked.
  const modules = path.join(appDir, 'node_modules')
  for (const name of fs.existsSync(modules) ? fs.readdirSync(modules).filter((n) => n.startsWith('next-skew-guard')) : []) {
    fs.rmSync(path.join(appDir, 'node_modules', name), { recursive: true, force: true })
  }
  // The lockfile remembers where an earlier install took the platform package from: forget it, so a
  // set of tarballs without the binary (no Rust toolchain) installs as a registry install would.
  const lockfile = path.join(appDir, 'package-lock.json')
  if (fs.existsSync(lockfile)) {
    const lock = JSON.parse(fs.readFileSync(lockfile, 'utf8'))
    for (const key of Object.keys(lock.packages ?? {})) if (key.startsWith('node_modules/next-skew-guard')) delete lock.packages[key]
    fs.writeFileSync(lockfile, `${JSON.stringify(lock, null, 2)}\n`)
  }
  await mustRun('npm install', 'npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: appDir })
  // Proof that the app runs this checkout's code, not a stale install.
  for (const file of ['dist/proxy/guard.js', 'dist/react/policy.js', 'dist/action/client.js']) {
    const installed = path.join(appDir, 'node_modules', 'next-skew-guard', file)
    if (sha256(installed) !== sha256(path.join(ROOT, file))) throw new Error(`${installed} differs from the repo's ${file}`)
  }
  const backend = await run(process.execPath, ['-e', "console.log(`backend=${require('next-skew-guard').backend}`)"], { cwd: appDir })
  // stdout and stderr (the JS backend's warning) arrive interleaved: find the marker.
  const actual = /backend=(\w+)/.exec(backend.output)?.[1]
  if (actual !== expected)
    throw new Error(`the installed package runs on the ${actual || 'unknown'} backend, not the ${expected} one:\n${backend.output}`)
}

/**
 * Makes the work copy ready to build: sources, dependencies, the packed package. Returns
 * `{ dir, nextBin, work, logs }`. `name` picks the copy inside the work dir: `app` (the e2e suite;
 * its tarballs and logs in `tarballs/`, `logs/`) or another (`demo`: `demo/`, `tarballs-demo/`, `logs-demo/`).
 * `backend`: the core the installed package must run on: 'native' (the tarballs carry this
 * machine's binary), or 'js' (none was built: the demo on a machine without a Rust toolchain).
 * `keepBuilds`: leave the sources and build output of an earlier call as they are
 * (scripts/e2e/shared-builds.mjs serves builds an earlier suite of the run made).
 */
export async function prepareApp({ major = 16, name = 'app', version = null, backend = 'native', keepBuilds = false } = {}) {
  // `version`: a MATRIX key ('14', '15.3', '15.5'); its work copy is next-<version>.
  if (version !== null) major = String(version)
  const pins = version !== null ? MATRIX[version] : VERSIONS
  if (!pins) throw new Error(`unknown Next.js version ${version} (known: ${Object.keys(MATRIX).join(', ')})`)
  if (!fs.existsSync(path.join(ROOT, 'dist', 'core', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does) before the e2e suite')
  }
  const work = workDir(major)
  const suffix = name === 'app' ? '' : `-${name}`
  const dir = path.join(work, name)
  const logs = path.join(work, `logs${suffix}`)
  if (!keepBuilds) fs.rmSync(logs, { recursive: true, force: true })
  fs.mkdirSync(logs, { recursive: true })
  const tarballs = await step('packing next-skew-guard and next-skew-guard-native (npm pack)', () =>
    packTarballs(path.join(work, `tarballs${suffix}`), backend),
  )
  if (!keepBuilds) syncSources(dir, version)
  if (!fs.existsSync(path.join(dir, 'node_modules', 'next', 'package.json'))) {
    fs.mkdirSync(dir, { recursive: true })
    if (seedInstall(dir, pins)) progress(`${dir}: dependencies copied from another work copy of Next.js ${pins.next}`)
  }
  const fresh = !fs.existsSync(path.join(dir, 'node_modules', 'next', 'package.json'))
  await step(
    fresh
      ? `installing next@${pins.next}, react@${pins.react} and the tarballs into ${dir} (first run: a minute or two)`
      : `installing the tarballs into ${dir} (Next.js ${pins.next} cached)`,
    () => installTarballs(dir, tarballs, backend),
  )
  const installed = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', 'next', 'package.json'), 'utf8')).version
  if (installed !== pins.next) throw new Error(`expected next@${pins.next} in ${dir}, found ${installed}`)
  const react = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', 'react', 'package.json'), 'utf8')).version
  if (react !== pins.react) throw new Error(`expected react@${pins.react} in ${dir}, found ${react}`)
  return { dir, work, logs, version, nextBin: path.join(dir, 'node_modules', 'next', 'dist', 'bin', 'next') }
}

/** Copies examples/next-app/v2/** over the work copy: the second deploy's sources. */
export function applyV2Overlay(app) {
  fs.cpSync(path.join(EXAMPLE, 'v2'), app.dir, { recursive: true, force: true })
}

/** Puts the example's v1 sources back into the work copy (node_modules stays; earlier builds go). */
export function resetSources(app) {
  syncSources(app.dir, app.version ?? null)
}

/** The guard's touch points in the example that the plain Next.js variant does not have. */
export const GUARD_ONLY_FILES = ['proxy.ts', 'middleware.ts', 'instrumentation.ts', 'app/skew-banner.tsx', 'app/api/skew-stats']

/**
 * "Plain Next.js" (for `npm run demo`): the example with every next-skew-guard touch point switched
 * off. Deletes GUARD_ONLY_FILES and copies examples/next-app/plain/ (next.config without
 * withSkewGuard, a layout without <SkewGuard />, actions called directly, a plain /api/health route)
 * over the work copy; `version: 'v2'` adds plain/v2/ (greet renamed, shout changed, as v2/ does).
 * Fails when any source file of the result still mentions next-skew-guard.
 */
export function applyPlainOverlay(app, version = 'v1') {
  for (const file of GUARD_ONLY_FILES) fs.rmSync(path.join(app.dir, file), { recursive: true, force: true })
  const plain = path.join(EXAMPLE, 'plain')
  fs.cpSync(plain, app.dir, { recursive: true, force: true, filter: (src) => path.relative(plain, src).split(path.sep)[0] !== 'v2' })
  if (version === 'v2') fs.cpSync(path.join(plain, 'v2'), app.dir, { recursive: true, force: true })
  const touched = []
  const walk = (rel) => {
    for (const entry of fs.readdirSync(path.join(app.dir, rel), { withFileTypes: true })) {
      const file = path.join(rel, entry.name)
      if (entry.isDirectory() && !/^(node_modules|\.next.*)$/.test(entry.name)) walk(file)
      else if (entry.isFile() && /\.(tsx?|mjs|cjs|js)$/.test(entry.name)) {
        if (/(from|import|require\()\s*['"]next-skew-guard/.test(fs.readFileSync(path.join(app.dir, file), 'utf8'))) touched.push(file)
      }
    }
  }
  walk('')
  if (touched.length) throw new Error(`the plain Next.js variant still imports next-skew-guard in ${touched.join(', ')}`)
}

/** The actions of a build, from its manifest: export name → ID, plus the inline closure. */
export function readActions(app, distDir) {
  const file = path.join(app.dir, distDir, 'server', 'server-reference-manifest.json')
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8'))
  const ids = {}
  for (const [id, entry] of Object.entries(manifest.node)) {
    // 14's manifests carry no export names: only the ID list (actionIds) describes those builds.
    if (!entry.exportedName) continue
    if (/^\$\$RSC_SERVER_ACTION_\d+$/.test(entry.exportedName)) ids.readNote = id
    else ids[entry.exportedName] = id
  }
  return ids
}

/** Every action ID of a build (node ∪ edge), from its manifest. */
export function readActionIds(app, distDir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(app.dir, distDir, 'server', 'server-reference-manifest.json'), 'utf8'))
  return [...Object.keys(manifest.node), ...Object.keys(manifest.edge ?? {})]
}

/**
 * `next build` of the work copy's current sources into `distDir`. Resolves
 * `{ code, output, distDir, buildId, actions }`; with `expectFailure` a failed build resolves too.
 */
export async function build(app, { name, distDir, buildId, key, expectFailure = false }) {
  const env = childEnv({ NEXT_DIST_DIR: distDir, SKEW_GUARD_BUILD_ID: buildId, NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: key })
  const result = await step(`building ${name} (next build → ${distDir})`, () =>
    run(process.execPath, [app.nextBin, 'build'], { cwd: app.dir, env, timeoutMs: 5 * 60_000 }),
  )
  fs.writeFileSync(path.join(app.logs, `build-${name}.log`), result.output)
  if (expectFailure) return { ...result, distDir, buildId }
  if (result.code !== 0) throw new Error(`next build of ${name} failed (exit ${result.code}):\n${result.output.slice(-8000)}`)
  const written = fs.readFileSync(path.join(app.dir, distDir, 'BUILD_ID'), 'utf8').trim()
  if (written !== buildId) throw new Error(`${distDir}/BUILD_ID is ${written}, expected ${buildId} (withSkewGuard did not apply)`)
  progress(`${name}: build ${buildId}`)
  return { ...result, distDir, buildId, actions: readActions(app, distDir), actionIds: readActionIds(app, distDir) }
}
