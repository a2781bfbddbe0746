/**
 * HAProxy: one self-contained `backend` section, loaded as an extra config file (`-f`). Its
 * `http-request set-var` rules pick the deployment from the first carrier present; `use-server`
 * sends the request to that deployment's server. Retained deployments' servers have weight 0, so
 * load balancing only ever picks the current one: when a retained server is down (health check)
 * its `use-server` rule is skipped, and a request that finds it dead is redispatched to the
 * current server on the retry. HAProxy passes Host and X-Forwarded-Host through unchanged.
 */

import { chunks, checkPlan, hashComment, headerLines, resolveOptions, type RenderOptions } from './render-common'
import { DEPLOYMENT_COOKIE, type RoutingPlan } from './routing'

/** Name of the generated backend. */
export const HAPROXY_BACKEND = 'nsg_app'

/** HAProxy server name of a deployment. */
export function haproxyServerName(id: string): string {
  return `d_${id}`
}

const VAR = 'txn.nsg_deployment'
const UNSET = `!{ var(${VAR}) -m found }`

/** Renders the HAProxy backend of a routing plan. Deterministic. */
export function renderHaproxy(plan: RoutingPlan, options: RenderOptions = {}): string {
  checkPlan(plan)
  const o = resolveOptions(options)
  const inter = `${o.healthIntervalSeconds}s`
  const out: string[] = [
    hashComment(
      headerLines(plan, 'haproxy', [
        "Load it after your own configuration and send the app's requests to its backend:",
        '',
        '    haproxy -f /etc/haproxy/haproxy.cfg -f /etc/haproxy/next-skew-guard.cfg',
        '',
        '    frontend www',
        '        ...',
        `        default_backend ${HAPROXY_BACKEND}`,
        '',
        'Reload HAProxy after every render (systemctl reload haproxy, or SIGUSR2 to the master).',
      ]),
    ),
    '',
    `backend ${HAPROXY_BACKEND}`,
    '    mode http',
    '    # 1. x-deployment-id (RSC and Server Action fetches); present, it decides alone.',
    `    http-request set-var(${VAR}) req.hdr(x-deployment-id) if { req.hdr(x-deployment-id) -m len gt 0 }`,
    '    # 2. ?dpl= (static assets).',
    `    http-request set-var(${VAR}) url_param(dpl) if ${UNSET} { url_param(dpl) -m len gt 0 }`,
    '    # 3. Next-Action: action IDs only a retained build knows go to it; any other ID to the current one.',
  ]
  for (const r of plan.retained) {
    // HAProxy reads at most 64 words (and 2 KiB) per line: long ID lists take several lines.
    for (const group of chunks(r.actions, 30)) {
      out.push(`    http-request set-var(${VAR}) str(${r.id}) if ${UNSET} { req.hdr(next-action) -m str -- ${group.join(' ')} }`)
    }
  }
  out.push(
    `    http-request set-var(${VAR}) str(-) if ${UNSET} { req.hdr(next-action) -m len gt 0 }`,
    `    # 4. The ${DEPLOYMENT_COOKIE} cookie, for form posts only (METH_GET is GET and HEAD): a reload or a new`,
    '    #    document always gets the current deployment.',
    `    http-request set-var(${VAR}) req.cook(${DEPLOYMENT_COOKIE}) if ${UNSET} !METH_GET { req.cook(${DEPLOYMENT_COOKIE}) -m len gt 0 }`,
    '',
    `    # Exact IDs only; the current one (${plan.current.id}), unknown and retired IDs: load balancing,`,
    '    # which only ever picks the current server.',
  )
  for (const r of plan.retained) out.push(`    use-server ${haproxyServerName(r.id)} if { var(${VAR}) -m str -- ${r.id} }`)
  out.push(
    '',
    '    balance first',
    '    # A retained deployment found dead: retried once, on the current server.',
    '    option redispatch 1',
    '    retries 1',
    '    timeout connect 2s',
    `    server ${haproxyServerName(plan.current.id)} ${plan.current.upstream.address} check inter ${inter}`,
  )
  for (const r of plan.retained) {
    out.push(`    server ${haproxyServerName(r.id)} ${r.upstream.address} check inter ${inter} weight 0   # ${r.status}`)
  }
  return `${out.join('\n')}\n`
}
