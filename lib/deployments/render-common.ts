/**
 * What the four renderers share: the options, the header comment, and the last check that every
 * value about to be written into a config is one of the few safe shapes (IDs, action IDs,
 * host:port), whatever the caller passed in.
 */

import { DeploymentError, quote } from './errors'
import { DEPLOYMENT_ID_PATTERN, parseUpstream, validateActionId } from './ids'
import { describePlan, type RoutingPlan } from './routing'

/** The proxies a config can be rendered for. */
export const PROXIES = ['nginx', 'caddy', 'traefik', 'haproxy'] as const
/** One of {@link PROXIES}. */
export type ProxyKind = (typeof PROXIES)[number]

/** Options of the renderers (each uses the ones that apply to its proxy). */
export interface RenderOptions {
  /**
   * Seconds a retained deployment that failed stays skipped before it is tried again (nginx
   * `fail_timeout`, Caddy `fail_duration`, Traefik's passive window). Default 10.
   */
  failTimeoutSeconds?: number
  /** Health check path for the proxies that probe over HTTP (Traefik). Default `/api/health`, the guard's endpoint. */
  healthPath?: string
  /** Seconds between active health checks (HAProxy, Traefik). Default 2. */
  healthIntervalSeconds?: number
  /** Caddy's version (`2.6.2`): 2.6 and older need `buffer_requests` to retry a form post on the current deployment. Default: 2.7 or newer. */
  caddyVersion?: string
  /**
   * Caddy: addresses (CIDR) of proxies in front of Caddy whose X-Forwarded-Host it passes on
   * (`trusted_proxies`); `private_ranges` for all private networks. Default: none, and Caddy sets
   * X-Forwarded-Host from Host.
   */
  trustedProxies?: string[]
  /** Traefik: the host the routers answer for (`Host(...)`); default: any host. */
  host?: string
  /** Traefik: entry points of the routers; default: all. */
  entryPoints?: string[]
  /** Traefik: serve the routers over TLS with this certificate resolver. */
  certResolver?: string
  /** Traefik: serve the routers over TLS (default certificate); implied by `certResolver`. */
  tls?: boolean
  /** Traefik before 3.6 has no passive health checks: set false there (fallback then waits for the active check). Default true. */
  passiveHealthCheck?: boolean
}

/** Resolved options with defaults, validated. */
export interface ResolvedOptions {
  failTimeoutSeconds: number
  healthPath: string
  healthIntervalSeconds: number
  caddyLegacy: boolean
  trustedProxies: string[]
  host: string | null
  entryPoints: string[]
  certResolver: string | null
  tls: boolean
  passiveHealthCheck: boolean
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/
const CIDR = /^(?:private_ranges|(?:\d{1,3}\.){3}\d{1,3}(?:\/\d{1,2})?|[0-9A-Fa-f:]{2,39}(?:\/\d{1,3})?)$/
const HOST = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

function bad(message: string): never {
  throw new DeploymentError('ERR_INVALID_ARG_VALUE', message)
}

/** Checks the options and fills in the defaults. */
export function resolveOptions(options: RenderOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) bad('The render options must be an object.')
  const seconds = (value: unknown, name: string, fallback: number): number => {
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 3600)
      bad(`${name} must be a whole number of seconds from 1 to 3600; got ${quote(value)}.`)
    return value as number
  }
  const healthPath = options.healthPath ?? '/api/health'
  if (typeof healthPath !== 'string' || !/^\/[A-Za-z0-9_\-./~]*$/.test(healthPath)) {
    bad(`The health path ${quote(healthPath)} must start with "/" and hold only letters, digits and - _ . / ~.`)
  }
  let caddyLegacy = false
  if (options.caddyVersion !== undefined) {
    const m = /^v?(\d+)\.(\d+)(?:\.\d+)?/.exec(String(options.caddyVersion))
    if (!m) bad(`The Caddy version ${quote(options.caddyVersion)} is not a version number such as 2.6.2.`)
    caddyLegacy = Number(m[1]) < 2 || (Number(m[1]) === 2 && Number(m[2]) < 7)
  }
  const trustedProxies = options.trustedProxies ?? []
  if (!Array.isArray(trustedProxies) || trustedProxies.some((t) => typeof t !== 'string' || !CIDR.test(t))) {
    bad(`The trusted proxies ${quote(String(trustedProxies))} must be IP ranges such as 10.0.0.0/8 or 127.0.0.1/32, or private_ranges.`)
  }
  const host = options.host ?? null
  if (host !== null && (typeof host !== 'string' || !HOST.test(host))) bad(`--host ${quote(host)} is not a host name (e.g. example.com).`)
  const entryPoints = options.entryPoints ?? []
  if (!Array.isArray(entryPoints) || entryPoints.some((e) => typeof e !== 'string' || !NAME.test(e))) {
    bad(`The entry points ${quote(String(entryPoints))} must be names of letters, digits, "_" and "-".`)
  }
  const certResolver = options.certResolver ?? null
  if (certResolver !== null && (typeof certResolver !== 'string' || !NAME.test(certResolver)))
    bad(`The certificate resolver ${quote(certResolver)} must be a name of letters, digits, "_" and "-".`)
  return {
    failTimeoutSeconds: seconds(options.failTimeoutSeconds, 'failTimeoutSeconds', 10),
    healthPath,
    healthIntervalSeconds: seconds(options.healthIntervalSeconds, 'healthIntervalSeconds', 2),
    caddyLegacy,
    trustedProxies: [...trustedProxies],
    host,
    entryPoints: [...entryPoints],
    certResolver,
    tls: options.tls === true || certResolver !== null,
    passiveHealthCheck: options.passiveHealthCheck !== false,
  }
}

/**
 * Re-checks a plan right before rendering (a plan can be built by hand through the API): every ID,
 * action ID and upstream must have its safe shape, and deployment IDs must differ in more than
 * letter case (nginx compares map keys without case).
 */
export function checkPlan(plan: RoutingPlan): void {
  if (typeof plan !== 'object' || plan === null || !plan.current || !Array.isArray(plan.retained)) {
    bad('A routing plan is needed (planRouting(readRegistry(file))).')
  }
  const seen = new Set<string>()
  for (const t of [plan.current, ...plan.retained]) {
    if (!DEPLOYMENT_ID_PATTERN.test(String(t.id))) {
      throw new DeploymentError(
        'ERR_DEPLOYMENT_ID',
        `Refusing to render deployment ID ${quote(t.id)}: it is not 1-64 letters, digits, "_" and "-".`,
      )
    }
    if (seen.has(t.id.toLowerCase()))
      throw new DeploymentError('ERR_DEPLOYMENT_ID', `Deployment ID ${quote(t.id)} appears twice (letter case aside).`)
    seen.add(t.id.toLowerCase())
    const parsed = parseUpstream(t.upstream?.address)
    if (parsed.address !== t.upstream.address) bad(`The upstream of ${t.id} is not canonical.`)
  }
  for (const r of plan.retained) for (const a of r.actions) validateActionId(a, `deployment ${r.id}`)
}

/** The comment block at the top of every rendered file (without comment markers). */
export function headerLines(plan: RoutingPlan, proxy: ProxyKind, usage: string[]): string[] {
  return [
    `next-skew-guard: version-locked routing for ${proxy}.`,
    '',
    `Generated by \`next-skew-guard deployments render --proxy ${proxy}\` from the deployment registry.`,
    'The next render replaces this file: change the registry (add, promote, retire, gc), not this file.',
    '',
    ...describePlan(plan).map((l) => `  ${l}`),
    '',
    'A request goes to the deployment named by the first of these that it carries:',
    '  1. the x-deployment-id header (Next.js RSC and Server Action fetches)',
    '  2. the dpl query parameter (static assets, ?dpl=<id>)',
    '  3. the Next-Action header, when only a retained build knows that action ID',
    '  4. the __vdpl cookie, for methods other than GET and HEAD (form posts without JavaScript)',
    'and to the current deployment otherwise, also for unknown or retired IDs. A retained',
    'deployment that is down falls back to the current one.',
    '',
    ...usage,
  ]
}

/** `# `-prefixed comment lines (empty lines become a bare `#`). */
export function hashComment(lines: string[], indent = ''): string {
  return lines.map((l) => (l === '' ? `${indent}#` : `${indent}# ${l}`)).join('\n')
}

/** Splits a list into chunks of `size` (long ID lists over several config lines). */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
