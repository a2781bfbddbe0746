/**
 * Traefik v3: a dynamic configuration file for the file provider (which watches it: no reload).
 * Per retained deployment, one router per carrier with an explicit priority (header > query >
 * Next-Action > cookie; Traefik's default priority is the rule's length, which would rank them
 * by accident) and rules that also require the higher carriers to be absent. Traefik has no
 * cookie matcher: the cookie is matched with an anchored regular expression on the Cookie header.
 *
 * Fallback when a retained deployment is down: a `failover` service (primary = the retained
 * deployment, fallback = the current one) driven by health checks. The active check alone leaves
 * a window (up to one interval) in which requests get 502; a passive health check (one failed
 * request marks the server down, Traefik 3.6+) plus the retry middleware closes it: the failed
 * attempt marks the server down and the retry goes to the fallback.
 */

import { DeploymentError } from './errors'
import { checkPlan, headerLines, resolveOptions, type RenderOptions, type ResolvedOptions } from './render-common'
import { DEPLOYMENT_COOKIE, type RoutingPlan } from './routing'
import { emitYaml, parseYaml, withoutComments, type YamlMap, type YamlValue } from './yaml'

/** Router priorities by carrier (the current deployment's catch-all is 1, below anything of yours). */
export const TRAEFIK_PRIORITY = { header: 40000, query: 30000, action: 20000, cookie: 10000, current: 1 } as const

const ABSENT_HEADER = '!HeaderRegexp(`X-Deployment-Id`, `.`)'
const ABSENT_QUERY = '!QueryRegexp(`dpl`, `.`)'
const ABSENT_ACTION = '!HeaderRegexp(`Next-Action`, `.`)'

/** Service name of a deployment (the current one: `nsg-current`). */
export function traefikServiceName(id: string): string {
  return `nsg-d-${id}`
}

function router(rule: string, priority: number, service: string, o: ResolvedOptions, retry: boolean): YamlMap {
  const r: YamlMap = { rule: o.host ? `Host(\`${o.host}\`) && ${rule}` : rule, priority, service }
  if (o.entryPoints.length > 0) r.entryPoints = o.entryPoints
  if (retry) r.middlewares = ['nsg-retry']
  if (o.tls) r.tls = o.certResolver ? { certResolver: o.certResolver } : {}
  return r
}

/** The dynamic configuration as data (comments as `#…` keys). */
export function traefikConfig(plan: RoutingPlan, options: RenderOptions = {}): YamlMap {
  checkPlan(plan)
  const o = resolveOptions(options)
  const routers: YamlMap = {}
  const services: YamlMap = {}
  for (const r of plan.retained) {
    const service = traefikServiceName(r.id)
    routers[`#${r.id}`] = `${r.id} (${r.status}) at ${r.upstream.address}`
    routers[`${service}-header`] = router(`Header(\`X-Deployment-Id\`, \`${r.id}\`)`, TRAEFIK_PRIORITY.header, service, o, true)
    routers[`${service}-query`] = router(`Query(\`dpl\`, \`${r.id}\`) && ${ABSENT_HEADER}`, TRAEFIK_PRIORITY.query, service, o, true)
    if (r.actions.length > 0) {
      routers[`${service}-action`] = router(
        `HeaderRegexp(\`Next-Action\`, \`^(?:${r.actions.join('|')})$\`) && ${ABSENT_HEADER} && ${ABSENT_QUERY}`,
        TRAEFIK_PRIORITY.action,
        service,
        o,
        true,
      )
    }
    routers[`${service}-cookie`] = router(
      `HeaderRegexp(\`Cookie\`, \`(?:^|;\\s*)${DEPLOYMENT_COOKIE}=${r.id}(?:;|$)\`) && !Method(\`GET\`) && !Method(\`HEAD\`) && ${ABSENT_HEADER} && ${ABSENT_QUERY} && ${ABSENT_ACTION}`,
      TRAEFIK_PRIORITY.cookie,
      service,
      o,
      true,
    )
    const primary: YamlMap = {
      healthCheck: { path: o.healthPath, interval: `${o.healthIntervalSeconds}s`, timeout: '1s' },
    }
    if (o.passiveHealthCheck) primary.passiveHealthCheck = { failureWindow: `${o.failTimeoutSeconds}s`, maxFailedAttempts: 1 }
    primary.servers = [{ url: `http://${r.upstream.address}` }]
    primary.serversTransport = 'nsg-retained'
    services[`#${r.id}`] = `${r.id}: the current deployment takes over while its health checks fail`
    services[service] = { failover: { service: `${service}-primary`, fallback: 'nsg-current' } }
    services[`${service}-primary`] = { loadBalancer: primary }
  }
  routers['#current'] = `Everything else: the current deployment, ${plan.current.id}.`
  routers['nsg-current'] = router('PathPrefix(`/`)', TRAEFIK_PRIORITY.current, 'nsg-current', o, false)
  services['#current'] = `The current deployment, ${plan.current.id}.`
  services['nsg-current'] = { loadBalancer: { servers: [{ url: `http://${plan.current.upstream.address}` }] } }
  const http: YamlMap = { routers }
  if (plan.retained.length > 0) {
    http.middlewares = {
      '#retry':
        'A request that found a retained deployment dead is sent again (to the fallback, once the\nfailure marked it down). Only network errors are retried, never an answer.',
      'nsg-retry': { retry: { attempts: 2 } },
    }
  }
  http.services = services
  if (plan.retained.length > 0) {
    http.serversTransports = {
      '#transport':
        'No kept-alive connections to retained deployments: a pooled connection to a process that just\ndied fails after the request was sent, which nothing may retry. They see little traffic.',
      'nsg-retained': { maxIdleConnsPerHost: -1 },
    }
  }
  return { http }
}

/**
 * Checks the structure of a Traefik dynamic configuration: routers with a rule, an integer
 * priority and an existing service; services that are load balancers with server URLs or
 * failovers between existing services; existing middlewares; balanced backticks and parentheses
 * in rules. Throws `ERR_PROXY_CHECK` naming the first problem.
 */
export function validateTraefikConfig(config: YamlValue): void {
  const fail = (why: string): never => {
    throw new DeploymentError('ERR_PROXY_CHECK', `Traefik configuration: ${why}`)
  }
  const isMap = (v: unknown): v is YamlMap => typeof v === 'object' && v !== null && !Array.isArray(v)
  if (!isMap(config) || !isMap(config.http)) fail('expected a top-level "http" mapping.')
  const http = (config as YamlMap).http as YamlMap
  for (const key of Object.keys(http))
    if (!['routers', 'services', 'middlewares', 'serversTransports'].includes(key)) fail(`unknown section http.${key}.`)
  const routers = http.routers
  const services = http.services
  const middlewares = http.middlewares ?? {}
  const transports = http.serversTransports ?? {}
  if (!isMap(routers) || !isMap(services) || !isMap(middlewares) || !isMap(transports)) {
    fail('http.routers, http.services (and http.middlewares, http.serversTransports) must be mappings.')
  }
  for (const [name, raw] of Object.entries(routers as YamlMap)) {
    if (!isMap(raw)) fail(`router ${name} is not a mapping.`)
    const r = raw as YamlMap
    for (const key of Object.keys(r))
      if (!['rule', 'priority', 'service', 'middlewares', 'entryPoints', 'tls'].includes(key)) fail(`router ${name}: unknown key ${key}.`)
    if (typeof r.rule !== 'string' || r.rule === '') fail(`router ${name} has no rule.`)
    const rule = r.rule as string
    if ((rule.match(/`/g) ?? []).length % 2 !== 0) fail(`router ${name}: unbalanced backticks in its rule.`)
    let depth = 0
    for (const part of rule.split('`').filter((_, i) => i % 2 === 0)) {
      for (const ch of part) {
        depth += ch === '(' ? 1 : ch === ')' ? -1 : 0
        if (depth < 0) fail(`router ${name}: unbalanced parentheses in its rule.`)
      }
    }
    if (depth !== 0) fail(`router ${name}: unbalanced parentheses in its rule.`)
    if (typeof r.priority !== 'number' || !Number.isInteger(r.priority) || r.priority < 1)
      fail(`router ${name}: priority must be a positive integer.`)
    if (typeof r.service !== 'string' || !((r.service as string) in (services as YamlMap)))
      fail(`router ${name}: service ${String(r.service)} is not defined.`)
    if (r.middlewares !== undefined) {
      if (!Array.isArray(r.middlewares)) fail(`router ${name}: middlewares must be a list.`)
      for (const m of r.middlewares as YamlValue[])
        if (typeof m !== 'string' || !(m in (middlewares as YamlMap))) fail(`router ${name}: middleware ${String(m)} is not defined.`)
    }
  }
  for (const [name, raw] of Object.entries(services as YamlMap)) {
    if (!isMap(raw)) fail(`service ${name} is not a mapping.`)
    const s = raw as YamlMap
    if (isMap(s.loadBalancer)) {
      const servers = s.loadBalancer.servers
      if (!Array.isArray(servers) || servers.length === 0) fail(`service ${name}: a load balancer needs servers.`)
      for (const server of servers as YamlValue[]) {
        if (!isMap(server) || typeof server.url !== 'string' || !/^http:\/\/[^/\s]+$/.test(server.url))
          fail(`service ${name}: every server needs an http:// url.`)
      }
      const transport = s.loadBalancer.serversTransport
      if (transport !== undefined && (typeof transport !== 'string' || !(transport in (transports as YamlMap)))) {
        fail(`service ${name}: servers transport ${String(transport)} is not defined.`)
      }
    } else if (isMap(s.failover)) {
      for (const key of ['service', 'fallback'] as const) {
        const target = s.failover[key]
        if (typeof target !== 'string' || !(target in (services as YamlMap)))
          fail(`service ${name}: failover ${key} ${String(target)} is not defined.`)
      }
    } else fail(`service ${name} is neither a loadBalancer nor a failover.`)
  }
}

/** Renders the Traefik dynamic configuration of a routing plan, read back and validated. Deterministic. */
export function renderTraefik(plan: RoutingPlan, options: RenderOptions = {}): string {
  const config = traefikConfig(plan, options)
  const header = headerLines(plan, 'traefik', [
    'Put it where the file provider watches (a directory is watched more reliably than a single',
    'file), e.g. in the static configuration:',
    '',
    '    providers:',
    '      file:',
    '        directory: /etc/traefik/dynamic',
    '        watch: true',
    '',
    'Traefik picks up every render by itself. Remove any router of your own that sends the',
    "app's host to a single server: nsg-current is that router now.",
  ])
  const text = `${header.map((l) => (l === '' ? '#' : `# ${l}`)).join('\n')}\n${emitYaml(config)}`
  verifyTraefikText(text, config)
  return text
}

/** Reads a rendered Traefik file back, validates it, and (when given) compares it with what was meant. */
export function verifyTraefikText(text: string, expected?: YamlMap): void {
  const parsed = parseYaml(text)
  validateTraefikConfig(parsed)
  if (expected !== undefined && JSON.stringify(parsed) !== JSON.stringify(withoutComments(expected))) {
    throw new DeploymentError(
      'ERR_PROXY_CHECK',
      'Traefik configuration: the YAML written does not read back as the configuration meant (a bug: please report it).',
    )
  }
}
