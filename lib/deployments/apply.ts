/**
 * Putting a rendered config live: validate it with the proxy's own checker, replace the live file
 * atomically, reload the proxy. A config the checker rejects never replaces the live file; a
 * reload that fails puts the previous file back, so the file on disk keeps matching what the
 * proxy runs.
 */

import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import { fsyncDir, tempPathFor, writeFileAtomic } from './atomic'
import { DeploymentError, quote } from './errors'
import { HAPROXY_BACKEND } from './render-haproxy'
import { NGINX_LOCATION } from './render-nginx'
import { verifyTraefikText } from './render-traefik'
import type { ProxyKind } from './render-common'

/** Options of {@link applyConfig}. */
export interface ApplyOptions {
  proxy: ProxyKind
  /** The live file the proxy includes. */
  out: string
  /** The rendered config. */
  content: string
  /** Run the proxy's checker first (default true). Traefik: a structural check of the YAML. */
  check?: boolean
  /** The proxy's binary (default: `nginx`, `caddy`, `haproxy` on PATH). */
  bin?: string
  /** Reload the proxy after the file is replaced. */
  reload?: boolean
  /** A shell command that reloads the proxy, instead of the default way. */
  reloadCommand?: string
  /** The proxy's main config: nginx `-c`, caddy `--config` (default /etc/caddy/Caddyfile), HAProxy's first `-f`. */
  proxyConfig?: string
  /** nginx or HAProxy master PID file: reload by signal (HUP, USR2) instead of `nginx -s reload` / `systemctl reload haproxy`. */
  pidFile?: string
  /** Caddy admin endpoint for `caddy reload --address`. */
  caddyAdmin?: string
  /** Per command (default 60 s). */
  timeoutMs?: number
}

/** What {@link applyConfig} did. */
export interface ApplyResult {
  /** False when the live file already had exactly this content (it is left as it is). */
  changed: boolean
  /** The checker's output (null when no checker ran). */
  checkOutput: string | null
  reloaded: boolean
  /** What the reload printed, or why there was nothing to do (Traefik). */
  reloadOutput: string | null
}

const DEFAULT_BIN: Record<ProxyKind, string> = { nginx: 'nginx', caddy: 'caddy', haproxy: 'haproxy', traefik: 'traefik' }

interface Run {
  status: number
  output: string
}

function run(command: string, args: string[], o: ApplyOptions, env: NodeJS.ProcessEnv = process.env): Run {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: o.timeoutMs ?? 60_000, env, stdio: ['ignore', 'pipe', 'pipe'] })
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') {
      throw new DeploymentError(
        'ERR_PROXY_UNAVAILABLE',
        `${command} was not found: install ${o.proxy} on this machine, or pass --proxy-bin with the path of its binary ` +
          '(--no-check writes the file without validating it, which is not recommended).',
      )
    }
    throw new DeploymentError('ERR_PROXY_UNAVAILABLE', `${command} could not be run: ${r.error.message}.`)
  }
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim()
  return { status: r.status ?? (r.signal ? 128 : 1), output: r.signal ? `${output}\n(killed by ${r.signal})`.trim() : output }
}

/** A path inside a config file's quotes; control characters and quotes are refused, not escaped. */
function confPath(file: string): string {
  if (/["\\\u0000-\u001f]/.test(file)) {
    throw new DeploymentError(
      'ERR_INVALID_ARG_VALUE',
      `The path ${quote(file)} holds a quote, backslash or control character; choose a plainer path for --out.`,
    )
  }
  return `"${file}"`
}

/** Runs the proxy's checker on `candidate` (a file); returns its output or throws `ERR_PROXY_CHECK`. */
export function checkConfig(proxy: ProxyKind, candidate: string, options: Partial<ApplyOptions> = {}): string {
  const o = { ...options, proxy } as ApplyOptions
  const bin = o.bin ?? DEFAULT_BIN[proxy]
  if (proxy === 'traefik') {
    verifyTraefikText(fs.readFileSync(candidate, 'utf8'))
    return 'structure ok'
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-check-'))
  try {
    let r: Run
    if (proxy === 'nginx') {
      // nginx -t parses and checks without binding anything; the wrapper gives the include file
      // the http {} context it lives in and the location block that uses its variables.
      const wrapper = path.join(dir, 'nginx.conf')
      fs.writeFileSync(
        wrapper,
        [
          `pid ${confPath(path.join(dir, 'nginx.pid'))};`,
          'error_log stderr;',
          'events {}',
          'http {',
          `    include ${confPath(candidate)};`,
          '    server {',
          '        listen 127.0.0.1:9;',
          ...NGINX_LOCATION.map((l) => `        ${l}`),
          '    }',
          '}',
          '',
        ].join('\n'),
      )
      r = run(bin, ['-t', '-q', '-e', 'stderr', '-p', `${dir}/`, '-c', wrapper], o)
      // nginx before 1.19.5 has no -e (it then logs to its default error log as well).
      if (r.status !== 0 && /invalid option: "?e"?/.test(r.output)) r = run(bin, ['-t', '-q', '-p', `${dir}/`, '-c', wrapper], o)
    } else if (proxy === 'caddy') {
      const wrapper = path.join(dir, 'Caddyfile')
      fs.writeFileSync(
        wrapper,
        ['{', '\tadmin off', '\tauto_https off', '}', '', 'http://localhost:9 {', `\timport ${confPath(candidate)}`, '}', ''].join('\n'),
      )
      // Keep Caddy's config and data directories out of the user's home during the check.
      r = run(bin, ['validate', '--config', wrapper, '--adapter', 'caddyfile'], o, {
        ...process.env,
        XDG_CONFIG_HOME: dir,
        XDG_DATA_HOME: dir,
      })
    } else {
      const wrapper = path.join(dir, 'haproxy.cfg')
      fs.writeFileSync(
        wrapper,
        [
          'defaults',
          '    mode http',
          '    timeout connect 5s',
          '    timeout client 30s',
          '    timeout server 30s',
          '',
          'frontend nsg_check',
          '    bind 127.0.0.1:9',
          `    default_backend ${HAPROXY_BACKEND}`,
          '',
        ].join('\n'),
      )
      r = run(bin, ['-c', '-f', wrapper, '-f', candidate], o)
    }
    if (r.status !== 0) {
      throw new DeploymentError(
        'ERR_PROXY_CHECK',
        `${proxy} rejected the rendered configuration; the live file is unchanged. ${proxy} said:\n${r.output}`,
        r.output,
      )
    }
    return r.output
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** Reloads the proxy; returns what it printed or throws `ERR_PROXY_RELOAD`. */
export function reloadProxy(options: ApplyOptions): string {
  const o = options
  const bin = o.bin ?? DEFAULT_BIN[o.proxy]
  const must = (r: Run, what: string): string => {
    if (r.status !== 0)
      throw new DeploymentError(
        'ERR_PROXY_RELOAD',
        `${what} failed (exit ${r.status}); the previous configuration stays live. It said:\n${r.output}`,
        r.output,
      )
    return r.output
  }
  if (o.reloadCommand !== undefined) return must(run('/bin/sh', ['-c', o.reloadCommand], o), `The reload command ${quote(o.reloadCommand)}`)
  const signal = (sig: NodeJS.Signals): string => {
    const text = fs.readFileSync(o.pidFile as string, 'utf8').trim()
    const pid = Number(text)
    if (!/^\d+$/.test(text) || pid <= 1) throw new DeploymentError('ERR_PROXY_RELOAD', `${o.pidFile} does not hold a process ID.`)
    try {
      process.kill(pid, sig)
    } catch (e) {
      throw new DeploymentError('ERR_PROXY_RELOAD', `Could not signal ${o.proxy} (PID ${pid} from ${o.pidFile}): ${(e as Error).message}.`)
    }
    return `sent ${sig} to ${pid}`
  }
  switch (o.proxy) {
    case 'traefik':
      return 'nothing to do: the file provider watches the file and applies it by itself'
    case 'nginx': {
      const conf = o.proxyConfig ? ['-c', o.proxyConfig] : []
      // `nginx -s reload` only signals: a config the master then rejects would go unnoticed.
      must(run(bin, ['-t', '-q', ...conf], o), `${bin} -t (the whole configuration, before the reload)`)
      if (o.pidFile) return signal('SIGHUP')
      return must(run(bin, [...conf, '-s', 'reload'], o), `${bin} -s reload`)
    }
    case 'caddy': {
      const config = o.proxyConfig ?? '/etc/caddy/Caddyfile'
      const args = [
        'reload',
        '--config',
        config,
        ...(config.endsWith('.json') ? [] : ['--adapter', 'caddyfile']),
        ...(o.caddyAdmin ? ['--address', o.caddyAdmin] : []),
      ]
      return must(run(bin, args, o), `${bin} reload`)
    }
    case 'haproxy': {
      if (o.pidFile) {
        if (o.proxyConfig)
          must(run(bin, ['-c', '-f', o.proxyConfig, '-f', o.out], o), `${bin} -c (the whole configuration, before the reload)`)
        // Master-worker mode (-W/-Ws): SIGUSR2 makes the master re-read its files and start new
        // workers; the old ones finish their connections.
        return signal('SIGUSR2')
      }
      return must(run('systemctl', ['reload', 'haproxy'], o), 'systemctl reload haproxy')
    }
  }
}

/**
 * Validates `content` (unless `check: false`), replaces `out` atomically, and reloads the proxy
 * when asked. Throws `ERR_PROXY_CHECK` (live file untouched), `ERR_PROXY_UNAVAILABLE`, or
 * `ERR_PROXY_RELOAD` (live file restored to what it was).
 */
export function applyConfig(options: ApplyOptions): ApplyResult {
  const o = options
  if (typeof o !== 'object' || o === null || typeof o.out !== 'string' || o.out === '' || typeof o.content !== 'string') {
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', 'applyConfig needs { proxy, out, content }.')
  }
  const out = path.resolve(o.out)
  if (!fs.existsSync(path.dirname(out))) {
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', `The directory of --out ${out} does not exist; create it first.`)
  }
  let previous: string | null = null
  try {
    previous = fs.readFileSync(out, 'utf8')
  } catch {
    previous = null
  }
  let checkOutput: string | null = null
  const changed = previous !== o.content
  if (changed) {
    // The candidate is checked where it will live (same directory), then renamed into place:
    // exactly the bytes that passed the checker go live.
    const candidate = tempPathFor(out)
    fs.writeFileSync(candidate, o.content, { flag: 'wx', mode: 0o644 })
    try {
      const fd = fs.openSync(candidate, 'r')
      fs.fsyncSync(fd)
      fs.closeSync(fd)
      if (o.check !== false) checkOutput = checkConfig(o.proxy, candidate, { ...o, out })
      try {
        fs.chmodSync(candidate, fs.statSync(out).mode & 0o7777)
      } catch {
        // new file: 0644
      }
      fs.renameSync(candidate, out)
      fsyncDir(path.dirname(out))
    } finally {
      fs.rmSync(candidate, { force: true })
    }
  } else if (o.check !== false) {
    checkOutput = 'unchanged'
  }
  if (!o.reload) return { changed, checkOutput, reloaded: false, reloadOutput: null }
  try {
    const reloadOutput = reloadProxy({ ...o, out })
    return { changed, checkOutput, reloaded: o.proxy !== 'traefik', reloadOutput }
  } catch (e) {
    if (changed && previous !== null) writeFileAtomic(out, previous)
    throw e
  }
}
