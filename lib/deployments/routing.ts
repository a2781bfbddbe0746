/**
 * The routing contract as data: from the registry to what every proxy config must say. The
 * renderers only translate this plan into each proxy's syntax, so the contract lives here once.
 *
 * Contract (per request; the first carrier that is present and non-empty decides):
 * 1. `x-deployment-id` header (Next.js sends it on RSC and Server Action fetches);
 * 2. `?dpl=` query parameter (static assets);
 * 3. `Next-Action` header: an action ID that only retained builds know goes to the most recently
 *    current of them; any other ID (one the current build knows, or nobody does) goes to current;
 * 4. `__vdpl` cookie, for methods other than GET and HEAD only (no-JS form posts; a reload or a
 *    new document always gets the current build);
 * 5. otherwise the current deployment.
 * A carrier naming the current deployment, an unknown or retired ID goes to current. A retained
 * deployment whose process is down falls back to current. Matching is exact.
 */

import { DeploymentError } from './errors'
import { parseUpstream, validateActionId, validateDeploymentId, type Upstream } from './ids'
import type { Deployment, RegistryState } from './state'

/** Request header carrying the deployment ID (Next.js RSC and action fetches). */
export const DEPLOYMENT_HEADER = 'x-deployment-id'
/** Query parameter carrying the deployment ID (Next.js static asset URLs). */
export const DEPLOYMENT_QUERY = 'dpl'
/** Cookie carrying the deployment ID of the last document (set by the guard on document responses). */
export const DEPLOYMENT_COOKIE = '__vdpl'
/** Request header carrying the Server Action ID (JS calls). */
export const ACTION_HEADER_NAME = 'Next-Action'

/** One deployment as the proxies see it. */
export interface RouteTarget {
  id: string
  upstream: Upstream
}

/** A deployment other than the current one. */
export interface RetainedRoute extends RouteTarget {
  /** Action IDs routed here by `Next-Action` alone (sorted): only this and older retained builds know them. */
  actions: string[]
  /** 'previous' (it was current once) or 'staged' (added, never promoted). */
  status: 'previous' | 'staged'
}

/** What a generated proxy config implements. */
export interface RoutingPlan {
  current: RouteTarget
  /** Every other registered deployment, in registry order. */
  retained: RetainedRoute[]
  /** False when the current deployment has no recorded action IDs: Next-Action routing is then off. */
  actionRouting: boolean
  /** Things the operator should know (printed by `render` on stderr). */
  warnings: string[]
}

/** Builds the routing plan of a registry. Throws `ERR_DEPLOYMENT_CURRENT` when nothing is promoted yet. */
export function planRouting(state: RegistryState): RoutingPlan {
  if (typeof state !== 'object' || state === null || !Array.isArray(state.deployments)) {
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', 'planRouting needs a registry (readRegistry(file)).')
  }
  if (state.current === null) {
    throw new DeploymentError(
      'ERR_DEPLOYMENT_CURRENT',
      'The registry has no current deployment yet, so there is nothing to route to: `next-skew-guard deployments promote <id>` first.',
    )
  }
  const target = (d: Deployment): RouteTarget => ({ id: validateDeploymentId(d.id), upstream: parseUpstream(d.upstream) })
  const currentDeployment = state.deployments.find((d) => d.id === state.current)
  if (!currentDeployment)
    throw new DeploymentError('ERR_DEPLOYMENT_CURRENT', `The current deployment ${state.current} is not in the registry.`)
  const warnings: string[] = []
  const actionRouting = currentDeployment.actions.length > 0
  if (!actionRouting) {
    warnings.push(
      `The current deployment ${currentDeployment.id} has no recorded Server Action IDs (added without --dir), so routing by ` +
        'Next-Action is off: an old tab without x-deployment-id then reaches the current build. Re-add it with --replace --dir <app>.',
    )
  }
  const known = new Set(currentDeployment.actions.map((a) => validateActionId(a, `deployment ${currentDeployment.id}`)))
  const others = state.deployments.filter((d) => d.id !== state.current)
  // Which old build gets an ID several of them know: the one that was current most recently
  // (its tabs are the most numerous); staged builds never served a page, so they come last.
  const byRecency = [...others].sort((a, b) => {
    const ra = a.supersededAt ? Date.parse(a.supersededAt) : -Infinity
    const rb = b.supersededAt ? Date.parse(b.supersededAt) : -Infinity
    return rb - ra || others.indexOf(b) - others.indexOf(a)
  })
  const claimed = new Map<string, string[]>()
  for (const d of byRecency) {
    const mine: string[] = []
    if (actionRouting) {
      for (const a of d.actions) {
        validateActionId(a, `deployment ${d.id}`)
        if (known.has(a)) continue
        known.add(a)
        mine.push(a)
      }
    }
    claimed.set(d.id, mine.sort())
  }
  for (const d of others) {
    if (d.actions.length === 0 && actionRouting) {
      warnings.push(
        `Deployment ${d.id} has no recorded Server Action IDs (added without --dir): only x-deployment-id, ?dpl= and the cookie route to it.`,
      )
    }
  }
  return {
    current: target(currentDeployment),
    retained: others.map((d) => ({
      ...target(d),
      actions: claimed.get(d.id) ?? [],
      status: d.supersededAt !== null || d.promotedAt !== null ? 'previous' : 'staged',
    })),
    actionRouting,
    warnings,
  }
}

/** A one-line summary of a plan for config headers: `current dpl_v2 (127.0.0.1:3002); retained dpl_v1 (127.0.0.1:3001)`. */
export function describePlan(plan: RoutingPlan): string[] {
  const lines = [`current:  ${plan.current.id} at ${plan.current.upstream.address}`]
  for (const r of plan.retained) {
    lines.push(
      `retained: ${r.id} at ${r.upstream.address} (${r.status}; ${r.actions.length} action ID${r.actions.length === 1 ? '' : 's'} only it knows)`,
    )
  }
  if (plan.retained.length === 0) lines.push('retained: none (every request goes to the current deployment)')
  return lines
}

/** What {@link routeRequest} reads of a request: its method, URL (path and query) and headers. */
export interface RoutedRequest {
  method: string
  /** The request URL: absolute, or path and query. */
  url: string
  /** Header values by lower-case name (a `Headers` object works too). */
  headers: Headers | Record<string, string | string[] | undefined>
}

function header(headers: RoutedRequest['headers'], name: string): string {
  const value =
    typeof (headers as Headers).get === 'function'
      ? (headers as Headers).get(name)
      : (headers as Record<string, string | string[] | undefined>)[name]
  return (Array.isArray(value) ? value[0] : value) ?? ''
}

function cookie(cookieHeader: string, name: string): string {
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return ''
}

/**
 * The deployment the routing contract sends `request` to, in JavaScript: what the rendered proxy
 * configs do, for a host whose proxy cannot be configured (the guard's in-app forwarding). Exact
 * matches only; an unknown ID, or one naming the current deployment, gives the current one.
 */
export function routeRequest(plan: RoutingPlan, request: RoutedRequest): RouteTarget {
  const byId = (id: string): RouteTarget | null =>
    id === plan.current.id ? plan.current : (plan.retained.find((r) => r.id === id) ?? null)
  // 1. The header Next.js sends on RSC and action fetches.
  const fromHeader = header(request.headers, DEPLOYMENT_HEADER)
  if (fromHeader) return byId(fromHeader) ?? plan.current
  // 2. ?dpl= on static assets.
  const query = request.url.indexOf('?')
  const dpl = query === -1 ? '' : (new URLSearchParams(request.url.slice(query + 1)).get(DEPLOYMENT_QUERY) ?? '')
  if (dpl) return byId(dpl) ?? plan.current
  // 3. An action ID only retained builds know.
  const action = header(request.headers, ACTION_HEADER_NAME.toLowerCase())
  if (action) {
    if (!plan.actionRouting) return plan.current
    return plan.retained.find((r) => r.actions.includes(action)) ?? plan.current
  }
  // 4. The guard's cookie, for form posts only.
  const method = request.method.toUpperCase()
  if (method !== 'GET' && method !== 'HEAD') {
    const pinned = cookie(header(request.headers, 'cookie'), DEPLOYMENT_COOKIE)
    if (pinned) return byId(pinned) ?? plan.current
  }
  return plan.current
}
