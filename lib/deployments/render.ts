/** One entry point for the four renderers. */

import { DeploymentError, quote } from './errors'
import { PROXIES, type ProxyKind, type RenderOptions } from './render-common'
import { renderCaddy } from './render-caddy'
import { renderHaproxy } from './render-haproxy'
import { renderNginx } from './render-nginx'
import { renderTraefik } from './render-traefik'
import type { RoutingPlan } from './routing'

/** Returns `proxy` when it is one of nginx, caddy, traefik, haproxy; throws `ERR_INVALID_ARG_VALUE` otherwise. */
export function validateProxy(proxy: unknown): ProxyKind {
  if (typeof proxy !== 'string' || !(PROXIES as readonly string[]).includes(proxy)) {
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', `--proxy must be one of ${PROXIES.join(', ')}; got ${quote(proxy)}.`)
  }
  return proxy as ProxyKind
}

/** Renders the routing config of `plan` for `proxy`. Same plan and options, same bytes. */
export function renderConfig(proxy: ProxyKind, plan: RoutingPlan, options: RenderOptions = {}): string {
  switch (validateProxy(proxy)) {
    case 'nginx':
      return renderNginx(plan, options)
    case 'caddy':
      return renderCaddy(plan, options)
    case 'traefik':
      return renderTraefik(plan, options)
    case 'haproxy':
      return renderHaproxy(plan, options)
  }
}
