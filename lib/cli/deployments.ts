/**
 * `next-skew-guard deployments …`: the registry of running deployments and the proxy configs
 * that route every request to the deployment that served its page.
 *
 * Same conventions as the rest of the CLI: machine output on stdout (IDs, JSON, the rendered
 * config), messages on stderr, colour only on a TTY, exit codes 0 (ok), 1 (a problem), 2 (usage).
 */

import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'

import * as fs from 'node:fs'
import * as path from 'node:path'

import { applyConfig } from '../deployments/apply'
import { writeFileAtomic } from '../deployments/atomic'
import { DeploymentError } from '../deployments/errors'
import { DEPLOYMENT_ID_RULE, formatDuration, parseDuration, parseUpstream, refused, validateDeploymentId } from '../deployments/ids'
import { withLock } from '../deployments/lock'
import { probeUpstream } from '../deployments/probe'
import {
  addDeployment,
  deploymentStatus,
  gcDeployments,
  lockPathFor,
  promoteDeployment,
  readRegistry,
  retireDeployment,
} from '../deployments/registry'
import { renderConfig, validateProxy } from '../deployments/render'
import type { ProxyKind, RenderOptions } from '../deployments/render-common'
import { COMPOSE_TARGETS, composeUpstreamWarnings, renderCompose, type ComposeTarget } from '../deployments/render-compose'
import { kubernetesStream, renderKubernetes } from '../deployments/render-gateway'
import { planRouting } from '../deployments/routing'
import { STATE_ENV, resolveStatePath } from '../deployments/state'
import { ManifestError } from '../server/build-info'

/** What the CLI hands every command (the same shape as the main CLI's). */
export interface DeploymentsIo {
  out: (text: string) => void
  err: (text: string) => void
  env: Record<string, string | undefined>
  color: boolean
}

class UsageError extends Error {}

const STATE_HELP = `  --state FILE   The registry (default: $${STATE_ENV}, else
                 $XDG_STATE_HOME/next-skew-guard/deployments.json, else
                 ~/.local/state/next-skew-guard/deployments.json)`

/** Help texts: `deployments --help` and `deployments <command> --help`. */
export const DEPLOYMENTS_HELP: Record<string, string> = {
  main: `Usage: next-skew-guard deployments <command> [options]

Keeps old deployments reachable: a registry of the builds that are running, and a config for
your proxy that sends every request to the build that served its page (x-deployment-id header,
?dpl= query, the Next-Action ID, the __vdpl cookie for form posts), new pages to the current one.

Commands:
  add <id> --upstream host:port   Register a running deployment (--dir records its action IDs)
  promote <id>                    Make it current: new pages are served by it
  list                            Show the registry
  retire <id>                     Remove a deployment (render, reload, then stop its process)
  gc --keep N --max-age D         Remove previous deployments past the retention
  render --proxy P                Write the routing config for nginx, caddy, traefik or haproxy
  render --target T               Kubernetes (gateway-api) or Docker Compose (compose-traefik,
                                  compose-caddy) manifests with the routing built in

A deploy: build with deploymentId set, start the new build on its own port, then
  next-skew-guard deployments add dpl_v2 --upstream 127.0.0.1:3002 --dir /srv/app/v2
  next-skew-guard deployments promote dpl_v2
  next-skew-guard deployments render --proxy nginx --out /etc/nginx/next-skew-guard.conf --reload
  next-skew-guard deployments gc --keep 3 --max-age 7d   (prints the IDs it removed: render again,
                                                           then stop their processes)

Options:
${STATE_HELP}
  -h, --help     Help for a command: next-skew-guard deployments <command> --help

Deployment IDs: ${DEPLOYMENT_ID_RULE}.`,
  add: `Usage: next-skew-guard deployments add <id> --upstream host:port [--dir APP [--dist-dir DIR]] [options]

Registers a deployment whose \`next start\` listens on host:port. With --dir, reads the build's
Server Action IDs (APP/DIR/server/server-reference-manifest.json, DIR default .next), so that
calls from old pages without x-deployment-id still find it. A new deployment is "staged" until
you promote it. Warns when nothing listens on the upstream yet.

Options:
  --upstream HOST:PORT   Where its next start listens (127.0.0.1:3002, app-v2:3000, [::1]:3002)
  --dir APP              The app directory of this build
  --dist-dir DIR         Its build directory, relative to APP (default .next)
  --replace              Update a deployment of that ID (new upstream or build)
  --require-listening    Fail (exit 1) instead of warning when nothing listens on the upstream
  --json                 Print the recorded deployment as JSON
${STATE_HELP}`,
  promote: `Usage: next-skew-guard deployments promote <id> [--force]

Makes <id> the current deployment: after the next render, new pages (and every request that
carries no deployment ID) go to it; the deployment it replaces stays reachable for its open tabs.
Refuses when nothing listens on its upstream (that would take the site down) unless --force.

Options:
  --force        Promote even though its upstream does not answer
${STATE_HELP}`,
  list: `Usage: next-skew-guard deployments list [--json]

Shows every registered deployment: status (current, previous, staged), upstream, number of
Server Action IDs, when it was added and when it was replaced.

Options:
  --json         Print the registry as JSON (with each deployment's status)
${STATE_HELP}`,
  retire: `Usage: next-skew-guard deployments retire <id>

Removes a deployment from the registry (not the current one). Then render and reload the
proxy, and only after that stop its process: requests that name it go to the current one.
Prints the retired ID on stdout.

Options:
${STATE_HELP}`,
  gc: `Usage: next-skew-guard deployments gc [--keep N] [--max-age DURATION] [--dry-run] [--json]

Retention. Keeps the current deployment, staged ones added after it, and at most N previous
deployments replaced less than DURATION ago (e.g. 12h, 7d, 2w); removes the other previous
ones and staged ones older than the current one. Prints the removed IDs on stdout, one per line:
render and reload the proxy, then stop their processes.

Options:
  --keep N              Previous deployments to keep besides the current one
  --max-age DURATION    Remove previous deployments replaced longer ago than this
  --dry-run             Print what would be removed, change nothing
  --json                Print the removals as JSON
${STATE_HELP}`,
  render: `Usage: next-skew-guard deployments render --proxy nginx|caddy|traefik|haproxy [--out FILE [--reload]] [options]

Writes the routing config for every registered deployment. Without --out it prints it. With
--out it validates it with the proxy's own checker (nginx -t, caddy validate, haproxy -c;
Traefik: the file's structure) and only then replaces FILE atomically; a rejected config leaves
FILE untouched (exit 1, with the checker's message). Same registry and options, same bytes.

Options:
  --proxy P               nginx, caddy, traefik or haproxy
  --out FILE              The live file your proxy includes
  --reload                Reload the proxy after replacing FILE (nginx: nginx -t, then
                          nginx -s reload; caddy: caddy reload; haproxy: systemctl reload
                          haproxy, or SIGUSR2 to the master with --pid-file; traefik watches
                          the file by itself). A failed reload puts the previous FILE back.
  --reload-command CMD    Reload with this shell command instead
  --proxy-bin PATH        The proxy's binary (default: found on PATH)
  --proxy-config FILE     The proxy's main config (nginx -c, caddy --config, haproxy -f)
  --pid-file FILE         nginx or HAProxy master PID file: reload by signal
  --caddy-admin ADDR      Caddy admin endpoint for caddy reload (default localhost:2019)
  --caddy-version V       Caddy's version (default: asked from the binary, else 2.7+)
  --trusted-proxies CIDR  caddy: proxies in front of Caddy whose X-Forwarded-Host it passes on
                          (repeatable, or comma-separated; private_ranges for all private ones)
  --host NAME             traefik: answer for this host only (Host rule)
  --entrypoint NAME       traefik: entry point of the routers (repeatable; default all)
  --tls                   traefik: routers serve TLS
  --cert-resolver NAME    traefik: certificate resolver (implies --tls)
  --no-passive-health     traefik before 3.6: no passiveHealthCheck (fallback then waits for
                          the active health check, up to one --health-interval)
  --health-path PATH      traefik: health check path (default /api/health, the guard's)
  --health-interval S     traefik, haproxy: seconds between health checks (default 2)
  --fail-timeout S        Seconds a dead retained deployment is skipped (default 10)
  --no-check              Write without running the checker (not recommended)
${STATE_HELP}

Usage: next-skew-guard deployments render --target gateway-api|compose-traefik|compose-caddy [--out PATH] [options]

Writes every registered deployment as workloads whose routing is built in. Without --out it
prints the manifests. Same registry and options, same bytes.

  gateway-api       Kubernetes: a Deployment and a Service per deployment and one Gateway API
                    HTTPRoute. --out DIR writes a Kustomize directory (kustomization.yaml,
                    workloads.yaml, httproute.yaml, post-apply.sh): kubectl apply -k DIR, then
                    sh DIR/post-apply.sh (owner references; deletes what left the registry).
  compose-traefik   Docker Compose: a service per deployment whose labels carry its Traefik
                    routers (Docker provider). --out FILE: docker compose -f FILE up -d
                    --remove-orphans; no proxy reload.
  compose-caddy     The same for caddy-docker-proxy (labels; no Next-Action routing).

Options:
  --target T              gateway-api, compose-traefik or compose-caddy
  --out PATH              gateway-api: a directory (created if needed); compose: the file
  --app NAME              The app's name: label app, object and service names (<app>-<id>)
  --image REF             The image of a deployment, {id} for its ID (shop:{id})
  --health-path PATH      Readiness probe / healthcheck path (default /api/health)
gateway-api:
  --gateway NAME          The Gateway the route attaches to (required)
  --gateway-namespace NS  Its namespace, when not the route's
  --listener NAME         The Gateway listener (sectionName) to attach to
  --hostname NAME         Host names of the route (repeatable)
  --namespace NS          Namespace of every object (else kubectl's)
  --replicas N            Replicas of the current deployment (default 2)
  --retained-replicas N   Replicas of every other deployment (default 1)
  --key-secret NAME       Secret with NEXT_SERVER_ACTIONS_ENCRYPTION_KEY (default
                          next-server-actions-key, as keygen --format k8s names it)
  --settle S              Seconds post-apply.sh waits before deleting old workloads (default 15)
compose-traefik, compose-caddy:
  --network NAME          The Docker network shared with the proxy (default web)
  --env-file FILE         Env file with the key, relative to the Compose file (default app.env)
  --host NAME             The site's host (Traefik: Host rule; caddy: the site address, required)
  --entrypoint NAME       compose-traefik: entry point of the routers (repeatable)
  --tls, --cert-resolver  compose-traefik: serve TLS (with this certificate resolver)`,
}

function paint(io: DeploymentsIo, code: string, text: string): string {
  return io.color ? `\u001b[${code}m${text}\u001b[0m` : text
}

type Spec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>

function parse(args: string[], options: Spec, positionals: number) {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, state: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    })
    if (parsed.positionals.length > positionals) throw new UsageError(`Unexpected argument ${refused(parsed.positionals[positionals])}.`)
    return { values: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals: parsed.positionals }
  } catch (e) {
    if (e instanceof UsageError) throw e
    // parseArgs quotes the offending argument; a key pasted in the wrong place is not echoed.
    let message = (e as Error).message
    for (const arg of args) {
      const shown = refused(arg)
      if (shown !== JSON.stringify(arg)) message = message.split(arg).join(shown)
    }
    throw new UsageError(message)
  }
}

/** Argument checks: a bad value on the command line is a usage error (exit 2). */
function arg<T>(fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof DeploymentError) throw new UsageError(e.message)
    throw e
  }
}

/** The registry file: --state, else the environment, else the per-user default. */
function stateFile(values: Record<string, unknown>, io: DeploymentsIo): string {
  return arg(() => resolveStatePath(str(values.state), io.env))
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function seconds(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n < 1 || n > 3600)
    throw new UsageError(`${name} must be a whole number of seconds from 1 to 3600; got ${refused(v)}.`)
  return n
}

function needId(positionals: string[], command: string): string {
  if (positionals.length === 0)
    throw new UsageError(`deployments ${command} needs a deployment ID: next-skew-guard deployments ${command} <id>.`)
  return arg(() => validateDeploymentId(positionals[0]))
}

function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return '-'
  return `${formatDuration(now - Date.parse(iso)) || '0s'} ago`
}

function add(args: string[], io: DeploymentsIo): number {
  const { values, positionals } = parse(
    args,
    {
      upstream: { type: 'string' },
      dir: { type: 'string' },
      'dist-dir': { type: 'string' },
      replace: { type: 'boolean' },
      'require-listening': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    1,
  )
  if (values.help) return (io.out(DEPLOYMENTS_HELP.add), 0)
  const state = stateFile(values, io)
  const id = needId(positionals, 'add')
  if (values.upstream === undefined)
    throw new UsageError("deployments add needs --upstream host:port (where this deployment's next start listens).")
  const upstream = arg(() => parseUpstream(values.upstream).address)
  if (values['dist-dir'] !== undefined && values.dir === undefined)
    throw new UsageError('--dist-dir needs --dir (the app directory it is relative to).')
  const probe = probeUpstream(upstream)
  if (!probe.listening && values['require-listening']) {
    throw new DeploymentError(
      'ERR_DEPLOYMENT_DOWN',
      `Nothing listens on ${upstream} (${probe.reason}): start the deployment's next start first. Nothing was registered.`,
    )
  }
  const r = addDeployment(state, { id, upstream, dir: str(values.dir), distDir: str(values['dist-dir']), replace: values.replace === true })
  if (values.json) io.out(JSON.stringify(r.deployment, null, 2))
  if (r.created) io.err(`${paint(io, '33', '!')} created a new registry at ${state}`)
  if (!probe.listening) {
    io.err(`${paint(io, '33', '!')} nothing listens on ${upstream} yet (${probe.reason}): start it before you promote ${id}.`)
  }
  const inventory = r.deployment.build
    ? `${r.deployment.actions.length} Server Action ID${r.deployment.actions.length === 1 ? '' : 's'} from ${r.deployment.build.dir}/${r.deployment.build.distDir}`
    : 'no action IDs recorded (no --dir)'
  const current = r.deployment.promotedAt !== null && r.deployment.supersededAt === null
  const next = current ? 'next: render and reload the proxy' : `next: next-skew-guard deployments promote ${id}`
  io.err(`${paint(io, '32', '✓')} ${r.replaced ? 'updated' : 'added'} ${id} at ${upstream} (${inventory}); ${next}`)
  return 0
}

function promote(args: string[], io: DeploymentsIo): number {
  const { values, positionals } = parse(args, { force: { type: 'boolean' } }, 1)
  if (values.help) return (io.out(DEPLOYMENTS_HELP.promote), 0)
  const state = stateFile(values, io)
  const id = needId(positionals, 'promote')
  const registered = readRegistry(state).deployments.find((d) => d.id === id)
  if (registered) {
    const probe = probeUpstream(registered.upstream)
    if (!probe.listening) {
      if (!values.force) {
        throw new DeploymentError(
          'ERR_DEPLOYMENT_DOWN',
          `Nothing listens on ${registered.upstream}, the upstream of ${id} (${probe.reason}). Promoting it would send every new page there. ` +
            'Start it first, or pass --force.',
        )
      }
      io.err(`${paint(io, '33', '!')} nothing listens on ${registered.upstream} (${probe.reason}); promoting anyway (--force).`)
    }
  }
  const r = promoteDeployment(state, id)
  if (r.unchanged) io.err(`${paint(io, '32', '✓')} ${id} is already the current deployment.`)
  else {
    io.err(
      `${paint(io, '32', '✓')} ${id} is now current${r.previous ? ` (${r.previous.id} stays reachable for its open tabs)` : ''}. ` +
        'Next: next-skew-guard deployments render --proxy <proxy> --out <file> --reload',
    )
  }
  return 0
}

function list(args: string[], io: DeploymentsIo): number {
  const { values } = parse(args, { json: { type: 'boolean' } }, 0)
  if (values.help) return (io.out(DEPLOYMENTS_HELP.list), 0)
  const state = stateFile(values, io)
  const registry = readRegistry(state)
  if (values.json) {
    io.out(
      JSON.stringify(
        {
          state,
          current: registry.current,
          deployments: registry.deployments.map((d) => ({ ...d, status: deploymentStatus(registry, d) })),
        },
        null,
        2,
      ),
    )
    return 0
  }
  const rows = [['ID', 'STATUS', 'UPSTREAM', 'ACTIONS', 'ADDED', 'REPLACED']]
  for (const d of registry.deployments) {
    rows.push([
      d.id,
      deploymentStatus(registry, d),
      d.upstream,
      d.build ? String(d.actions.length) : '-',
      ago(d.addedAt),
      ago(d.supersededAt),
    ])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  for (const r of rows) io.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  '))
  io.err(`${registry.deployments.length} deployment${registry.deployments.length === 1 ? '' : 's'} in ${state}`)
  return 0
}

function retire(args: string[], io: DeploymentsIo): number {
  const { values, positionals } = parse(args, {}, 1)
  if (values.help) return (io.out(DEPLOYMENTS_HELP.retire), 0)
  const state = stateFile(values, io)
  const id = needId(positionals, 'retire')
  const d = retireDeployment(state, id)
  io.out(d.id)
  io.err(`${paint(io, '32', '✓')} retired ${d.id} (${d.upstream}). Render and reload the proxy, then stop its process.`)
  return 0
}

function gc(args: string[], io: DeploymentsIo): number {
  const { values } = parse(
    args,
    { keep: { type: 'string' }, 'max-age': { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
    0,
  )
  if (values.help) return (io.out(DEPLOYMENTS_HELP.gc), 0)
  const state = stateFile(values, io)
  if (values.keep === undefined && values['max-age'] === undefined)
    throw new UsageError('gc needs --keep <n>, --max-age <duration>, or both (e.g. --keep 3 --max-age 7d).')
  let keep: number | undefined
  if (values.keep !== undefined) {
    if (!/^\d{1,4}$/.test(String(values.keep)) || Number(values.keep) > 1000)
      throw new UsageError(`--keep must be a whole number from 0 to 1000; got ${refused(values.keep)}.`)
    keep = Number(values.keep)
  }
  const maxAgeMs = values['max-age'] === undefined ? undefined : arg(() => parseDuration(values['max-age'], '--max-age'))
  const removed = gcDeployments(state, { keep, maxAgeMs, dryRun: values['dry-run'] === true })
  if (values.json)
    io.out(
      JSON.stringify(
        removed.map((r) => ({ ...r.deployment, reason: r.reason })),
        null,
        2,
      ),
    )
  else for (const r of removed) io.out(r.deployment.id)
  const verb = values['dry-run'] ? 'would remove' : 'removed'
  for (const r of removed) io.err(`${paint(io, '33', '-')} ${verb} ${r.deployment.id} (${r.deployment.upstream}): ${r.reason}`)
  io.err(
    removed.length === 0
      ? `${paint(io, '32', '✓')} nothing to remove`
      : `${paint(io, '32', '✓')} ${verb} ${removed.length}${values['dry-run'] ? '' : '. Render and reload the proxy, then stop their processes'}.`,
  )
  return 0
}

/** Caddy's version from its binary (`v2.11.7 h1:…`, Debian: `2.6.2`), or null. */
function caddyVersion(bin: string): string | null {
  const r = spawnSync(bin, ['version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })
  const m = /v?(\d+\.\d+(?:\.\d+)?)/.exec(r.stdout ?? '')
  return r.status === 0 && m ? m[1] : null
}

/** Options of `render --target` only (the shared ones, --out, --host, --entrypoint, --tls, --cert-resolver, --health-path, are parsed with --proxy's). */
const TARGET_OPTIONS: Spec = {
  target: { type: 'string' },
  app: { type: 'string' },
  image: { type: 'string' },
  gateway: { type: 'string' },
  'gateway-namespace': { type: 'string' },
  listener: { type: 'string' },
  hostname: { type: 'string', multiple: true },
  namespace: { type: 'string' },
  replicas: { type: 'string' },
  'retained-replicas': { type: 'string' },
  'key-secret': { type: 'string' },
  settle: { type: 'string' },
  network: { type: 'string' },
  'env-file': { type: 'string' },
}

const TARGETS = ['gateway-api', ...COMPOSE_TARGETS] as const

function whole(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'string' || !/^\d{1,4}$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}; got ${refused(v)}.`)
  return Number(v)
}

/** `render --target`: Kubernetes or Compose manifests, printed or written under the registry's lock. */
function renderTarget(values: Record<string, string | boolean | string[] | undefined>, state: string, io: DeploymentsIo): number {
  const target = values.target as string
  if (!(TARGETS as readonly string[]).includes(target))
    throw new UsageError(`--target must be one of ${TARGETS.join(', ')}; got ${refused(target)}.`)
  const proxyOnly = [
    'reload',
    'reload-command',
    'proxy-bin',
    'proxy-config',
    'pid-file',
    'caddy-admin',
    'caddy-version',
    'trusted-proxies',
    'no-passive-health',
    'health-interval',
    'fail-timeout',
    'no-check',
  ]
  for (const flag of proxyOnly)
    if (values[flag] !== undefined) throw new UsageError(`--${flag} is for --proxy; --target ${target} has no proxy to check or reload.`)
  const kube = [
    'gateway',
    'gateway-namespace',
    'listener',
    'hostname',
    'namespace',
    'replicas',
    'retained-replicas',
    'key-secret',
    'settle',
  ]
  const compose = ['network', 'env-file', 'host', 'entrypoint', 'tls', 'cert-resolver']
  for (const flag of target === 'gateway-api' ? compose : kube) {
    if (values[flag] !== undefined)
      throw new UsageError(`--${flag} is for --target ${target === 'gateway-api' ? 'compose-traefik or compose-caddy' : 'gateway-api'}.`)
  }
  for (const flag of ['app', 'image', ...(target === 'gateway-api' ? ['gateway'] : [])]) {
    if (values[flag] === undefined) throw new UsageError(`--target ${target} needs --${flag}.`)
  }
  const out = str(values.out)
  if (out === '') throw new UsageError('--out needs a path.')
  return withLock(
    lockPathFor(state),
    () => {
      const registry = readRegistry(state)
      const plan = planRouting(registry)
      for (const w of plan.warnings) io.err(`${paint(io, '33', '!')} ${w}`)
      const what = `${plan.retained.length + 1} deployment${plan.retained.length === 0 ? '' : 's'}, current ${plan.current.id}`
      if (target === 'gateway-api') {
        const manifests = arg(() =>
          renderKubernetes(plan, {
            app: values.app as string,
            image: values.image as string,
            gateway: values.gateway as string,
            gatewayNamespace: str(values['gateway-namespace']),
            listener: str(values.listener),
            hostnames: values.hostname as string[] | undefined,
            namespace: str(values.namespace),
            replicas: whole(values.replicas, '--replicas', 1, 100),
            retainedReplicas: whole(values['retained-replicas'], '--retained-replicas', 1, 100),
            keySecret: str(values['key-secret']),
            healthPath: str(values['health-path']),
            settleSeconds: whole(values.settle, '--settle', 0, 3600),
          }),
        )
        for (const w of manifests.warnings) io.err(`${paint(io, '33', '!')} ${w}`)
        if (out === undefined) {
          io.out(kubernetesStream(manifests).replace(/\n$/, ''))
          io.err(`${paint(io, '32', '✓')} rendered ${what}; with --out DIR you also get kustomization.yaml and post-apply.sh`)
          return 0
        }
        const dir = path.resolve(out)
        if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory())
          throw new UsageError(`--out ${out} is a file; --target gateway-api writes a directory.`)
        fs.mkdirSync(dir, { recursive: true })
        // Each file is replaced atomically; the kustomization last, so `kubectl apply -k` never
        // lists a file that is not there yet.
        let changed = 0
        for (const f of manifests.files) {
          const file = path.join(dir, f.name)
          let previous: string | null = null
          try {
            previous = fs.readFileSync(file, 'utf8')
          } catch {
            previous = null
          }
          if (previous === f.content) continue
          writeFileAtomic(file, f.content, f.name.endsWith('.sh') ? 0o755 : 0o644)
          changed++
        }
        io.err(
          `${paint(io, '32', '✓')} ${changed > 0 ? 'wrote' : 'unchanged:'} ${dir} (gateway-api, ${what}). Next: kubectl apply -k ${out} && sh ${path.join(out, 'post-apply.sh')}`,
        )
        return 0
      }
      const options = {
        app: values.app as string,
        image: values.image as string,
        network: str(values.network),
        envFile: str(values['env-file']),
        host: str(values.host),
        entryPoints: values.entrypoint as string[] | undefined,
        tls: values.tls === true ? true : undefined,
        certResolver: str(values['cert-resolver']),
        healthPath: str(values['health-path']),
      }
      const text = arg(() => renderCompose(target as ComposeTarget, registry, plan, options))
      for (const w of composeUpstreamWarnings(plan, options)) io.err(`${paint(io, '33', '!')} ${w}`)
      if (out === undefined) {
        io.out(text.replace(/\n$/, ''))
        return 0
      }
      const file = path.resolve(out)
      let previous: string | null = null
      try {
        previous = fs.readFileSync(file, 'utf8')
      } catch {
        previous = null
      }
      if (previous !== text) writeFileAtomic(file, text)
      io.err(
        `${paint(io, '32', '✓')} ${previous !== text ? 'wrote' : 'unchanged:'} ${file} (${target}, ${what}). Next: docker compose -f ${out} up -d --remove-orphans`,
      )
      return 0
    },
    { timeoutMs: 120_000, purpose: `deployments render --target ${target}` },
  )
}

function render(args: string[], io: DeploymentsIo): number {
  const { values } = parse(
    args,
    {
      proxy: { type: 'string' },
      out: { type: 'string' },
      reload: { type: 'boolean' },
      'reload-command': { type: 'string' },
      'proxy-bin': { type: 'string' },
      'proxy-config': { type: 'string' },
      'pid-file': { type: 'string' },
      'caddy-admin': { type: 'string' },
      'caddy-version': { type: 'string' },
      'trusted-proxies': { type: 'string', multiple: true },
      host: { type: 'string' },
      entrypoint: { type: 'string', multiple: true },
      tls: { type: 'boolean' },
      'cert-resolver': { type: 'string' },
      'no-passive-health': { type: 'boolean' },
      'health-path': { type: 'string' },
      'health-interval': { type: 'string' },
      'fail-timeout': { type: 'string' },
      'no-check': { type: 'boolean' },
      ...TARGET_OPTIONS,
    },
    0,
  )
  if (values.help) return (io.out(DEPLOYMENTS_HELP.render), 0)
  const state = stateFile(values, io)
  if (values.target !== undefined) {
    if (values.proxy !== undefined)
      throw new UsageError('--proxy and --target exclude each other: --proxy writes a proxy config, --target workloads with their routing.')
    return renderTarget(values, state, io)
  }
  for (const flag of Object.keys(TARGET_OPTIONS)) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} is for --target (gateway-api, compose-traefik, compose-caddy).`)
  }
  if (values.proxy === undefined)
    throw new UsageError(
      'deployments render needs --proxy nginx|caddy|traefik|haproxy, or --target gateway-api|compose-traefik|compose-caddy.',
    )
  const proxy: ProxyKind = arg(() => validateProxy(values.proxy))
  const out = str(values.out)
  if (out === '') throw new UsageError('--out needs a file path.')
  for (const flag of ['reload', 'reload-command', 'pid-file', 'proxy-config', 'caddy-admin', 'no-check'] as const) {
    if (values[flag] !== undefined && out === undefined) throw new UsageError(`--${flag} needs --out (the live file the proxy includes).`)
  }
  for (const flag of ['host', 'entrypoint', 'tls', 'cert-resolver', 'no-passive-health', 'health-path'] as const) {
    if (values[flag] !== undefined && proxy !== 'traefik') throw new UsageError(`--${flag} is for --proxy traefik.`)
  }
  if (
    (values['caddy-admin'] !== undefined || values['caddy-version'] !== undefined || values['trusted-proxies'] !== undefined) &&
    proxy !== 'caddy'
  ) {
    throw new UsageError('--caddy-admin, --caddy-version and --trusted-proxies are for --proxy caddy.')
  }
  if (values['pid-file'] !== undefined && proxy !== 'nginx' && proxy !== 'haproxy')
    throw new UsageError('--pid-file is for --proxy nginx or haproxy.')
  const options: RenderOptions = {
    failTimeoutSeconds: seconds(values['fail-timeout'], '--fail-timeout'),
    healthIntervalSeconds: seconds(values['health-interval'], '--health-interval'),
    healthPath: str(values['health-path']),
    host: str(values.host),
    entryPoints: values.entrypoint as string[] | undefined,
    tls: values.tls === true,
    certResolver: str(values['cert-resolver']),
    passiveHealthCheck: values['no-passive-health'] !== true,
    caddyVersion: str(values['caddy-version']),
    trustedProxies: (values['trusted-proxies'] as string[] | undefined)?.flatMap((v) => v.split(/[\s,]+/).filter(Boolean)),
  }
  const bin = str(values['proxy-bin'])
  if (proxy === 'caddy' && options.caddyVersion === undefined) {
    const detected = caddyVersion(bin ?? 'caddy')
    if (detected) options.caddyVersion = detected
    else
      io.err(`${paint(io, '33', '!')} could not ask caddy for its version; rendering for Caddy 2.7 or newer (--caddy-version to change).`)
  }
  // The whole read-render-check-write-reload holds the registry's lock: a promote or a second
  // render cannot slip in between, so the config that goes live is the registry's latest.
  return withLock(
    lockPathFor(state),
    () => {
      const plan = planRouting(readRegistry(state))
      const content = arg(() => renderConfig(proxy, plan, options))
      for (const w of plan.warnings) io.err(`${paint(io, '33', '!')} ${w}`)
      if (out === undefined) {
        io.out(content.replace(/\n$/, ''))
        return 0
      }
      const r = applyConfig({
        proxy,
        out,
        content,
        check: values['no-check'] !== true,
        bin,
        reload: values.reload === true || values['reload-command'] !== undefined,
        reloadCommand: str(values['reload-command']),
        proxyConfig: str(values['proxy-config']),
        pidFile: str(values['pid-file']),
        caddyAdmin: str(values['caddy-admin']),
      })
      const what = `${plan.retained.length + 1} deployment${plan.retained.length === 0 ? '' : 's'}, current ${plan.current.id}`
      io.err(
        `${paint(io, '32', '✓')} ${r.changed ? 'wrote' : 'unchanged:'} ${out} (${proxy}, ${what})${r.checkOutput !== null && r.changed ? ', validated' : ''}`,
      )
      if (r.reloadOutput !== null) io.err(`${paint(io, '32', '✓')} reload: ${r.reloadOutput.split('\n')[0] || 'done'}`)
      return 0
    },
    { timeoutMs: 120_000, purpose: `deployments render --proxy ${proxy}` },
  )
}

const COMMANDS: Record<string, (args: string[], io: DeploymentsIo) => number> = { add, promote, list, retire, gc, render }

/** Runs `next-skew-guard deployments <args…>` and returns the exit code. Never throws for bad input. */
export function runDeployments(args: string[], io: DeploymentsIo): number {
  const [command, ...rest] = args
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      io.out(DEPLOYMENTS_HELP.main)
      return command === undefined ? 2 : 0
    }
    const fn = COMMANDS[command]
    if (!fn) throw new UsageError(`Unknown deployments command ${refused(command)}. Commands: ${Object.keys(COMMANDS).join(', ')}.`)
    if (rest.includes('-h') || rest.includes('--help')) return (io.out(DEPLOYMENTS_HELP[command]), 0)
    return fn(rest, io)
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(
        `next-skew-guard: ${e.message}\nRun \`next-skew-guard deployments ${command && COMMANDS[command] ? `${command} ` : ''}--help\` for usage.`,
      )
      return 2
    }
    if (e instanceof DeploymentError || e instanceof ManifestError) {
      io.err(`${paint(io, '31', '✗')} ${e.code}: ${e.message}`)
      return 1
    }
    throw e
  }
}
