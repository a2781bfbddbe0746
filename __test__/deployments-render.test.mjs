// The rendered proxy configs: byte-for-byte what the registry means (snapshots), stable (same
// registry and options, same bytes), never holding a value a proxy would read as syntax, valid
// for each proxy's own checker (nginx -t, caddy validate for 2.6 and the current release,
// haproxy -c, Traefik's structure), and put live safely: a rejected config or a failed reload
// leaves the live file as it was, two renders at once do not interleave.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, test } from 'node:test'

import { ensureProxies } from '../scripts/proxies/install.mjs'

const require = createRequire(import.meta.url)
const d = require('../dist/deployments/index.js')
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'next-skew-guard.js')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-render-'))
let bins
before(
  async () => {
    bins = await ensureProxies(['nginx', 'caddy', 'haproxy', 'caddy-latest'])
  },
  { timeout: 10 * 60_000 },
)
after(() => fs.rmSync(tmp, { recursive: true, force: true }))

const A = `40${'a'.repeat(40)}`
const B = `40${'b'.repeat(40)}`
const C = `7f${'c'.repeat(40)}`

/** The registry of the snapshots: dpl_v1 (previous) knows A and B, dpl_v2 (current) B and C. */
const STATE = {
  format: 'next-skew-guard/deployments@1',
  current: 'dpl_v2',
  deployments: [
    {
      id: 'dpl_v1',
      upstream: '127.0.0.1:3001',
      addedAt: '2026-01-01T00:00:00.000Z',
      promotedAt: '2026-01-01T00:01:00.000Z',
      supersededAt: '2026-01-02T00:01:00.000Z',
      build: { dir: '/srv/app/v1', distDir: '.next', buildId: 'v1' },
      actions: [A, B],
    },
    {
      id: 'dpl_v2',
      upstream: '127.0.0.1:3002',
      addedAt: '2026-01-02T00:00:00.000Z',
      promotedAt: '2026-01-02T00:01:00.000Z',
      supersededAt: null,
      build: { dir: '/srv/app/v2', distDir: '.next', buildId: 'v2' },
      actions: [B, C],
    },
  ],
}

let n = 0
/** Writes a registry file and returns its path. */
function stateFile(state = STATE) {
  const file = path.join(tmp, `state-${++n}.json`)
  fs.writeFileSync(file, typeof state === 'string' ? state : JSON.stringify(state, null, 2))
  return file
}

function cli(args, state, extraEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, 'deployments', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: tmp, SKEW_GUARD_DEPLOYMENTS: state, ...extraEnv },
    timeout: 120_000,
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

const plan = (state = STATE) => d.planRouting(d.parseState(JSON.stringify(state)))
const bodyLines = (text) => {
  const lines = text.split('\n').filter((l) => !l.trimStart().startsWith('#'))
  while (lines.length && lines[lines.length - 1] === '') lines.pop()
  while (lines.length && lines[0] === '') lines.shift()
  return lines
}

const SNAPSHOT = {
  nginx: [
    'map $request_method $nsg_by_cookie {',
    '    GET     "";',
    '    HEAD    "";',
    '    default $cookie___vdpl;',
    '}',
    '',
    'map $http_next_action $nsg_by_action {',
    '    ""      $nsg_by_cookie;',
    '    default "";',
    '    40aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa dpl_v1;',
    '}',
    '',
    'map $arg_dpl $nsg_by_query {',
    '    ""      $nsg_by_action;',
    '    default $arg_dpl;',
    '}',
    '',
    'map $http_x_deployment_id $nsg_deployment {',
    '    ""      $nsg_by_query;',
    '    default $http_x_deployment_id;',
    '}',
    '',
    'map $nsg_deployment $nsg_upstream {',
    '    default nsg_current;',
    '    dpl_v1  nsg_d_dpl_v1;',
    '}',
    '',
    'map $http_x_forwarded_host $nsg_forwarded_host {',
    '    ""      $http_host;',
    '    default $http_x_forwarded_host;',
    '}',
    '',
    'upstream nsg_current {',
    '    server 127.0.0.1:3002;',
    '}',
    '',
    'upstream nsg_d_dpl_v1 {',
    '    server 127.0.0.1:3001 max_fails=1 fail_timeout=10s;',
    '    server 127.0.0.1:3002 backup;',
    '}',
  ],
  caddy: [
    '@nsg_d_dpl_v1_header header X-Deployment-Id dpl_v1',
    '@nsg_d_dpl_v1_query {',
    '\tnot header_regexp X-Deployment-Id .',
    '\tquery dpl=dpl_v1',
    '}',
    '@nsg_d_dpl_v1_action {',
    '\tnot header_regexp X-Deployment-Id .',
    '\tnot query dpl=*',
    '\theader Next-Action 40aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    '}',
    '@nsg_d_dpl_v1_cookie {',
    '\tnot header_regexp X-Deployment-Id .',
    '\tnot query dpl=*',
    '\tnot header_regexp Next-Action .',
    '\tnot method GET HEAD',
    '\theader_regexp Cookie (^|;\\s*)__vdpl=dpl_v1(;|$)',
    '}',
    'handle @nsg_d_dpl_v1_header {',
    '\treverse_proxy 127.0.0.1:3001 127.0.0.1:3002 {',
    '\t\tlb_policy first',
    '\t\tlb_try_duration 2s',
    '\t\tlb_try_interval 100ms',
    '\t\tfail_duration 10s',
    '\t\trequest_buffers 1MiB',
    '\t\ttransport http {',
    '\t\t\tkeepalive off',
    '\t\t}',
    '\t}',
    '}',
    'handle @nsg_d_dpl_v1_query {',
    '\treverse_proxy 127.0.0.1:3001 127.0.0.1:3002 {',
    '\t\tlb_policy first',
    '\t\tlb_try_duration 2s',
    '\t\tlb_try_interval 100ms',
    '\t\tfail_duration 10s',
    '\t\trequest_buffers 1MiB',
    '\t\ttransport http {',
    '\t\t\tkeepalive off',
    '\t\t}',
    '\t}',
    '}',
    'handle @nsg_d_dpl_v1_action {',
    '\treverse_proxy 127.0.0.1:3001 127.0.0.1:3002 {',
    '\t\tlb_policy first',
    '\t\tlb_try_duration 2s',
    '\t\tlb_try_interval 100ms',
    '\t\tfail_duration 10s',
    '\t\trequest_buffers 1MiB',
    '\t\ttransport http {',
    '\t\t\tkeepalive off',
    '\t\t}',
    '\t}',
    '}',
    'handle @nsg_d_dpl_v1_cookie {',
    '\treverse_proxy 127.0.0.1:3001 127.0.0.1:3002 {',
    '\t\tlb_policy first',
    '\t\tlb_try_duration 2s',
    '\t\tlb_try_interval 100ms',
    '\t\tfail_duration 10s',
    '\t\trequest_buffers 1MiB',
    '\t\ttransport http {',
    '\t\t\tkeepalive off',
    '\t\t}',
    '\t}',
    '}',
    '',
    'handle {',
    '\treverse_proxy 127.0.0.1:3002',
    '}',
  ],
  haproxy: [
    'backend nsg_app',
    '    mode http',
    '    http-request set-var(txn.nsg_deployment) req.hdr(x-deployment-id) if { req.hdr(x-deployment-id) -m len gt 0 }',
    '    http-request set-var(txn.nsg_deployment) url_param(dpl) if !{ var(txn.nsg_deployment) -m found } { url_param(dpl) -m len gt 0 }',
    '    http-request set-var(txn.nsg_deployment) str(dpl_v1) if !{ var(txn.nsg_deployment) -m found } { req.hdr(next-action) -m str -- 40aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa }',
    '    http-request set-var(txn.nsg_deployment) str(-) if !{ var(txn.nsg_deployment) -m found } { req.hdr(next-action) -m len gt 0 }',
    '    http-request set-var(txn.nsg_deployment) req.cook(__vdpl) if !{ var(txn.nsg_deployment) -m found } !METH_GET { req.cook(__vdpl) -m len gt 0 }',
    '',
    '    use-server d_dpl_v1 if { var(txn.nsg_deployment) -m str -- dpl_v1 }',
    '',
    '    balance first',
    '    option redispatch 1',
    '    retries 1',
    '    timeout connect 2s',
    '    server d_dpl_v2 127.0.0.1:3002 check inter 2s',
    '    server d_dpl_v1 127.0.0.1:3001 check inter 2s weight 0   # previous',
  ],
  traefik: [
    'http:',
    '  routers:',
    '    nsg-d-dpl_v1-header:',
    "      rule: 'Header(`X-Deployment-Id`, `dpl_v1`)'",
    '      priority: 40000',
    "      service: 'nsg-d-dpl_v1'",
    '      middlewares:',
    "        - 'nsg-retry'",
    '    nsg-d-dpl_v1-query:',
    "      rule: 'Query(`dpl`, `dpl_v1`) && !HeaderRegexp(`X-Deployment-Id`, `.`)'",
    '      priority: 30000',
    "      service: 'nsg-d-dpl_v1'",
    '      middlewares:',
    "        - 'nsg-retry'",
    '    nsg-d-dpl_v1-action:',
    "      rule: 'HeaderRegexp(`Next-Action`, `^(?:40aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)$`) && !HeaderRegexp(`X-Deployment-Id`, `.`) && !QueryRegexp(`dpl`, `.`)'",
    '      priority: 20000',
    "      service: 'nsg-d-dpl_v1'",
    '      middlewares:',
    "        - 'nsg-retry'",
    '    nsg-d-dpl_v1-cookie:',
    "      rule: 'HeaderRegexp(`Cookie`, `(?:^|;\\s*)__vdpl=dpl_v1(?:;|$)`) && !Method(`GET`) && !Method(`HEAD`) && !HeaderRegexp(`X-Deployment-Id`, `.`) && !QueryRegexp(`dpl`, `.`) && !HeaderRegexp(`Next-Action`, `.`)'",
    '      priority: 10000',
    "      service: 'nsg-d-dpl_v1'",
    '      middlewares:',
    "        - 'nsg-retry'",
    '    nsg-current:',
    "      rule: 'PathPrefix(`/`)'",
    '      priority: 1',
    "      service: 'nsg-current'",
    '  middlewares:',
    '    nsg-retry:',
    '      retry:',
    '        attempts: 2',
    '  services:',
    '    nsg-d-dpl_v1:',
    '      failover:',
    "        service: 'nsg-d-dpl_v1-primary'",
    "        fallback: 'nsg-current'",
    '    nsg-d-dpl_v1-primary:',
    '      loadBalancer:',
    '        healthCheck:',
    "          path: '/api/health'",
    "          interval: '2s'",
    "          timeout: '1s'",
    '        passiveHealthCheck:',
    "          failureWindow: '10s'",
    '          maxFailedAttempts: 1',
    '        servers:',
    "          - url: 'http://127.0.0.1:3001'",
    "        serversTransport: 'nsg-retained'",
    '    nsg-current:',
    '      loadBalancer:',
    '        servers:',
    "          - url: 'http://127.0.0.1:3002'",
    '  serversTransports:',
    '    nsg-retained:',
    '      maxIdleConnsPerHost: -1',
  ],
}

test('snapshots: each proxy gets exactly this config for the reference registry', () => {
  const p = plan()
  assert.deepEqual(bodyLines(d.renderNginx(p)), SNAPSHOT.nginx)
  assert.deepEqual(bodyLines(d.renderCaddy(p, { caddyVersion: '2.11.7' })), SNAPSHOT.caddy)
  assert.deepEqual(bodyLines(d.renderHaproxy(p)), SNAPSHOT.haproxy)
  assert.deepEqual(bodyLines(d.renderTraefik(p)), SNAPSHOT.traefik)
  // Caddy 2.6 has buffer_requests where 2.7+ has request_buffers; nothing else differs.
  const legacy = bodyLines(d.renderCaddy(p, { caddyVersion: '2.6.2' }))
  assert.deepEqual(
    legacy,
    SNAPSHOT.caddy.map((l) => l.replace('request_buffers 1MiB', 'buffer_requests')),
  )
  // The header says what the file is, where it goes and what it routes.
  for (const proxy of d.PROXIES) {
    const text = d.renderConfig(proxy, p)
    assert.match(text, new RegExp(`^# next-skew-guard: version-locked routing for ${proxy}\\.\\n`))
    assert.match(
      text,
      /#\s+current: {2}dpl_v2 at 127\.0\.0\.1:3002\n#\s+retained: dpl_v1 at 127\.0\.0\.1:3001 \(previous; 1 action ID only it knows\)/,
    )
    assert.match(text, /change the registry \(add, promote, retire, gc\), not this file/)
    assert.ok(text.endsWith('\n') && !text.endsWith('\n\n'))
  }
})

test('stable: the same registry gives the same bytes, however its file was written and whenever', () => {
  const reordered = structuredClone(STATE)
  reordered.deployments[0].actions = [B, A, A] // unsorted, duplicated
  const keysShuffled = JSON.stringify({
    deployments: STATE.deployments.map((x) => Object.fromEntries(Object.entries(x).reverse())),
    current: 'dpl_v2',
    format: STATE.format,
  })
  for (const proxy of d.PROXIES) {
    const base = d.renderConfig(proxy, plan(), { caddyVersion: '2.6.2' })
    assert.equal(d.renderConfig(proxy, plan(), { caddyVersion: '2.6.2' }), base)
    assert.equal(d.renderConfig(proxy, plan(reordered), { caddyVersion: '2.6.2' }), base, proxy)
    assert.equal(d.renderConfig(proxy, d.planRouting(d.parseState(keysShuffled)), { caddyVersion: '2.6.2' }), base, proxy)
    const a = cli(['render', '--proxy', proxy, ...(proxy === 'caddy' ? ['--caddy-version', '2.6.2'] : [])], stateFile())
    const b = cli(['render', '--proxy', proxy, ...(proxy === 'caddy' ? ['--caddy-version', '2.6.2'] : [])], stateFile())
    assert.equal(a.code, 0, a.err)
    assert.equal(a.out, b.out)
    assert.equal(a.out, base, 'stdout is the rendered file')
  }
})

test('the action inventory: IDs only retained builds know, each to the most recently replaced one; off without the current inventory', () => {
  const three = structuredClone(STATE)
  // dpl_v0 (replaced before dpl_v1) also knows A and a D of its own; dpl_v3 is staged and knows D.
  const D = `40${'d'.repeat(40)}`
  three.deployments.unshift({
    ...three.deployments[0],
    id: 'dpl_v0',
    upstream: '127.0.0.1:3000',
    supersededAt: '2026-01-01T00:01:00.000Z',
    actions: [A, D],
  })
  three.deployments.push({
    ...three.deployments[0],
    id: 'dpl_v3',
    upstream: '127.0.0.1:3003',
    promotedAt: null,
    supersededAt: null,
    actions: [D, C],
  })
  const p = plan(three)
  assert.deepEqual(
    p.retained.map((r) => [r.id, r.status, r.actions]),
    [
      ['dpl_v0', 'previous', [D]],
      ['dpl_v1', 'previous', [A]],
      ['dpl_v3', 'staged', []],
    ],
  )
  const blind = structuredClone(STATE)
  blind.deployments[1].actions = []
  const off = plan(blind)
  assert.equal(off.actionRouting, false)
  assert.deepEqual(off.retained[0].actions, [])
  assert.match(off.warnings[0], /dpl_v2 has no recorded Server Action IDs .*routing by Next-Action is off/)
  const r = cli(['render', '--proxy', 'nginx'], stateFile(blind))
  assert.equal(r.code, 0)
  assert.match(r.err, /! The current deployment dpl_v2 has no recorded Server Action IDs/)
  assert.ok(!r.out.includes(A), 'no action ID is routed')
})

test('nothing a proxy reads as syntax reaches a config: hand-built plans with such values are refused', () => {
  const evil = ['x; include /etc/passwd', 'a`b', 'a b', 'a"b', "a'b", 'a\nb', 'a{b}', 'a$b', 'a#b', 'a\\b']
  for (const proxy of d.PROXIES) {
    for (const id of evil) {
      const p = plan()
      p.retained[0].id = id
      assert.throws(
        () => d.renderConfig(proxy, p),
        (e) => e.code === 'ERR_DEPLOYMENT_ID',
        `${proxy} ${JSON.stringify(id)}`,
      )
      const q = plan()
      q.retained[0].upstream = { host: id, port: 1, address: `${id}:1` }
      assert.throws(
        () => d.renderConfig(proxy, q),
        (e) => e.code === 'ERR_DEPLOYMENT_UPSTREAM',
        `${proxy} upstream ${JSON.stringify(id)}`,
      )
      const r = plan()
      r.retained[0].actions = [id]
      assert.throws(
        () => d.renderConfig(proxy, r),
        (e) => e.code === 'ERR_INVALID_ARG_VALUE',
        `${proxy} action ${JSON.stringify(id)}`,
      )
    }
    const twice = plan()
    twice.retained.push({ ...twice.retained[0], id: 'DPL_V1' })
    assert.throws(
      () => d.renderConfig(proxy, twice),
      (e) => e.code === 'ERR_DEPLOYMENT_ID' && /twice/.test(e.message),
    )
  }
  // The same values in a hand-edited state file never get that far.
  const edited = JSON.stringify(STATE).replace('"id":"dpl_v1"', '"id":"dpl_v1; include /etc/passwd"')
  const r = cli(['render', '--proxy', 'nginx'], stateFile(edited))
  assert.equal(r.code, 1)
  assert.match(r.err, /ERR_DEPLOYMENTS_STATE: .*deployments\[0\]\.id: "dpl_v1; include \/etc\/passwd" is not a deployment ID/)
  assert.equal(r.out, '')
  for (const bad of [
    { host: 'a b' },
    { entryPoints: ['we b'] },
    { certResolver: 'x y' },
    { healthPath: 'api' },
    { caddyVersion: 'latest' },
    { trustedProxies: ['10.0.0.0/8; x'] },
    { failTimeoutSeconds: 0 },
  ]) {
    assert.throws(
      () => d.renderConfig('traefik', plan(), bad),
      (e) => e.code === 'ERR_INVALID_ARG_VALUE',
      JSON.stringify(bad),
    )
  }
  assert.throws(
    () => d.renderConfig('apache', plan()),
    (e) => e.code === 'ERR_INVALID_ARG_VALUE' && /nginx, caddy, traefik, haproxy/.test(e.message),
  )
})

test("every proxy's own checker accepts the configs, also for awkward IDs and hundreds of action IDs", () => {
  const many = (prefix, count) => Array.from({ length: count }, (_, i) => `${prefix}${i.toString(16).padStart(40, '0')}`)
  const awkward = {
    format: STATE.format,
    current: 'current',
    deployments: [
      // Spelled like nginx map parameters, a leading dash (an HAProxy flag), the longest ID.
      ...['default', 'include', 'hostnames', '-lead', 'x'.repeat(64)].map((id, i) => ({
        ...STATE.deployments[0],
        id,
        upstream: `127.0.0.1:${4000 + i}`,
        actions: many(`4${i}`, 120),
      })),
      { ...STATE.deployments[1], id: 'current', upstream: '[::1]:4100', actions: many('7f', 50) },
    ],
  }
  const file = stateFile(awkward)
  for (const [proxy, flavour] of [
    ['nginx', 'nginx'],
    ['caddy', 'caddy'],
    ['caddy', 'caddy-latest'],
    ['haproxy', 'haproxy'],
    ['traefik', 'traefik'],
  ]) {
    const out = path.join(tmp, `awkward-${flavour}`)
    const r = cli(['render', '--proxy', proxy, '--out', out, ...(bins[flavour] ? ['--proxy-bin', bins[flavour]] : [])], file)
    assert.equal(r.code, 0, `${flavour}: ${r.err}`)
    assert.match(r.err, /validated/)
    const text = fs.readFileSync(out, 'utf8')
    assert.ok(text.includes('-lead'))
    if (proxy === 'nginx') assert.match(text, /^ {4}\\default +nsg_d_default;$/m)
    if (proxy === 'haproxy') assert.match(text, /-m str -- -lead \}/)
  }
})

test("a config the checker rejects never replaces the live file (exit 1, with the checker's words)", () => {
  // An upstream host that does not resolve: nginx and HAProxy refuse it.
  const unresolvable = structuredClone(STATE)
  unresolvable.deployments[0].upstream = 'no-such-host.invalid:3001'
  for (const proxy of ['nginx', 'haproxy']) {
    const out = path.join(tmp, `live-${proxy}.conf`)
    fs.writeFileSync(out, 'the live config\n')
    const before = fs.statSync(out)
    const r = cli(['render', '--proxy', proxy, '--out', out, '--proxy-bin', bins[proxy]], stateFile(unresolvable))
    assert.equal(r.code, 1, r.err)
    assert.match(
      r.err,
      new RegExp(`✗ ERR_PROXY_CHECK: ${proxy} rejected the rendered configuration; the live file is unchanged\\. ${proxy} said:\\n`),
    )
    assert.match(r.err, /no-such-host\.invalid/)
    assert.equal(fs.readFileSync(out, 'utf8'), 'the live config\n')
    assert.equal(fs.statSync(out).mtimeMs, before.mtimeMs)
    assert.deepEqual(
      fs.readdirSync(tmp).filter((f) => f.startsWith(`.live-${proxy}`)),
      [],
      'no candidate left behind',
    )
  }
  // Caddy 2.6 syntax handed to a current Caddy: `buffer_requests` is gone there.
  const out = path.join(tmp, 'live.caddy')
  fs.writeFileSync(out, 'the live config\n')
  const r = cli(['render', '--proxy', 'caddy', '--out', out, '--proxy-bin', bins['caddy-latest'], '--caddy-version', '2.6.2'], stateFile())
  assert.equal(r.code, 1)
  assert.match(r.err, /ERR_PROXY_CHECK: caddy rejected .*\n[\s\S]*buffer_requests/)
  assert.equal(fs.readFileSync(out, 'utf8'), 'the live config\n')
  // Traefik: the structural check.
  assert.throws(
    () =>
      d.validateTraefikConfig({
        http: {
          routers: { r: { rule: 'Host(`x`', priority: 1, service: 's' } },
          services: { s: { loadBalancer: { servers: [{ url: 'http://a:1' }] } } },
        },
      }),
    (e) => e.code === 'ERR_PROXY_CHECK' && /unbalanced/.test(e.message),
  )
  assert.throws(
    () => d.validateTraefikConfig({ http: { routers: { r: { rule: 'PathPrefix(`/`)', priority: 1, service: 'nope' } }, services: {} } }),
    (e) => e.code === 'ERR_PROXY_CHECK' && /service nope is not defined/.test(e.message),
  )
  assert.throws(
    () => d.validateTraefikConfig({ http: { routers: {}, services: { f: { failover: { service: 'a', fallback: 'b' } } } } }),
    (e) => e.code === 'ERR_PROXY_CHECK' && /failover service a/.test(e.message),
  )
})

test('the checker missing: ERR_PROXY_UNAVAILABLE with what to do; --no-check writes anyway', () => {
  const out = path.join(tmp, 'nocheck.conf')
  const r = cli(['render', '--proxy', 'nginx', '--out', out, '--proxy-bin', path.join(tmp, 'no-nginx-here')], stateFile())
  assert.equal(r.code, 1)
  assert.match(r.err, /ERR_PROXY_UNAVAILABLE: .*no-nginx-here was not found: install nginx on this machine, or pass --proxy-bin/)
  assert.ok(!fs.existsSync(out))
  const unchecked = cli(
    ['render', '--proxy', 'nginx', '--out', out, '--proxy-bin', path.join(tmp, 'no-nginx-here'), '--no-check'],
    stateFile(),
  )
  assert.equal(unchecked.code, 0, unchecked.err)
  assert.match(unchecked.err, /wrote /)
  assert.ok(!/validated/.test(unchecked.err))
})

test('a failed reload puts the previous live file back (exit 1); an unchanged file is left alone', () => {
  const out = path.join(tmp, 'reload.conf')
  const file = stateFile()
  assert.equal(cli(['render', '--proxy', 'haproxy', '--out', out, '--proxy-bin', bins.haproxy], file).code, 0)
  const live = fs.readFileSync(out, 'utf8')
  const unchanged = cli(['render', '--proxy', 'haproxy', '--out', out, '--proxy-bin', bins.haproxy], file)
  assert.match(unchanged.err, /unchanged: /)
  // The registry moves on (dpl_v1 retired), the proxy refuses to reload.
  const next = structuredClone(STATE)
  next.deployments.shift()
  const r = cli(
    ['render', '--proxy', 'haproxy', '--out', out, '--proxy-bin', bins.haproxy, '--reload-command', 'echo cannot reload >&2; exit 3'],
    stateFile(next),
  )
  assert.equal(r.code, 1)
  assert.match(
    r.err,
    /ERR_PROXY_RELOAD: The reload command "echo cannot reload >&2; exit 3" failed \(exit 3\); the previous configuration stays live\. It said:\ncannot reload/,
  )
  assert.equal(fs.readFileSync(out, 'utf8'), live, 'the file matches what the proxy still runs')
  const ok = cli(['render', '--proxy', 'haproxy', '--out', out, '--proxy-bin', bins.haproxy, '--reload-command', 'true'], stateFile(next))
  assert.equal(ok.code, 0, ok.err)
  assert.ok(!fs.readFileSync(out, 'utf8').includes('dpl_v1'))
})

test('two render runs at once do not interleave: one reads, checks, writes and reloads, then the other', async () => {
  const out = path.join(tmp, 'concurrent.conf')
  const log = path.join(tmp, 'concurrent.log')
  const file = stateFile()
  const run = (tag) =>
    new Promise((resolve) => {
      const child = spawn(
        process.execPath,
        [
          BIN,
          'deployments',
          'render',
          '--proxy',
          'nginx',
          '--out',
          out,
          '--proxy-bin',
          bins.nginx,
          '--reload-command',
          `echo start ${tag} >> ${log}; sleep 1; echo end ${tag} >> ${log}`,
        ],
        {
          env: { PATH: process.env.PATH, HOME: tmp, SKEW_GUARD_DEPLOYMENTS: file },
          stdio: 'ignore',
        },
      )
      child.on('exit', resolve)
    })
  assert.deepEqual(await Promise.all([run('a'), run('b')]), [0, 0])
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n')
  assert.equal(lines.length, 4)
  assert.deepEqual(
    lines.map((l) => l.split(' ')[0]),
    ['start', 'end', 'start', 'end'],
    lines.join(' | '),
  )
  assert.equal(lines[0].split(' ')[1], lines[1].split(' ')[1])
  assert.equal(fs.readFileSync(out, 'utf8'), d.renderNginx(plan()))
})

test('YAML: the Traefik file reads back exactly; anything outside the subset is refused with its line', () => {
  const config = d.traefikConfig(plan(), { host: 'shop.example.com', entryPoints: ['websecure'], certResolver: 'le' })
  const text = d.renderTraefik(plan(), { host: 'shop.example.com', entryPoints: ['websecure'], certResolver: 'le' })
  assert.match(text, /rule: 'Host\(`shop\.example\.com`\) && Header\(`X-Deployment-Id`, `dpl_v1`\)'/)
  assert.match(text, /entryPoints:\n {8}- 'websecure'\n/)
  assert.match(text, /tls:\n {8}certResolver: 'le'\n/)
  assert.ok(config.http.routers['nsg-current'])
  const { parseYaml } = require('../dist/deployments/yaml.js')
  assert.throws(
    () => parseYaml('http:\n  routers: [a, b]\n'),
    (e) => e.code === 'ERR_PROXY_CHECK' && /line 2/.test(e.message),
  )
  assert.throws(
    () => parseYaml('http:\n\trouters: {}\n'),
    (e) => e.code === 'ERR_PROXY_CHECK' && /line 2: a tab/.test(e.message),
  )
  assert.throws(
    () => parseYaml('a: 1\na: 2\n'),
    (e) => /key a appears twice/.test(e.message),
  )
})
