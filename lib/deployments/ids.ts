/**
 * The values the registry writes into proxy configs: deployment IDs, upstream addresses, action
 * IDs. Each is checked against a strict pattern before it is stored and again before it is
 * rendered, so nothing a proxy would parse as syntax (quotes, spaces, semicolons, braces,
 * backticks, newlines) can ever reach a config file.
 */

import { ACTION_ID_PATTERN } from '../shared/protocol'
import { DeploymentError, quote } from './errors'

/** A deployment ID: what Next.js sends as `x-deployment-id` and `?dpl=`, and the guard as `__vdpl`. */
export const DEPLOYMENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** The rule in words, for messages and help texts. */
export const DEPLOYMENT_ID_RULE = '1-64 characters of letters, digits, "_" and "-"'

/**
 * Returns `id` when it is a valid deployment ID; throws `ERR_DEPLOYMENT_ID` otherwise. IDs go
 * verbatim into nginx maps, Caddy matchers, Traefik rules and HAProxy ACLs, which is why the
 * alphabet is this small.
 */
export function validateDeploymentId(id: unknown, what = 'deployment ID'): string {
  if (typeof id !== 'string' || !DEPLOYMENT_ID_PATTERN.test(id)) {
    throw new DeploymentError(
      'ERR_DEPLOYMENT_ID',
      `The ${what} ${refused(id)} is not allowed: use ${DEPLOYMENT_ID_RULE} (the same ID you give Next.js as ` +
        'deploymentId / NEXT_DEPLOYMENT_ID). It is written into proxy configs as it is, so nothing else is accepted.',
    )
  }
  return id
}

/**
 * A refused value for a message. Something that looks like a key (16+ base64 characters, as a
 * pasted NEXT_SERVER_ACTIONS_ENCRYPTION_KEY would) is described, never echoed.
 */
export function refused(value: unknown): string {
  if (typeof value === 'string') {
    const bare = value.replace(/[\s"'`]/g, '')
    if (bare.length >= 16 && /^[A-Za-z0-9+/=_-]+$/.test(bare) && /[+/=]/.test(bare))
      return `(a ${value.length}-character value, not shown: it looks like a key)`
  }
  return quote(value)
}

/** Returns `id` when it is a Server Action ID (40 or 42 lowercase hex digits); throws `ERR_INVALID_ARG_VALUE` otherwise. */
export function validateActionId(id: unknown, where: string): string {
  if (typeof id !== 'string' || !ACTION_ID_PATTERN.test(id)) {
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', `${where}: ${quote(id)} is not a Server Action ID (40 or 42 lowercase hex digits).`)
  }
  return id
}

/** A parsed upstream address. */
export interface Upstream {
  /** Host name, IPv4 address, or IPv6 address in brackets (`[::1]`). */
  host: string
  port: number
  /** `host:port` as given (the canonical form: no scheme, no path). */
  address: string
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const IPV6 = /^\[[0-9A-Fa-f:.]{2,45}\]$/

/**
 * Parses `host:port` (`127.0.0.1:3001`, `app-v1:3000`, `[::1]:3001`); throws
 * `ERR_DEPLOYMENT_UPSTREAM` for anything else, including a scheme or a path.
 */
export function parseUpstream(value: unknown): Upstream {
  const fail = (why: string): never => {
    throw new DeploymentError(
      'ERR_DEPLOYMENT_UPSTREAM',
      `The upstream ${refused(value)} ${why}: give the address the deployment's \`next start\` listens on as host:port, ` +
        'e.g. 127.0.0.1:3001, app-v1:3000 (a Docker service) or [::1]:3001.',
    )
  }
  if (typeof value !== 'string' || value === '') return fail('is not usable')
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return fail('has a scheme')
  const colon = value.lastIndexOf(':')
  if (colon <= 0) return fail('has no port')
  const host = value.slice(0, colon)
  const portText = value.slice(colon + 1)
  if (!/^[0-9]{1,5}$/.test(portText)) return fail('has no valid port')
  const port = Number(portText)
  if (port < 1 || port > 65535) return fail('has a port outside 1-65535')
  if (!HOSTNAME.test(host) && !IPV6.test(host)) return fail('has a host that is neither a name nor an IP address')
  return { host, port, address: `${host}:${port}` }
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/**
 * Parses a duration such as `90s`, `30m`, `12h`, `7d`, `2w` or `1d12h` into milliseconds;
 * throws `ERR_INVALID_ARG_VALUE` for anything else (a bare number is refused: its unit would be a guess).
 */
export function parseDuration(value: unknown, name = 'duration'): number {
  const text = typeof value === 'string' ? value.trim() : ''
  let total = 0
  let rest = text
  while (rest !== '') {
    const m = /^(\d{1,6})([smhdw])/.exec(rest)
    if (!m) {
      total = NaN
      break
    }
    total += Number(m[1]) * UNITS[m[2]]
    rest = rest.slice(m[0].length)
  }
  if (text === '' || !Number.isFinite(total) || total <= 0) {
    throw new DeploymentError(
      'ERR_INVALID_ARG_VALUE',
      `The ${name} ${refused(value)} is not a duration: use a number with a unit s, m, h, d or w (e.g. 12h, 7d, 1d12h).`,
    )
  }
  return total
}

/** Formats milliseconds the way {@link parseDuration} reads them (largest units first). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1_000) return '0s'
  let rest = Math.floor(ms / 1_000) * 1_000
  let out = ''
  for (const unit of ['w', 'd', 'h', 'm', 's']) {
    const n = Math.floor(rest / UNITS[unit])
    if (n > 0) {
      out += `${n}${unit}`
      rest -= n * UNITS[unit]
    }
  }
  return out
}
