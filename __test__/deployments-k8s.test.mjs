// `deployments render --target gateway-api`: the Kubernetes objects of the registry are valid for
// the official schemas (Deployment and Service against the Kubernetes OpenAPI schemas of 1.30 and
// 1.37, strict; the HTTPRoute against the Gateway API v1 validators and its CRD's limits), the
// HTTPRoute implements the routing contract under the Gateway API's own precedence rules (a
// reference matcher written from the spec, with full-match and partial-match regular
// expressions), the directory builds with kustomize, post-apply.sh sets owner references and then
// deletes only what left the registry, and IDs Kubernetes cannot hold are refused, never rewritten.
// No cluster: everything here runs offline against the schemas vendored in fixtures/schemas.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, describe, test } from 'node:test'

import { KUBERNETES_VERSIONS, validateRouteSpec, validateYaml } from './fixtures/schemas/index.mjs'

const require = createRequire(import.meta.url)
const d = require('../dist/deployments/index.js')
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'next-skew-guard.js')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-k8s-'))
after(() => fs.rmSync(tmp, { recursive: true, force: true }))

const A = `40${'a'.repeat(40)}` // only dpl_v1 knows it
const B = `40${'b'.repeat(40)}` // dpl_v1 and the current dpl_v2
const C = `7f${'c'.repeat(40)}` // dpl_v2 and the staged dpl_v3
const D = `60${'d'.repeat(40)}` // only the staged dpl_v3

const at = (day, hour = 0) => new Date(Date.UTC(2026, 0, day, hour)).toISOString()
/** dpl_v1 previous (A, B), dpl_v2 current (B, C), dpl_v3 staged (C, D). */
const STATE = {
  format: 'next-skew-guard/deployments@1',
  current: 'dpl_v2',
  deployments: [
    {
      id: 'dpl_v1',
      upstream: 'shop-dpl-v1:3000',
      addedAt: at(1),
      promotedAt: at(1, 1),
      supersededAt: at(2, 1),
      build: null,
      actions: [A, B],
    },
    { id: 'dpl_v2', upstream: 'shop-dpl-v2:3000', addedAt: at(2), promotedAt: at(2, 1), supersededAt: null, build: null, actions: [B, C] },
    { id: 'dpl_v3', upstream: 'shop-dpl-v3:3000', addedAt: at(3), promotedAt: null, supersededAt: null, build: null, actions: [C, D] },
  ],
}
const OPTIONS = {
  app: 'shop',
  image: 'registry.example.com/shop:{id}',
  gateway: 'public',
  gatewayNamespace: 'infra',
  listener: 'https',
  hostnames: ['shop.example.com'],
  namespace: 'prod',
}
const planOf = (state = STATE) => d.planRouting(d.parseState(JSON.stringify(state)))
const render = (state = STATE, options = OPTIONS) => d.renderKubernetes(planOf(state), options)
const file = (m, name) => m.files.find((f) => f.name === name).content
const yamlFiles = (m) =>
  m.files
    .filter((f) => f.name.endsWith('.yaml') && f.name !== 'kustomization.yaml')
    .map((f) => ({ name: f.name, text: f.content, schema: 'kubernetes' }))

let n = 0
function stateFile(state = STATE) {
  const f = path.join(tmp, `state-${++n}.json`)
  fs.writeFileSync(f, typeof state === 'string' ? state : JSON.stringify(state, null, 2))
  return f
}
function cli(args, state, env = {}) {
  const r = spawnSync(process.execPath, [BIN, 'deployments', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: tmp, SKEW_GUARD_DEPLOYMENTS: state, ...env },
    timeout: 120_000,
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

// --- Schemas ------------------------------------------------------------------

describe('every generated object is valid for the official schemas', () => {
  test(`Deployments and Services against Kubernetes ${KUBERNETES_VERSIONS.join(' and ')} (strict), read by PyYAML`, async () => {
    const m = render()
    const r = await validateYaml(yamlFiles(m))
    assert.deepEqual(r.errors, [])
    const kinds = r.documents.map((x) => `${x.kind} ${x.object.metadata.name}`)
    assert.deepEqual(kinds, [
      'Deployment shop-dpl-v2',
      'Service shop-dpl-v2',
      'Deployment shop-dpl-v1',
      'Service shop-dpl-v1',
      'Deployment shop-dpl-v3',
      'Service shop-dpl-v3',
      'HTTPRoute shop',
    ])
    // Each Deployment and Service once per Kubernetes version, the HTTPRoute's metadata likewise.
    assert.equal(r.checked.length, 7 * KUBERNETES_VERSIONS.length)
    // What PyYAML reads is exactly what was meant.
    assert.deepEqual(
      r.documents.map((x) => x.object),
      JSON.parse(JSON.stringify(m.objects)),
    )
  })

  test("the HTTPRoute against the Gateway API v1 validators and the CRD's own rules", async () => {
    for (const state of [
      STATE,
      { ...STATE, current: 'dpl_v1' },
      { ...STATE, deployments: STATE.deployments.map((x) => ({ ...x, actions: [] })) },
    ]) {
      const route = render(state).objects.at(-1)
      assert.equal(route.apiVersion, 'gateway.networking.k8s.io/v1')
      assert.equal(route.kind, 'HTTPRoute')
      assert.deepEqual(await validateRouteSpec(route.spec), [])
      // The CRD's CEL rules that apply to what is rendered (the validators do not run CEL).
      const matches = route.spec.rules.flatMap((r) => r.matches)
      assert.ok(matches.length < 128, 'fewer than 128 matches in all')
      for (const m of matches) if (m.path) assert.match(m.path.value, /^\//)
      // Only fields the HTTPRoute v1 API defines (the validators let unknown ones through; the API
      // server would drop them silently).
      const known = {
        spec: ['parentRefs', 'hostnames', 'rules'],
        rule: ['matches', 'backendRefs'],
        match: ['path', 'headers', 'queryParams', 'method'],
        header: ['type', 'name', 'value'],
        backend: ['name', 'port'],
        parent: ['group', 'kind', 'namespace', 'name', 'sectionName'],
      }
      const only = (obj, keys, what) =>
        assert.deepEqual(
          Object.keys(obj).filter((k) => !keys.includes(k)),
          [],
          `${what}: unknown fields`,
        )
      only(route.spec, known.spec, 'spec')
      for (const p of route.spec.parentRefs) only(p, known.parent, 'parentRef')
      for (const rule of route.spec.rules) {
        only(rule, known.rule, 'rule')
        for (const b of rule.backendRefs) only(b, known.backend, 'backendRef')
        for (const m of rule.matches) {
          only(m, known.match, 'match')
          for (const h of [...(m.headers ?? []), ...(m.queryParams ?? [])]) only(h, known.header, 'header match')
        }
      }
    }
  })

  test('the validators reject what is wrong (negative controls)', async () => {
    const m = render()
    const broken = m.files
      .find((f) => f.name === 'workloads.yaml')
      .content.replace('revisionHistoryLimit: 2', 'revisionHistoryLimit: 2\n  replicaCount: 2')
    const r = await validateYaml([{ name: 'workloads.yaml', text: broken, schema: 'kubernetes' }])
    assert.ok(
      r.errors.some((e) => /replicaCount/.test(e)),
      `an unknown field is an error: ${r.errors.join('\n')}`,
    )
    const route = structuredClone(m.objects.at(-1))
    route.spec.rules[0].matches[0].headers[0].name = 'X Deployment Id'
    route.spec.rules[1].matches.at(-1).method = 'FETCH'
    const errors = await validateRouteSpec(route.spec)
    assert.ok(
      errors.some((e) => /headers\/0\/name: pattern/.test(e)),
      errors.join('\n'),
    )
    assert.ok(
      errors.some((e) => /method: enum/.test(e)),
      errors.join('\n'),
    )
    const many = structuredClone(m.objects.at(-1))
    many.spec.rules = Array(17).fill(many.spec.rules[0])
    assert.ok((await validateRouteSpec(many.spec)).some((e) => /maxItems/.test(e)))
  })

  test('the directory builds with kustomize, into the same objects', {
    skip: spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0 && 'kubectl is not installed',
  }, async () => {
    const dir = path.join(tmp, 'kustomize')
    const r0 = cli(
      [
        'render',
        '--target',
        'gateway-api',
        '--out',
        dir,
        '--app',
        'shop',
        '--image',
        'registry.example.com/shop:{id}',
        '--gateway',
        'public',
        '--gateway-namespace',
        'infra',
        '--listener',
        'https',
        '--hostname',
        'shop.example.com',
        '--namespace',
        'prod',
      ],
      stateFile(),
    )
    assert.equal(r0.code, 0, r0.err)
    const k = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })
    assert.equal(k.status, 0, k.stderr)
    const r = await validateYaml([{ name: 'kustomize', text: k.stdout, schema: 'kubernetes' }])
    assert.deepEqual(r.errors, [])
    const key = (o) => `${o.kind}/${o.metadata.name}`
    const sort = (objs) => [...objs].sort((a, b) => key(a).localeCompare(key(b)))
    assert.deepEqual(sort(r.documents.map((x) => x.object)), sort(JSON.parse(JSON.stringify(render().objects))))
    // Kustomize applies workloads before the route (it orders known kinds first).
    assert.deepEqual(r.documents.map((x) => x.kind).at(-1), 'HTTPRoute')
  })
})

// --- The routing contract under the Gateway API's precedence rules -----------------------------

/**
 * A reference HTTPRoute matcher, written from the Gateway API spec: among all matches of all rules
 * that match the request, the one with an Exact path, then the longest prefix, then a method, then
 * the most header matches, then the most query matches wins; a tie goes to the first rule in list
 * order. Regular expressions either must match the whole value (Envoy, RE2 FullMatch) or may match
 * part of it (`partial`): the rendered ones give the same answer both ways.
 */
function gatewayRoute(route, req, { partial = false } = {}) {
  const test = (type, pattern, value) =>
    type === 'RegularExpression' ? new RegExp(partial ? pattern : `^(?:${pattern})$`).test(value) : pattern === value
  const headers = Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
  const query = new URLSearchParams(req.query ?? '')
  const found = []
  route.spec.rules.forEach((rule, index) => {
    for (const m of rule.matches ?? [{}]) {
      const p = m.path ?? { type: 'PathPrefix', value: '/' }
      if (m.method && m.method !== (req.method ?? 'GET')) continue
      if (
        !(m.headers ?? []).every((h) => h.name.toLowerCase() in headers && test(h.type ?? 'Exact', h.value, headers[h.name.toLowerCase()]))
      )
        continue
      if (!(m.queryParams ?? []).every((q) => query.has(q.name) && test(q.type ?? 'Exact', q.value, query.get(q.name)))) continue
      found.push({
        backend: rule.backendRefs[0].name,
        key: [p.type === 'Exact' ? 1 : 0, p.value.length, m.method ? 1 : 0, (m.headers ?? []).length, (m.queryParams ?? []).length],
        index,
      })
    }
  })
  found.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) if (a.key[i] !== b.key[i]) return b.key[i] - a.key[i]
    return a.index - b.index
  })
  return found[0]?.backend ?? null
}

const cookie = (value) => ({ cookie: value })
/** [what, request, expected deployment]: the contract of docs/routing.md. */
const CASES = [
  ['a document', {}, 'dpl_v2'],
  ['HEAD', { method: 'HEAD' }, 'dpl_v2'],
  ['header dpl_v1', { headers: { 'x-deployment-id': 'dpl_v1' } }, 'dpl_v1'],
  ['header of the staged dpl_v3', { headers: { 'x-deployment-id': 'dpl_v3' } }, 'dpl_v3'],
  ['header of the current one', { headers: { 'x-deployment-id': 'dpl_v2' } }, 'dpl_v2'],
  ['an unknown (retired) ID', { headers: { 'x-deployment-id': 'dpl_v0' } }, 'dpl_v2'],
  ['exact only: dpl_v10 is not dpl_v1', { headers: { 'x-deployment-id': 'dpl_v10' } }, 'dpl_v2'],
  ['an empty header counts as absent', { method: 'POST', headers: { 'x-deployment-id': '', 'next-action': A } }, 'dpl_v1'],
  ['?dpl=dpl_v1 (a static asset)', { query: 'dpl=dpl_v1' }, 'dpl_v1'],
  ['the header beats ?dpl=', { query: 'dpl=dpl_v1', headers: { 'x-deployment-id': 'dpl_v2' } }, 'dpl_v2'],
  ['an unknown header beats ?dpl=', { query: 'dpl=dpl_v1', headers: { 'x-deployment-id': 'dpl_v0' } }, 'dpl_v2'],
  ['?dpl=dpl_v10', { query: 'dpl=dpl_v10' }, 'dpl_v2'],
  ['an action only dpl_v1 knows', { method: 'POST', headers: { 'next-action': A } }, 'dpl_v1'],
  ['an action only the staged dpl_v3 knows', { method: 'POST', headers: { 'next-action': D } }, 'dpl_v3'],
  ['an action the current build knows too', { method: 'POST', headers: { 'next-action': B } }, 'dpl_v2'],
  ['an action nobody knows', { method: 'POST', headers: { 'next-action': `40${'e'.repeat(40)}` } }, 'dpl_v2'],
  ['the header beats the action ID', { method: 'POST', headers: { 'next-action': A, 'x-deployment-id': 'dpl_v2' } }, 'dpl_v2'],
  ['a shared action with header dpl_v1', { method: 'POST', headers: { 'next-action': B, 'x-deployment-id': 'dpl_v1' } }, 'dpl_v1'],
  ['an unknown header beats the action ID', { method: 'POST', headers: { 'next-action': A, 'x-deployment-id': 'dpl_v0' } }, 'dpl_v2'],
  ['the action ID beats the cookie', { method: 'POST', headers: { 'next-action': A, ...cookie('__vdpl=dpl_v3') } }, 'dpl_v1'],
  ['a current action ID beats the cookie', { method: 'POST', headers: { 'next-action': B, ...cookie('__vdpl=dpl_v1') } }, 'dpl_v2'],
  ['a no-JS form post with the cookie', { method: 'POST', headers: cookie('__vdpl=dpl_v1') }, 'dpl_v1'],
  ['the cookie among others', { method: 'POST', headers: cookie('a=1; __vdpl=dpl_v1; b=2') }, 'dpl_v1'],
  ['the cookie is not used for GET', { headers: cookie('__vdpl=dpl_v1') }, 'dpl_v2'],
  ['nor for HEAD', { method: 'HEAD', headers: cookie('__vdpl=dpl_v1') }, 'dpl_v2'],
  ['the header beats a stale cookie', { method: 'POST', headers: { 'x-deployment-id': 'dpl_v2', ...cookie('__vdpl=dpl_v1') } }, 'dpl_v2'],
  [
    'a retained header beats another cookie',
    { method: 'POST', headers: { 'x-deployment-id': 'dpl_v3', ...cookie('__vdpl=dpl_v1') } },
    'dpl_v3',
  ],
  [
    'an unknown header beats the cookie',
    { method: 'POST', headers: { 'x-deployment-id': 'dpl_v0', ...cookie('__vdpl=dpl_v1') } },
    'dpl_v2',
  ],
  ['x__vdpl is not __vdpl', { method: 'POST', headers: cookie('x__vdpl=dpl_v1') }, 'dpl_v2'],
  ['__vdpl=dpl_v10 is not dpl_v1', { method: 'POST', headers: cookie('__vdpl=dpl_v10') }, 'dpl_v2'],
  [
    'header, action and cookie: the header',
    { method: 'POST', headers: { 'x-deployment-id': 'dpl_v3', 'next-action': A, ...cookie('__vdpl=dpl_v1') } },
    'dpl_v3',
  ],
  // The documented deviation: a POST with ?dpl= (Next.js never sends one) goes by its cookie.
  [
    '(documented) a POST with ?dpl= and a cookie goes by the cookie',
    { method: 'POST', query: 'dpl=dpl_v1', headers: cookie('__vdpl=dpl_v3') },
    'dpl_v3',
  ],
]

describe('the HTTPRoute implements the routing contract under the Gateway API precedence rules', () => {
  const route = render().objects.at(-1)
  const backend = (id) => d.k8sObjectName('shop', id)
  for (const partial of [false, true]) {
    test(`${partial ? 'partial-match' : 'full-match'} regular expressions`, () => {
      for (const [what, req, expected] of CASES) assert.equal(gatewayRoute(route, req, { partial }), backend(expected), what)
    })
  }
  test("the order of the retained deployments' rules does not matter; the current one is last", () => {
    assert.equal(route.spec.rules.at(-1).backendRefs[0].name, backend('dpl_v2'))
    const swapped = structuredClone(route)
    swapped.spec.rules = [swapped.spec.rules[1], swapped.spec.rules[0], swapped.spec.rules[2]]
    for (const [what, req, expected] of CASES) assert.equal(gatewayRoute(swapped, req), backend(expected), what)
  })
  test('without recorded action IDs, no request is routed by its action ID', () => {
    const bare = render({ ...STATE, deployments: STATE.deployments.map((x) => ({ ...x, actions: [] })) }).objects.at(-1)
    assert.equal(gatewayRoute(bare, { method: 'POST', headers: { 'next-action': A } }), backend('dpl_v2'))
    assert.equal(gatewayRoute(bare, { method: 'POST', headers: cookie('__vdpl=dpl_v1') }), backend('dpl_v1'))
  })
  test('hundreds of action IDs are split into expressions within the 4096-character limit', () => {
    const ids = Array.from({ length: 400 }, (_, i) => `40${i.toString(16).padStart(40, '0')}`)
    const patterns = d.actionPatterns(ids)
    assert.ok(patterns.length > 1)
    for (const p of patterns) assert.ok(p.length <= 4096)
    assert.deepEqual(
      patterns.flatMap((p) => p.slice(4, -2).split('|')),
      ids,
    )
    const big = render({
      ...STATE,
      deployments: STATE.deployments.map((x) => (x.id === 'dpl_v1' ? { ...x, actions: ids } : x)),
    }).objects.at(-1)
    assert.equal(gatewayRoute(big, { method: 'POST', headers: { 'next-action': ids[399] } }), backend('dpl_v1'))
  })
})

// --- Names, limits, bad input ---------------------------------------------------------------------

describe('registry entries Kubernetes cannot hold are refused with the rule, never rewritten', () => {
  const withIds = (...ids) => ({
    format: STATE.format,
    current: ids[0],
    deployments: ids.map((id, i) => ({
      id,
      upstream: `127.0.0.1:${3001 + i}`,
      addedAt: at(1 + i),
      promotedAt: i === 0 ? at(1 + i) : null,
      supersededAt: null,
      build: null,
      actions: [],
    })),
  })
  test('names: lower case, "_" as "-"', () => {
    const m = render(withIds('Dpl_V1'))
    assert.equal(m.objects[0].metadata.name, 'shop-dpl-v1')
    assert.equal(m.objects[0].metadata.labels['next-skew-guard/deployment-id'], 'Dpl_V1')
    assert.equal(m.objects[0].spec.template.spec.containers[0].image, 'registry.example.com/shop:Dpl_V1')
  })
  test('two IDs that would share a name', () => {
    assert.throws(
      () => render(withIds('dpl_v1', 'dpl-v1')),
      (e) => e.code === 'ERR_DEPLOYMENT_ID' && /"dpl_v1" and "dpl-v1" would both be named "shop-dpl-v1"/.test(e.message),
    )
  })
  test('an ID that is not a label value, or too long for a name', () => {
    assert.throws(
      () => render(withIds('dpl_v1_')),
      (e) => e.code === 'ERR_DEPLOYMENT_ID' && /label value \(at most 63 characters/.test(e.message),
    )
    assert.throws(
      () => render(withIds('a'.repeat(64))),
      (e) => e.code === 'ERR_DEPLOYMENT_ID' && /label value/.test(e.message),
    )
    assert.throws(
      () => render(withIds('a'.repeat(60))),
      (e) => e.code === 'ERR_DEPLOYMENT_ID' && /cannot be a Kubernetes object name/.test(e.message),
    )
  })
  test('bad options', () => {
    for (const [options, re] of [
      [{ ...OPTIONS, app: 'Shop' }, /app name/],
      [{ ...OPTIONS, image: 'registry.example.com/shop:latest' }, /\{id\}/],
      [{ ...OPTIONS, image: 'shop:{id} --privileged' }, /image/],
      [{ ...OPTIONS, gateway: 'Public_GW' }, /Gateway name/],
      [{ ...OPTIONS, hostnames: ['shop.example.com:443'] }, /host names/],
      [{ ...OPTIONS, retainedReplicas: 0 }, /retainedReplicas/],
      [{ ...OPTIONS, namespace: 'a.b' }, /namespace/],
    ]) {
      assert.throws(
        () => render(STATE, options),
        (e) => e.code === 'ERR_INVALID_ARG_VALUE' && re.test(e.message),
        JSON.stringify(options),
      )
    }
  })
  test('a registry with zero deployments, and one with nothing promoted', () => {
    const empty = cli(
      ['render', '--target', 'gateway-api', '--app', 'shop', '--image', 'shop:{id}', '--gateway', 'public'],
      stateFile({ format: STATE.format, current: null, deployments: [] }),
    )
    assert.equal(empty.code, 1)
    assert.match(empty.err, /ERR_DEPLOYMENT_CURRENT: The registry has no current deployment yet/)
    const missing = cli(
      ['render', '--target', 'gateway-api', '--app', 'shop', '--image', 'shop:{id}', '--gateway', 'public'],
      path.join(tmp, 'nope.json'),
    )
    assert.equal(missing.code, 1)
    assert.match(missing.err, /ERR_DEPLOYMENTS_STATE: .*does not exist/)
  })
  test('more retained deployments than one HTTPRoute can route: refused, saying how many fit', () => {
    // Every build knows an action of its own, so every retained one needs an action expression.
    const state = (count, actions = false) => ({
      format: STATE.format,
      current: `v${count}`,
      deployments: Array.from({ length: count + 1 }, (_, i) => ({
        id: `v${i}`,
        upstream: `shop-v${i}:3000`,
        addedAt: at(1, i),
        promotedAt: at(1, i),
        supersededAt: i < count ? at(1, i + 1) : null,
        build: null,
        actions: actions ? [`40${i.toString(16).padStart(40, '0')}`] : [],
      })),
    })
    // 13 retained with one action expression each fit (8 + 13 × 9 = 125 matches, 14 rules).
    const fits = render(state(13, true))
    assert.equal(fits.objects.at(-1).spec.rules.length, 14)
    assert.equal(fits.objects.at(-1).spec.rules.flatMap((r) => r.matches).length, 125)
    assert.throws(
      () => render(state(14, true)),
      (e) => e.code === 'ERR_DEPLOYMENTS_LIMIT' && /About 13 fit: `next-skew-guard deployments gc --keep 13`/.test(e.message),
    )
    // Without action IDs the 16-rule limit is the one: 15 retained.
    assert.equal(render(state(15)).objects.at(-1).spec.rules.length, 16)
    assert.throws(
      () => render(state(16)),
      (e) => e.code === 'ERR_DEPLOYMENTS_LIMIT' && /About 15 fit/.test(e.message),
    )
  })
})

// --- Stability, promote, the CLI, post-apply.sh ----------------------------------------------------

describe('the rendered directory', () => {
  test('is deterministic, and a promote changes replica counts and the route, never a pod template', () => {
    const a = render()
    assert.deepEqual(render().files, a.files)
    const promoted = render({
      ...STATE,
      current: 'dpl_v3',
      deployments: STATE.deployments.map((x) =>
        x.id === 'dpl_v3' ? { ...x, promotedAt: at(4) } : x.id === 'dpl_v2' ? { ...x, supersededAt: at(4) } : x,
      ),
    })
    const byName = (m) => Object.fromEntries(m.objects.filter((o) => o.kind === 'Deployment').map((o) => [o.metadata.name, o]))
    const before = byName(a)
    const now = byName(promoted)
    for (const name of Object.keys(before)) assert.deepEqual(now[name].spec.template, before[name].spec.template, name)
    assert.deepEqual(Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v.spec.replicas])), {
      'shop-dpl-v1': 1,
      'shop-dpl-v2': 1,
      'shop-dpl-v3': 2,
    })
  })

  test('the CLI writes it, leaves it unchanged on a second render, prints a stream without --out', () => {
    const state = stateFile()
    const dir = path.join(tmp, 'cli')
    const args = [
      'render',
      '--target',
      'gateway-api',
      '--app',
      'shop',
      '--image',
      'registry.example.com/shop:{id}',
      '--gateway',
      'public',
      '--namespace',
      'prod',
    ]
    const r = cli([...args, '--out', dir], state)
    assert.equal(r.code, 0, r.err)
    assert.match(r.err, /✓ wrote .*gateway-api, 3 deployments, current dpl_v2\)\. Next: kubectl apply -k .* && sh .*post-apply\.sh/)
    assert.deepEqual(fs.readdirSync(dir).sort(), ['httproute.yaml', 'kustomization.yaml', 'post-apply.sh', 'workloads.yaml'])
    assert.equal(fs.statSync(path.join(dir, 'post-apply.sh')).mode & 0o111, 0o111)
    assert.match(cli([...args, '--out', dir], state).err, /✓ unchanged: /)
    const stream = cli(args, state)
    assert.equal(stream.code, 0, stream.err)
    assert.equal(stream.out.split(/^---$/m).length, 7)
    assert.ok(!stream.out.includes('Kustomization'))
  })

  test('usage errors', () => {
    const state = stateFile()
    for (const [args, re] of [
      [['--target', 'gateway-api', '--app', 'shop', '--image', 'shop:{id}'], /needs --gateway/],
      [['--target', 'gateway-api', '--proxy', 'nginx'], /exclude each other/],
      [['--target', 'gateway-api', '--app', 'shop', '--image', 'shop:{id}', '--gateway', 'g', '--reload'], /--reload is for --proxy/],
      [
        ['--target', 'gateway-api', '--app', 'shop', '--image', 'shop:{id}', '--gateway', 'g', '--network', 'web'],
        /--network is for --target compose/,
      ],
      [['--target', 'k8s'], /--target must be one of gateway-api, compose-traefik, compose-caddy/],
      [['--proxy', 'nginx', '--gateway', 'g'], /--gateway is for --target/],
      [
        ['--target', 'gateway-api', '--app', 'shop', '--image', 'shop:{id}', '--gateway', 'g', '--replicas', '0'],
        /--replicas must be a whole number from 1 to 100/,
      ],
    ]) {
      const r = cli(['render', ...args], state)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`)
      assert.match(r.err, re)
    }
  })

  test('post-apply.sh sets owner references, waits, then deletes only what left the registry', () => {
    const m = render()
    const script = file(m, 'post-apply.sh')
    assert.equal(spawnSync('sh', ['-n'], { input: script }).status, 0, 'valid sh')
    // A kubectl that records its arguments and answers UIDs.
    const bin = path.join(tmp, 'fake-bin')
    fs.mkdirSync(bin, { recursive: true })
    const log = path.join(tmp, 'kubectl.log')
    fs.writeFileSync(
      path.join(bin, 'kubectl'),
      `#!/bin/sh\nfor a in "$@"; do printf '%s|' "$a"; done >> '${log}'\necho >> '${log}'\ncase "$*" in *jsonpath*) for a in "$@"; do [ "$prev" = deployment ] && printf 'uid-%s' "$a"; prev=$a; done;; esac\nexit 0\n`,
      { mode: 0o755 },
    )
    const scriptFile = path.join(tmp, 'post-apply.sh')
    fs.writeFileSync(scriptFile, script)
    const r = spawnSync('sh', [scriptFile], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, NSG_SETTLE_SECONDS: '0' } })
    assert.equal(r.status, 0, r.stderr)
    const calls = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.replace(/\|$/, '').split('|'))
    assert.equal(calls.length, 7)
    for (const [i, name] of ['shop-dpl-v2', 'shop-dpl-v1', 'shop-dpl-v3'].entries()) {
      assert.deepEqual(calls[2 * i].slice(0, 5), ['-n', 'prod', 'get', 'deployment', name])
      const patch = calls[2 * i + 1]
      assert.deepEqual(patch.slice(0, 5), ['-n', 'prod', 'patch', 'service', name])
      assert.deepEqual(JSON.parse(patch.at(-1)), {
        metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: `uid-${name}` }] },
      })
    }
    assert.deepEqual(calls[6], [
      '-n',
      'prod',
      'delete',
      'deployment,service',
      '--ignore-not-found',
      '-l',
      'app=shop,app.kubernetes.io/managed-by=next-skew-guard,next-skew-guard/deployment-id,next-skew-guard/deployment-id notin (dpl_v2,dpl_v1,dpl_v3)',
    ])
  })
})
