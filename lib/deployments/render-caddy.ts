/**
 * Caddy: a Caddyfile fragment to `import` inside the app's site block. Per retained deployment,
 * one named matcher per carrier (each one also requires the higher carriers to be absent, so the
 * matchers never overlap and their order cannot matter) and a `handle` that proxies to it with
 * the current deployment as the second upstream: `lb_policy first` plus retries send a request
 * to the current deployment when the retained one refuses the connection. A final `handle`
 * sends everything else to the current deployment. Caddy keeps Host as the client sent it and
 * sets X-Forwarded-Host from it.
 */

import { chunks, checkPlan, hashComment, headerLines, resolveOptions, type RenderOptions, type ResolvedOptions } from './render-common'
import { DEPLOYMENT_COOKIE, type RetainedRoute, type RoutingPlan } from './routing'

function trusted(o: ResolvedOptions, indent: string): string[] {
  return o.trustedProxies.length > 0 ? [`${indent}\ttrusted_proxies ${o.trustedProxies.join(' ')}`] : []
}

function proxyBlock(r: RetainedRoute, plan: RoutingPlan, o: ResolvedOptions, indent: string): string[] {
  return [
    `${indent}reverse_proxy ${r.upstream.address} ${plan.current.upstream.address} {`,
    `${indent}\tlb_policy first`,
    `${indent}\tlb_try_duration 2s`,
    `${indent}\tlb_try_interval 100ms`,
    `${indent}\tfail_duration ${o.failTimeoutSeconds}s`,
    // Retrying a request with a body needs it buffered: Caddy 2.6 has only buffer_requests (whole
    // body), 2.7+ request_buffers (up to a size; Server Action bodies are 1 MB by default).
    o.caddyLegacy ? `${indent}\tbuffer_requests` : `${indent}\trequest_buffers 1MiB`,
    ...trusted(o, indent),
    // A fresh connection per request: a pooled one to a process that just died would fail after
    // the request was sent, which Caddy (rightly) does not retry. Old deployments see little traffic.
    `${indent}\ttransport http {`,
    `${indent}\t\tkeepalive off`,
    `${indent}\t}`,
    `${indent}}`,
  ]
}

/** Caddy matcher names of a deployment. */
export function caddyMatcher(id: string, carrier: 'header' | 'query' | 'action' | 'cookie'): string {
  return `@nsg_d_${id}_${carrier}`
}

/** Renders the Caddyfile fragment of a routing plan (tab-indented, as `caddy fmt` writes). Deterministic. */
export function renderCaddy(plan: RoutingPlan, options: RenderOptions = {}): string {
  checkPlan(plan)
  const o = resolveOptions(options)
  const out: string[] = [
    hashComment(
      headerLines(plan, 'caddy', [
        'Import it inside the site block of your app, in place of its reverse_proxy:',
        '',
        '    example.com {',
        '        import /etc/caddy/next-skew-guard.caddy',
        '    }',
        '',
        'Caddy sets X-Forwarded-Host from Host. Behind another proxy that sets X-Forwarded-Host, render',
        'with --trusted-proxies <its address range> so Caddy passes that header on unchanged.',
        `Buffering: ${o.caddyLegacy ? 'buffer_requests (Caddy 2.6 and older)' : 'request_buffers (Caddy 2.7 and newer)'}; render with --caddy-version to change.`,
      ]),
    ),
  ]
  const noHeader = `\tnot header_regexp X-Deployment-Id .`
  const noQuery = `\tnot query dpl=*`
  for (const r of plan.retained) {
    out.push('', `# ${r.id} (${r.status}) at ${r.upstream.address}`)
    out.push(`${caddyMatcher(r.id, 'header')} header X-Deployment-Id ${r.id}`)
    out.push(`${caddyMatcher(r.id, 'query')} {`, noHeader, `\tquery dpl=${r.id}`, '}')
    if (r.actions.length > 0) {
      out.push(`${caddyMatcher(r.id, 'action')} {`, noHeader, noQuery)
      // One value per line: Caddy ORs the values of a header field.
      for (const group of chunks(r.actions, 1)) out.push(`\theader Next-Action ${group.join(' ')}`)
      out.push('}')
    }
    out.push(
      `${caddyMatcher(r.id, 'cookie')} {`,
      noHeader,
      noQuery,
      '\tnot header_regexp Next-Action .',
      '\tnot method GET HEAD',
      `\theader_regexp Cookie (^|;\\s*)${DEPLOYMENT_COOKIE}=${r.id}(;|$)`,
      '}',
    )
    const carriers: Array<'header' | 'query' | 'action' | 'cookie'> = [
      'header',
      'query',
      ...(r.actions.length > 0 ? (['action'] as const) : []),
      'cookie',
    ]
    for (const carrier of carriers) {
      out.push(`handle ${caddyMatcher(r.id, carrier)} {`, ...proxyBlock(r, plan, o, '\t'), '}')
    }
  }
  out.push(
    '',
    `# Everything else: the current deployment, ${plan.current.id}.`,
    'handle {',
    ...(o.trustedProxies.length > 0
      ? [`\treverse_proxy ${plan.current.upstream.address} {`, ...trusted(o, '\t'), '\t}']
      : [`\treverse_proxy ${plan.current.upstream.address}`]),
    '}',
  )
  return `${out.join('\n')}\n`
}
