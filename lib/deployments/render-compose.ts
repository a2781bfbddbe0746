/**
 * Docker Compose: one service per registered deployment, whose labels carry its own routes, for
 * Traefik's Docker provider or for caddy-docker-proxy. The proxy watches Docker and picks up a
 * container's routes when it becomes healthy and drops them when it stops: adding or removing a
 * deployment is `docker compose up -d --remove-orphans`, never a proxy reload.
 *
 * Traefik: a service's labels depend only on its own registry entry (its ID, its build's Server
 * Action IDs, when it was promoted) and the render options, never on the other deployments, so
 * Compose never recreates a running deployment because another one came or went. The one change
 * that does recreate a container is promoting a deployment that runs already (it gains its
 * action and catch-all routes): register and promote a release before its first `up`, and it
 * starts with them. caddy-docker-proxy: the catch-all is on the current deployment only, so a
 * promote also recreates the deployment it replaces (a restart of a few seconds, during which its
 * tabs reach the current deployment).
 *
 * Traefik: per deployment a router per carrier. Fixed priorities order the carriers (header >
 * query > Next-Action > cookie); the action and catch-all routers of every deployment that was
 * ever promoted have a priority that grows with the time of its promotion, so the most recently
 * promoted deployment wins both: the current one takes every request without a carrier, and an
 * action ID several builds know goes to the newest of them.
 *
 * caddy-docker-proxy: per deployment mutually exclusive matchers (header, query, cookie; each
 * requires the higher carriers to be absent) and the current deployment's catch-all. It routes to
 * a container as soon as it runs (no health check), so its proxies dial a starting one again. Caddy orders
 * `handle` blocks by their position, and caddy-docker-proxy's merge of several containers does not
 * fix one, so there is no Next-Action routing there (it needs "the newest build that knows this
 * ID"): old tabs without x-deployment-id reach the current build and the guard's recovery.
 */

import { DeploymentError, quote } from './errors'
import { validateActionId } from './ids'
import { k8sNames } from './k8s-names'
import { checkPlan, resolveOptions, type RenderOptions } from './render-common'
import { actionPatterns } from './render-gateway'
import { DEPLOYMENT_COOKIE, type RoutingPlan } from './routing'
import type { RegistryState } from './state'
import { emitYaml, parseYaml, withoutComments, type YamlMap } from './yaml'

/** The Compose targets: labels for Traefik's Docker provider, or for caddy-docker-proxy. */
export const COMPOSE_TARGETS = ['compose-traefik', 'compose-caddy'] as const
/** One of {@link COMPOSE_TARGETS}. */
export type ComposeTarget = (typeof COMPOSE_TARGETS)[number]

/**
 * Traefik router priorities of the label target. The action and catch-all routers add the minutes
 * from 2020 to the deployment's promotion (under 100 million until the 22nd century), so the bases
 * keep the carriers apart; everything stays below 2^31 for 32-bit Traefik builds.
 */
export const COMPOSE_TRAEFIK_PRIORITY = {
  header: 2_000_000_000,
  query: 1_900_000_000,
  action: 1_000_000_000,
  cookie: 900_000_000,
  current: 1,
} as const

const EPOCH_2020 = Date.UTC(2020, 0, 1)

/** Options of {@link renderCompose}. */
export interface ComposeRenderOptions extends Pick<RenderOptions, 'host' | 'entryPoints' | 'tls' | 'certResolver' | 'healthPath'> {
  /** The app's name: the Compose project (`name:`) and the first part of every service name (`shop-dpl-v1` for `dpl_v1`). */
  app: string
  /** The image of a deployment, with `{id}` for its deployment ID: `shop:{id}`. */
  image: string
  /** The Docker network the proxy shares with the app (created outside Compose). Default `web`. */
  network?: string
  /** The env file with NEXT_SERVER_ACTIONS_ENCRYPTION_KEY, relative to the Compose file. Default `app.env`. */
  envFile?: string
}

interface Resolved {
  app: string
  image: string
  network: string
  envFile: string
  host: string | null
  entryPoints: string[]
  tls: boolean
  certResolver: string | null
  healthPath: string
}

function bad(message: string): never {
  throw new DeploymentError('ERR_INVALID_ARG_VALUE', message)
}

const IMAGE = /^[a-z0-9][a-z0-9._/:@-]*$/i

/** Checks the options and fills in the defaults; throws `ERR_INVALID_ARG_VALUE` naming the first bad one. */
export function resolveComposeOptions(target: ComposeTarget, options: ComposeRenderOptions): Resolved {
  if (typeof options !== 'object' || options === null) bad('The Compose render options must be an object with app and image.')
  if (typeof options.app !== 'string' || !/^[a-z][a-z0-9-]{0,39}$/.test(options.app)) {
    bad(
      `The app name ${quote(options.app)} must be 1-40 lower-case letters, digits and "-", starting with a letter (it names the Compose project and its services).`,
    )
  }
  const image = options.image
  if (typeof image !== 'string' || !image.includes('{id}') || !IMAGE.test(image.replace(/\{id\}/g, 'id'))) {
    bad(`The image ${quote(image)} must be an image reference with {id} where the deployment ID goes, e.g. ${options.app}:{id}.`)
  }
  const network = options.network ?? 'web'
  if (typeof network !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(network))
    bad(`The network ${quote(network)} must be a Docker network name (letters, digits, "_", "." and "-").`)
  const envFile = options.envFile ?? 'app.env'
  if (typeof envFile !== 'string' || !/^[A-Za-z0-9_./-]{1,255}$/.test(envFile))
    bad(`The env file ${quote(envFile)} must be a plain path (letters, digits, "_", ".", "/" and "-").`)
  const common = resolveOptions({
    host: options.host,
    entryPoints: options.entryPoints,
    tls: options.tls,
    certResolver: options.certResolver,
    healthPath: options.healthPath,
  })
  if (target === 'compose-caddy') {
    if (common.host === null)
      bad('compose-caddy needs --host: caddy-docker-proxy serves the site at that address (and gets its certificate).')
    if (common.entryPoints.length > 0 || common.tls || common.certResolver !== null)
      bad('--entrypoint, --tls and --cert-resolver are Traefik options; Caddy serves HTTPS for --host by itself.')
  }
  return {
    app: options.app,
    image,
    network,
    envFile,
    host: common.host,
    entryPoints: common.entryPoints,
    tls: common.tls,
    certResolver: common.certResolver,
    healthPath: common.healthPath,
  }
}

/** Compose interpolates `$`; a literal one is written `$$`. */
function literal(value: string): string {
  return value.replace(/\$/g, '$$$$')
}

/** The minutes from 2020 to a promotion: the part of a priority that makes the newest promotion win. */
function promotionRank(promotedAt: string): number {
  return Math.max(0, Math.floor((Date.parse(promotedAt) - EPOCH_2020) / 60_000))
}

const NO_HEADER = '!HeaderRegexp(`X-Deployment-Id`, `.`)'
const NO_QUERY = '!QueryRegexp(`dpl`, `.`)'
const NO_ACTION = '!HeaderRegexp(`Next-Action`, `.`)'

interface Entry {
  id: string
  port: number
  promotedAt: string | null
  /** Every action ID the build knows (the label target routes by the newest promotion, not by what others know). */
  actions: string[]
}

function traefikLabels(e: Entry, o: Resolved, actionRouting: boolean): YamlMap {
  const service = `nsg-${e.id}`
  const labels: YamlMap = { 'traefik.enable': 'true', 'traefik.docker.network': o.network }
  const router = (name: string, rule: string, priority: number) => {
    const key = `traefik.http.routers.${service}-${name}`
    labels[`${key}.rule`] = literal(o.host ? `Host(\`${o.host}\`) && ${rule}` : rule)
    labels[`${key}.priority`] = String(priority)
    labels[`${key}.service`] = service
    if (o.entryPoints.length > 0) labels[`${key}.entrypoints`] = o.entryPoints.join(',')
    if (o.certResolver !== null) labels[`${key}.tls.certresolver`] = o.certResolver
    else if (o.tls) labels[`${key}.tls`] = 'true'
  }
  router('header', `Header(\`X-Deployment-Id\`, \`${e.id}\`)`, COMPOSE_TRAEFIK_PRIORITY.header)
  router('query', `Query(\`dpl\`, \`${e.id}\`) && ${NO_HEADER}`, COMPOSE_TRAEFIK_PRIORITY.query)
  // Without the current build's inventory (added without --dir) an action router of an older build
  // could take an ID the current build knows: the plan switches action routing off, and so do these.
  if (e.promotedAt !== null && actionRouting) {
    const rank = promotionRank(e.promotedAt)
    if (e.actions.length > 0) {
      const patterns = actionPatterns(e.actions)
      patterns.forEach((p, i) => {
        router(
          patterns.length === 1 ? 'action' : `action${i + 1}`,
          `HeaderRegexp(\`Next-Action\`, \`${p}\`) && ${NO_HEADER} && ${NO_QUERY}`,
          COMPOSE_TRAEFIK_PRIORITY.action + rank,
        )
      })
    }
  }
  router(
    'cookie',
    `HeaderRegexp(\`Cookie\`, \`(?:^|;\\s*)${DEPLOYMENT_COOKIE}=${e.id}(?:;|$)\`) && !Method(\`GET\`) && !Method(\`HEAD\`) && ${NO_HEADER} && ${NO_QUERY} && ${NO_ACTION}`,
    COMPOSE_TRAEFIK_PRIORITY.cookie,
  )
  if (e.promotedAt !== null) router('current', 'PathPrefix(`/`)', COMPOSE_TRAEFIK_PRIORITY.current + promotionRank(e.promotedAt))
  labels[`traefik.http.services.${service}.loadbalancer.server.port`] = String(e.port)
  return labels
}

function caddyLabels(e: Entry, o: Resolved, current: boolean): YamlMap {
  const m = (carrier: string) => `@nsg_${e.id}_${carrier}`
  const labels: YamlMap = { caddy: o.host as string }
  labels[`caddy.${m('header')}.header`] = `X-Deployment-Id ${e.id}`
  labels[`caddy.${m('query')}.query`] = `dpl=${e.id}`
  labels[`caddy.${m('query')}.not`] = 'header_regexp X-Deployment-Id .'
  labels[`caddy.${m('cookie')}.header_regexp`] = literal(`Cookie (^|;\\s*)${DEPLOYMENT_COOKIE}=${e.id}(;|$)`)
  labels[`caddy.${m('cookie')}.not_1`] = 'header_regexp X-Deployment-Id .'
  labels[`caddy.${m('cookie')}.not_2`] = 'query dpl=*'
  labels[`caddy.${m('cookie')}.not_3`] = 'header_regexp Next-Action .'
  labels[`caddy.${m('cookie')}.not_4`] = 'method GET HEAD'
  const proxy = (handle: string) => {
    labels[`${handle}.reverse_proxy`] = `{{upstreams ${e.port}}}`
    // caddy-docker-proxy routes to a container as soon as it runs, healthy or not: a request that
    // finds `next start` not listening yet is dialled again for a while (the body is buffered so a
    // form post can be) instead of failing.
    labels[`${handle}.reverse_proxy.lb_try_duration`] = '10s'
    labels[`${handle}.reverse_proxy.lb_try_interval`] = '250ms'
    labels[`${handle}.reverse_proxy.request_buffers`] = '1MiB'
  }
  ;['header', 'query', 'cookie'].forEach((carrier, i) => {
    labels[`caddy.handle_${i + 1}`] = m(carrier)
    proxy(`caddy.handle_${i + 1}`)
  })
  if (current) {
    // A handle without a matcher: Caddy sorts it after every handle with one.
    labels['caddy.handle_9'] = ''
    proxy('caddy.handle_9')
  }
  return labels
}

/** The Compose file of a registry as data (comments as `#…` keys). */
export function composeConfig(target: ComposeTarget, state: RegistryState, plan: RoutingPlan, options: ComposeRenderOptions): YamlMap {
  if (!(COMPOSE_TARGETS as readonly string[]).includes(target))
    bad(`The Compose target must be one of ${COMPOSE_TARGETS.join(', ')}; got ${quote(target)}.`)
  checkPlan(plan)
  const o = resolveComposeOptions(target, options)
  const ports = new Map([plan.current, ...plan.retained].map((t) => [t.id, t.upstream.port]))
  // Service names are host names on the Docker network: lower case, "_" as "-", collisions refused.
  const names = k8sNames(o.app, [plan.current.id, ...plan.retained.map((r) => r.id)], 'Docker Compose')
  const services: YamlMap = {}
  // Registry order: a deployment's place never depends on which one is current.
  for (const d of state.deployments) {
    if (!ports.has(d.id)) continue
    const e: Entry = {
      id: d.id,
      port: ports.get(d.id) as number,
      promotedAt: d.promotedAt,
      actions: d.actions.map((a) => validateActionId(a, `deployment ${d.id}`)),
    }
    const isCurrent = d.id === plan.current.id
    const labels: YamlMap = {
      'next-skew-guard.app': o.app,
      'next-skew-guard.deployment-id': d.id,
      ...(target === 'compose-traefik' ? traefikLabels(e, o, plan.actionRouting) : caddyLabels(e, o, isCurrent)),
    }
    const health = literal(
      `fetch('http://127.0.0.1:${e.port}${o.healthPath}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
    )
    services[`#${d.id}`] = `${d.id}${isCurrent ? ' (current)' : d.promotedAt !== null ? ' (previous)' : ' (staged)'}`
    services[names.get(d.id) as string] = {
      image: o.image.replace(/\{id\}/g, d.id),
      env_file: [o.envFile],
      environment: {
        NODE_ENV: 'production',
        NEXT_DEPLOYMENT_ID: d.id,
        SKEW_GUARD_DEPLOYMENT_COOKIE: '1',
        PORT: String(e.port),
        HOSTNAME: '0.0.0.0',
      },
      // The proxy routes to a container only once it is healthy, so a new release joins when it
      // answers and a dead one leaves.
      healthcheck: { test: ['CMD', 'node', '-e', health], interval: '5s', timeout: '3s', retries: 3, start_period: '30s' },
      labels,
      networks: [o.network],
      restart: 'unless-stopped',
      stop_grace_period: '30s',
    }
  }
  return { name: o.app, services, networks: { [o.network]: { name: o.network, external: true } } }
}

/**
 * Renders the Compose file of a registry for `target`, read back and compared with what was meant.
 * Deterministic: the same registry and options give the same bytes.
 */
export function renderCompose(target: ComposeTarget, state: RegistryState, plan: RoutingPlan, options: ComposeRenderOptions): string {
  const config = composeConfig(target, state, plan, options)
  const proxy = target === 'compose-traefik' ? "Traefik's Docker provider" : 'caddy-docker-proxy'
  const header = [
    `next-skew-guard: every registered deployment of ${options.app} as a Compose service whose labels carry its`,
    `routes for ${proxy}.`,
    '',
    `Generated by \`next-skew-guard deployments render --target ${target}\` from the deployment registry.`,
    'The next render replaces this file: change the registry (add, promote, retire, gc), not this file.',
    'Apply it with `docker compose -f <this file> up -d --remove-orphans`: the proxy picks up new',
    target === 'compose-traefik'
      ? 'containers when they are healthy and drops removed ones, without a reload.'
      : 'containers when they run (a starting one is dialled again for up to 10 s) and drops removed\nones, without a reload.',
    '',
    `  current:  ${plan.current.id}`,
    ...plan.retained.map((r) => `  retained: ${r.id} (${r.status})`),
    '',
    'A request goes to the deployment named by the first of these that it carries:',
    '  1. the x-deployment-id header, 2. the dpl query parameter,',
    target === 'compose-traefik'
      ? '  3. the Next-Action header (to the most recently promoted build that knows the action ID),'
      : '  3. (no Next-Action routing with caddy-docker-proxy),',
    '  4. the __vdpl cookie for methods other than GET and HEAD,',
    'and to the current deployment otherwise. A deployment whose container stops',
    target === 'compose-traefik'
      ? '(or turns unhealthy) loses its routes: its requests go to the current deployment.'
      : 'loses its routes: its requests go to the current deployment.',
  ]
  const text = `${header
    .flatMap((l) => l.split('\n'))
    .map((l) => (l === '' ? '#' : `# ${l}`))
    .join('\n')}\n${emitYaml(config)}`
  if (JSON.stringify(parseYaml(text)) !== JSON.stringify(withoutComments(config))) {
    throw new DeploymentError(
      'ERR_PROXY_CHECK',
      'Compose file: the YAML written does not read back as the file meant (a bug: please report it).',
    )
  }
  return text
}

/**
 * Deployments whose registered upstream is not their Compose service: the labels route to the
 * container itself, so only the upstream's port is used; the warning says what to register.
 */
export function composeUpstreamWarnings(plan: RoutingPlan, options: Pick<ComposeRenderOptions, 'app'>): string[] {
  const names = k8sNames(options.app, [plan.current.id, ...plan.retained.map((r) => r.id)], 'Docker Compose')
  return [plan.current, ...plan.retained]
    .filter((t) => t.upstream.host !== names.get(t.id))
    .map(
      (t) =>
        `${t.id}: its Compose service is ${names.get(t.id)}:${t.upstream.port}; the registry's upstream ${t.upstream.address} is only used for its port (register --upstream ${names.get(t.id)}:${t.upstream.port} to match).`,
    )
}
