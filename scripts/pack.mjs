#!/usr/bin/env node
// `npm run pack`: everything a user installs, as npm tarballs in pack/, laid out as a registry
// install would be:
//   next-skew-guard-<v>.tgz                   the package (dist/, bin/), depends on the native loader
//   next-skew-guard-native-<v>.tgz            the napi loader, with an optional dependency on every
//                                             platform package (as `napi prepublish` sets them)
//   next-skew-guard-native-<platform>-<v>.tgz this machine's binary package
// Install them together (`npm install pack/*.tgz`); npm then takes the platform package from its
// tarball instead of the registry. Builds what is missing first (the native module needs a Rust
// toolchain; without one the package still works on its JavaScript backend, and the platform
// tarball is left out, with a note).
//
//   node scripts/pack.mjs [--out DIR] [--quiet]
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const NATIVE = path.join(ROOT, 'native')

/** The napi platform directory name for this machine (`linux-x64-gnu`, `darwin-arm64`, …). */
export function platformDir(platform = process.platform, arch = process.arch) {
  if (platform === 'linux') {
    const glibc = process.report?.getReport?.().header?.glibcVersionRuntime
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', ...options })
  if (r.error) throw new Error(`could not start ${command}: ${r.error.message}`)
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (exit ${r.status}):\n${(r.stderr || r.stdout || '').slice(-4000)}`)
  return r.stdout
}

function hasCargo() {
  return spawnSync('cargo', ['--version'], { encoding: 'utf8' }).status === 0
}

/** `npm pack` of `dir` into `out`; returns the tarball's path. */
function npmPack(dir, out) {
  const json = run('npm', ['pack', '--json', '--pack-destination', out, dir])
  const [info] = JSON.parse(json.slice(json.indexOf('[')))
  return path.join(out, info.filename)
}

/**
 * Packs the three tarballs into `out` (emptied first). With `build: false` it packs what is built
 * (the e2e harness, after `npm test` built it). Returns `{ tarballs, native }`, where `native` says
 * whether this machine's binary is included.
 */
export function pack({ out = path.join(ROOT, 'pack'), log = console.log, build = true } = {}) {
  if (build && !fs.existsSync(path.join(ROOT, 'node_modules', '.package-lock.json'))) {
    log('installing dependencies (npm ci)…')
    run('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' })
  }
  const platform = platformDir()
  const binaryName = `next-skew-guard.${platform}.node`
  const binary = path.join(NATIVE, binaryName)
  if (build && !fs.existsSync(binary)) {
    if (hasCargo()) {
      log('building the native module (release)…')
      run('npm', ['run', '--silent', 'build:native'])
    } else {
      log('no Rust toolchain (cargo): packing without the native binary; the package then runs on its JavaScript backend.')
    }
  }
  if (build) {
    log('compiling TypeScript…')
    run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'])
  }

  fs.rmSync(out, { recursive: true, force: true })
  fs.mkdirSync(out, { recursive: true })
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-pack-'))
  try {
    const tarballs = [npmPack(ROOT, out)]
    // The loader, with the optional dependencies a published release carries.
    const loader = JSON.parse(fs.readFileSync(path.join(NATIVE, 'package.json'), 'utf8'))
    const platforms = fs.readdirSync(path.join(NATIVE, 'npm')).sort()
    loader.optionalDependencies = Object.fromEntries(platforms.map((p) => [`${loader.name}-${p}`, loader.version]))
    const loaderDir = path.join(stage, 'loader')
    fs.mkdirSync(loaderDir)
    for (const file of loader.files) fs.copyFileSync(path.join(NATIVE, file), path.join(loaderDir, file))
    fs.writeFileSync(path.join(loaderDir, 'package.json'), `${JSON.stringify(loader, null, 2)}\n`)
    tarballs.push(npmPack(loaderDir, out))
    // This machine's binary package.
    const included = fs.existsSync(binary)
    if (included) {
      const platformDirSrc = path.join(NATIVE, 'npm', platform)
      const binaryDir = path.join(stage, platform)
      fs.cpSync(platformDirSrc, binaryDir, { recursive: true })
      fs.copyFileSync(binary, path.join(binaryDir, binaryName))
      tarballs.push(npmPack(binaryDir, out))
    }
    return { tarballs, native: included }
  } finally {
    fs.rmSync(stage, { recursive: true, force: true })
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2)
  const outIndex = args.indexOf('--out')
  const out = outIndex === -1 ? undefined : path.resolve(args[outIndex + 1])
  const quiet = args.includes('--quiet')
  try {
    const { tarballs, native } = pack({ out, log: quiet ? () => {} : console.log })
    console.log(`\nPacked ${tarballs.length} tarballs${native ? '' : ' (no native binary: the JavaScript backend will be used)'}:`)
    for (const t of tarballs) console.log(`  ${path.relative(process.cwd(), t)}`)
    console.log(`\nInstall them together in your Next.js app:\n  npm install ${tarballs.map((t) => path.resolve(t)).join(' ')}`)
  } catch (e) {
    console.error(`npm run pack failed: ${e.message}`)
    process.exit(1)
  }
}
