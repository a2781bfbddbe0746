/**
 * nginx: an include file for the `http {}` context with chained `map`s (one per carrier, lazily
 * evaluated, the first non-empty carrier wins) and one `upstream` per deployment. Each retained
 * deployment's upstream lists the current deployment as `backup`, so a refused connection is
 * retried there at once (nginx never resends a request it already sent, so form posts are safe).
 */

import { DEPLOYMENT_COOKIE } from './routing'
import type { RoutingPlan } from './routing'
import { checkPlan, hashComment, headerLines, resolveOptions, type RenderOptions } from './render-common'

/** The `location` block that goes with the rendered file (also used by the checker's wrapper config). */
export const NGINX_LOCATION = [
  'location / {',
  '    proxy_pass http://$nsg_upstream;',
  '    proxy_http_version 1.1;',
  '    proxy_set_header Connection "";',
  '    proxy_set_header Host $http_host;',
  '    proxy_set_header X-Forwarded-Host $nsg_forwarded_host;',
  '    proxy_set_header X-Forwarded-Proto $scheme;',
  '    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
  '    proxy_connect_timeout 5s;',
  '    proxy_buffering off;',
  '}',
]

// Words nginx's map block reads as parameters; a key spelled like one needs a backslash.
const MAP_KEYWORDS = new Set(['default', 'hostnames', 'include', 'volatile'])

function key(id: string): string {
  return MAP_KEYWORDS.has(id.toLowerCase()) ? `\\${id}` : id
}

/** nginx upstream name of a deployment (the current one is always `nsg_current`). */
export function nginxUpstreamName(id: string): string {
  return `nsg_d_${id}`
}

/**
 * nginx's default map hash (64-byte buckets, at most 2048 of them) cannot hold keys longer than
 * 46 characters (a long deployment ID) and warns from a few hundred action IDs on. Only then are
 * the two directives written: nginx refuses a directive twice, and most configs do not set them.
 */
function hashSizing(plan: RoutingPlan): string[] {
  const keys = [plan.current.id, ...plan.retained.map((r) => r.id)]
  const actions = plan.retained.reduce((sum, r) => sum + r.actions.length, 0)
  const longest = Math.max(...keys.map((k) => k.length + 1), ...(actions > 0 ? [42] : []))
  if (longest <= 46 && actions <= 200) return []
  let size = 4096
  while (size < actions * 8) size *= 2
  return [
    '',
    `# ${actions} action IDs${longest > 46 ? ` and IDs of up to ${longest - 1} characters` : ''} need a larger map hash than nginx's`,
    '# default. nginx refuses these directives twice: if your http {} block sets them, remove them there.',
    'map_hash_bucket_size 256;',
    `map_hash_max_size ${size};`,
  ]
}

function column(rows: Array<[string, string]>, indent = '    '): string[] {
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)} ${v};`)
}

/** Renders the nginx include file of a routing plan. Deterministic: same plan and options, same bytes. */
export function renderNginx(plan: RoutingPlan, options: RenderOptions = {}): string {
  checkPlan(plan)
  const o = resolveOptions(options)
  const out: string[] = []
  out.push(
    hashComment(
      headerLines(plan, 'nginx', [
        'Include this file in the http {} block (it only defines maps and upstreams), and proxy',
        'the app from your server {} block with:',
        '',
        ...NGINX_LOCATION.map((l) => `    ${l}`),
        '',
        'nginx compares map keys without regard to letter case (the registry refuses IDs that',
        'differ only in case).',
      ]),
    ),
    ...hashSizing(plan),
    '',
    `# 4. The ${DEPLOYMENT_COOKIE} cookie routes form posts only: a reload or a new document (GET, HEAD)`,
    '#    always gets the current deployment.',
    'map $request_method $nsg_by_cookie {',
    ...column([
      ['GET', '""'],
      ['HEAD', '""'],
      ['default', `$cookie_${DEPLOYMENT_COOKIE}`],
    ]),
    '}',
    '',
    '# 3. Next-Action: action IDs only a retained build knows go to it; every other ID (one the',
    '#    current build knows, or nobody does) goes to the current deployment.',
    'map $http_next_action $nsg_by_action {',
    ...column([
      ['""', '$nsg_by_cookie'],
      ['default', '""'],
    ]),
  )
  for (const r of plan.retained) {
    if (r.actions.length === 0) continue
    out.push(`    # ${r.id}`, ...r.actions.map((a) => `    ${a} ${key(r.id)};`))
  }
  if (!plan.actionRouting) out.push('    # off: the current deployment has no recorded action IDs')
  out.push(
    '}',
    '',
    '# 2. ?dpl= (static assets).',
    'map $arg_dpl $nsg_by_query {',
    ...column([
      ['""', '$nsg_by_action'],
      ['default', '$arg_dpl'],
    ]),
    '}',
    '',
    '# 1. x-deployment-id (RSC and Server Action fetches); present, it decides alone.',
    'map $http_x_deployment_id $nsg_deployment {',
    ...column([
      ['""', '$nsg_by_query'],
      ['default', '$http_x_deployment_id'],
    ]),
    '}',
    '',
    `# Deployment -> upstream: exact IDs only; the current one (${plan.current.id}), unknown and retired`,
    '# IDs go to the current deployment.',
    'map $nsg_deployment $nsg_upstream {',
    ...column([['default', 'nsg_current'], ...plan.retained.map((r): [string, string] => [key(r.id), nginxUpstreamName(r.id)])]),
    '}',
    '',
    '# Next.js checks that Origin matches X-Forwarded-Host (or Host) before it runs an action: both',
    '# reach it as the browser (or the proxy in front of this one) sent them, port included.',
    'map $http_x_forwarded_host $nsg_forwarded_host {',
    ...column([
      ['""', '$http_host'],
      ['default', '$http_x_forwarded_host'],
    ]),
    '}',
    '',
    `# The current deployment: ${plan.current.id}.`,
    'upstream nsg_current {',
    `    server ${plan.current.upstream.address};`,
    '}',
  )
  for (const r of plan.retained) {
    out.push(
      '',
      `# ${r.id} (${r.status}). When its process is down, a request is retried on the current deployment`,
      `# at once (a refused connection is never a sent request), and ${r.id} is skipped for ${o.failTimeoutSeconds} s.`,
      `upstream ${nginxUpstreamName(r.id)} {`,
      `    server ${r.upstream.address} max_fails=1 fail_timeout=${o.failTimeoutSeconds}s;`,
      `    server ${plan.current.upstream.address} backup;`,
      '}',
    )
  }
  return `${out.join('\n')}\n`
}
