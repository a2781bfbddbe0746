// `deployments render --target compose-traefik|compose-caddy`: the Compose file is valid for the
// Compose specification schema (vendored from Docker Compose v2.40.3) and loads in the real Docker
// Compose binary (`config`, no engine needed); a deployment's service never changes because another
// one came or went, so `up -d` recreates nothing running; and the routes its labels carry implement
// the routing contract in the real proxies: the Traefik labels as Traefik's Docker provider reads
// them (label keys are the dynamic configuration's paths), fed to a real Traefik v3 through its file
// provider, and the caddy-docker-proxy labels turned into the Caddyfile that caddy-docker-proxy
// generates from them, served by a real Caddy, each in front of stand-in deployments on loopback.
// Not verified here (no Docker engine): Docker's service discovery itself, i.e. that Traefik and
// caddy-docker-proxy see the containers; the label-to-config step is the proxies' documented one.
// caddy-docker-proxy routes to a container before it is healthy: a request to a release that does
// not listen yet is dialled again until it does (checked with Caddy below).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import { createRequire } from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'

import { ensureProxies } from '../scripts/proxies/install.mjs'
import { createProxy } from '../scripts/proxies/launch.mjs'
import { dockerCompose, validateYaml } from './fixtures/schemas/index.mjs'

const require = createRequire(import.meta.url)
const d = require('../dist/deployments/index.js')
// The proxies' launcher waits for Traefik to list the routers of a file in the renderers' YAML layout.
const { emitYaml } = require('../dist/deployments/yaml.js')
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'next-skew-guard.js')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-compose-'))

const A = `40${'a'.repeat(40)}` // only dpl_v1 knows it
const B = `40${'b'.repeat(40)}` // dpl_v1 and the current dpl_v2
const C = `7f${'c'.repeat(40)}` // dpl_v2 and the staged dpl_v3
const D = `60${'d'.repeat(40)}` // only the staged dpl_v3

const at = (day, hour = 0) => new Date(Date.UTC(2026, 0, day, hour)).toISOString()
const V1 = {
  id: 'dpl_v1',
  upstream: 'shop-dpl-v1:3000',
  addedAt: at(1),
  promotedAt: at(1, 1),
  supersededAt: at(2, 1),
  build: null,
  actions: [A, B],
}
const V2 = {
  id: 'dpl_v2',
  upstream: 'shop-dpl-v2:3000',
  addedAt: at(2),
  promotedAt: at(2, 1),
  supersededAt: null,
  build: null,
  actions: [B, C],
}
const V3 = {
  id: 'dpl_v3',
  upstream: 'shop-dpl-v3:3000',
  addedAt: at(3),
  promotedAt: null,
  supersededAt: null,
  build: null,
  actions: [C, D],
}
const registry = (current, ...deployments) =>
  d.parseState(JSON.stringify({ format: 'next-skew-guard/deployments@1', current, deployments }))
const STATE = registry('dpl_v2', V1, V2, V3)
const TRAEFIK = {
  app: 'shop',
  image: 'registry.example.com/shop:{id}',
  host: 'shop.example.com',
  entryPoints: ['websecure'],
  certResolver: 'le',
}
const CADDY = { app: 'shop', image: 'registry.example.com/shop:{id}', host: 'shop.example.com' }
const render = (target, state = STATE, options = target === 'compose-traefik' ? TRAEFIK : CADDY) =>
  d.renderCompose(target, state, d.planRouting(state), options)
const TARGETS = ['compose-traefik', 'compose-caddy']

after(() => fs.rmSync(tmp, { recursive: true, force: true }))

/** Loads a Compose file with the real Docker Compose; resolves its canonical model (labels with a literal "$"). */
async function composeConfig(text, name) {
  const dir = fs.mkdtempSync(path.join(tmp, `${name}-`))
  fs.writeFileSync(path.join(dir, 'compose.yaml'), text)
  fs.writeFileSync(path.join(dir, 'app.env'), 'NEXT_SERVER_ACTIONS_ENCRYPTION_KEY=AAECAwQFBgcICQoLDA0ODw==\n')
  const r = spawnSync(await dockerCompose(), ['-f', path.join(dir, 'compose.yaml'), 'config', '--format', 'json'], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: dir },
  })
  assert.equal(r.status, 0, `docker compose config: ${r.stderr}`)
  const model = JSON.parse(r.stdout)
  // `config` prints a file that loads again, so a literal "$" comes back escaped as "$$".
  for (const s of Object.values(model.services)) for (const [k, v] of Object.entries(s.labels ?? {})) s.labels[k] = v.replace(/\$\$/g, '$')
  return model
}

// --- Schema and Docker Compose ---------------------------------------------------------------

describe('the Compose file', () => {
  for (const target of TARGETS) {
    test(`${target}: valid for the Compose specification schema, and loaded by Docker Compose v2 as meant`, async () => {
      const text = render(target)
      const r = await validateYaml([{ name: target, text, schema: 'compose' }])
      assert.deepEqual(r.errors, [])
      assert.deepEqual(r.checked, [`${target}[0] against compose-spec`])
      const model = await composeConfig(text, target)
      assert.deepEqual(Object.keys(model.services).sort(), ['shop-dpl-v1', 'shop-dpl-v2', 'shop-dpl-v3'])
      const meant = r.documents[0].object
      for (const [name, service] of Object.entries(meant.services)) {
        // Compose reads "$$" as a literal "$": what the proxy gets is the rule with single "$".
        const labels = Object.fromEntries(Object.entries(service.labels).map(([k, v]) => [k, v.replace(/\$\$/g, '$')]))
        assert.deepEqual(model.services[name].labels, labels, name)
        assert.equal(model.services[name].image, service.image)
        assert.equal(model.services[name].environment.NEXT_DEPLOYMENT_ID, service.environment.NEXT_DEPLOYMENT_ID)
        assert.equal(
          model.services[name].environment.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY,
          'AAECAwQFBgcICQoLDA0ODw==',
          'the key comes from the env file',
        )
        assert.deepEqual(model.services[name].healthcheck.test.slice(0, 3), ['CMD', 'node', '-e'])
      }
      assert.equal(model.networks.web.external, true)
    })
  }

  test('the schema rejects what is wrong (negative control)', async () => {
    const text = render('compose-traefik').replace('    restart: ', '    restarts: ')
    const r = await validateYaml([{ name: 'broken', text, schema: 'compose' }])
    assert.ok(
      r.errors.some((e) => /restarts/.test(e)),
      r.errors.join('\n'),
    )
  })

  test('a service changes only with its own deployment: others coming, going or being promoted recreate nothing (Traefik)', () => {
    const services = (state, target = 'compose-traefik') =>
      d.composeConfig(target, state, d.planRouting(state), target === 'compose-traefik' ? TRAEFIK : CADDY).services
    const base = services(registry('dpl_v2', V1, V2))
    const added = services(STATE)
    const retired = services(registry('dpl_v2', V2, V3))
    assert.deepEqual(added['shop-dpl-v1'], base['shop-dpl-v1'])
    assert.deepEqual(added['shop-dpl-v2'], base['shop-dpl-v2'])
    assert.deepEqual(retired['shop-dpl-v2'], base['shop-dpl-v2'])
    assert.deepEqual(retired['shop-dpl-v3'], added['shop-dpl-v3'])
    // Promoting dpl_v3 changes dpl_v3 only (it gains its action and catch-all routers).
    const promoted = services(registry('dpl_v3', V1, { ...V2, supersededAt: at(4) }, { ...V3, promotedAt: at(4) }))
    assert.deepEqual(promoted['shop-dpl-v1'], added['shop-dpl-v1'])
    assert.deepEqual(promoted['shop-dpl-v2'], added['shop-dpl-v2'])
    assert.notDeepEqual(promoted['shop-dpl-v3'], added['shop-dpl-v3'])
    // caddy-docker-proxy: the catch-all moves from the previous current deployment (documented).
    const caddyBefore = services(STATE, 'compose-caddy')
    const caddyAfter = services(registry('dpl_v3', V1, { ...V2, supersededAt: at(4) }, { ...V3, promotedAt: at(4) }), 'compose-caddy')
    assert.deepEqual(caddyAfter['shop-dpl-v1'], caddyBefore['shop-dpl-v1'])
    assert.notDeepEqual(caddyAfter['shop-dpl-v2'], caddyBefore['shop-dpl-v2'])
  })

  test('deterministic; IDs Compose cannot name a service after are refused', () => {
    assert.equal(render('compose-traefik'), render('compose-traefik'))
    const clash = registry('dpl_v1', { ...V1, supersededAt: null }, { ...V2, id: 'dpl-v1', upstream: '127.0.0.1:3002', promotedAt: null })
    assert.throws(
      () => render('compose-traefik', clash),
      (e) => e.code === 'ERR_DEPLOYMENT_ID' && /would both be named "shop-dpl-v1" in Docker Compose/.test(e.message),
    )
  })

  test('the CLI writes it; caddy needs --host and takes no Traefik option', () => {
    const state = path.join(tmp, 'state.json')
    fs.writeFileSync(state, JSON.stringify(STATE))
    const out = path.join(tmp, 'compose.yaml')
    const cli = (args) =>
      spawnSync(process.execPath, [BIN, 'deployments', 'render', ...args], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: tmp, SKEW_GUARD_DEPLOYMENTS: state },
      })
    const r = cli([
      '--target',
      'compose-traefik',
      '--app',
      'shop',
      '--image',
      'registry.example.com/shop:{id}',
      '--host',
      'shop.example.com',
      '--entrypoint',
      'websecure',
      '--cert-resolver',
      'le',
      '--out',
      out,
    ])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(fs.readFileSync(out, 'utf8'), render('compose-traefik'))
    assert.match(r.stderr, /Next: docker compose -f .* up -d --remove-orphans/)
    const noHost = cli(['--target', 'compose-caddy', '--app', 'shop', '--image', 'shop:{id}'])
    assert.equal(noHost.status, 2)
    assert.match(noHost.stderr, /compose-caddy needs --host/)
    const tls = cli(['--target', 'compose-caddy', '--app', 'shop', '--image', 'shop:{id}', '--host', 'shop.example.com', '--tls'])
    assert.equal(tls.status, 2)
    assert.match(tls.stderr, /Traefik options/)
    const k8s = cli(['--target', 'compose-traefik', '--app', 'shop', '--image', 'shop:{id}', '--gateway', 'public'])
    assert.equal(k8s.status, 2)
    assert.match(k8s.stderr, /--gateway is for --target gateway-api/)
  })
})

// --- The labels' routes in the real proxies -----------------------------------------------------

/** A stand-in deployment: answers every request with its name. */
function backend(name) {
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name, connection: 'close' })
      res.end(name)
    })
  })
  return {
    name,
    port: 0,
    async listen(port = 0) {
      await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
      this.port = server.address().port
    },
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

function request(proxy, { method = 'GET', path: p = '/', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: proxy.port,
        method,
        path: p,
        headers: { host: 'shop.example.com', connection: 'close', ...headers },
        agent: false,
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode, backend: res.headers['x-backend'] ?? null }))
      },
    )
    req.on('error', reject)
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')))
    req.end(method === 'POST' ? 'x' : undefined)
  })
}

/**
 * Traefik's Docker provider reads `traefik.<path>=<value>` labels as the dynamic configuration at
 * <path> and points the service at the container: the same tree, as a file-provider file, with the
 * stand-in backends for the containers.
 */
function traefikDynamic(model, ports) {
  const config = { http: { routers: {}, services: {} } }
  for (const [name, service] of Object.entries(model.services)) {
    const id = service.labels['next-skew-guard.deployment-id']
    for (const [key, value] of Object.entries(service.labels)) {
      const m = /^traefik\.http\.routers\.([^.]+)\.(rule|priority|service)$/.exec(key)
      if (m) {
        const router = (config.http.routers[m[1]] ??= { entryPoints: ['web'] })
        router[m[2]] = m[2] === 'priority' ? Number(value) : value
      }
      const s = /^traefik\.http\.services\.([^.]+)\.loadbalancer\.server\.port$/.exec(key)
      if (s) config.http.services[s[1]] = { loadBalancer: { servers: [{ url: `http://127.0.0.1:${ports[id]}` }] } }
    }
    assert.ok(id, `${name} has its deployment label`)
  }
  return config
}

/**
 * The Caddyfile caddy-docker-proxy generates from `caddy.*` labels: the site is the `caddy` label;
 * every further key segment is a directive nested in the one before, `_N` suffixes only order and
 * tell apart directives of the same name; `{{upstreams PORT}}` becomes the container's address.
 * Containers with the same site share one site block. Returns the site block's body.
 */
function caddyFromLabels(model, ports, order) {
  const lines = []
  const emit = (tree, indent) => {
    const keys = Object.keys(tree).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    for (const key of keys) {
      const { value, children } = tree[key]
      const name = key.replace(/_\d+$/, '')
      const head = `${indent}${name}${value ? ` ${value}` : ''}`
      if (Object.keys(children).length === 0) lines.push(head)
      else {
        lines.push(`${head} {`)
        emit(children, `${indent}\t`)
        lines.push(`${indent}}`)
      }
    }
  }
  for (const name of order) {
    const service = model.services[name]
    const id = service.labels['next-skew-guard.deployment-id']
    const tree = {}
    for (const [key, raw] of Object.entries(service.labels)) {
      if (!key.startsWith('caddy.')) continue
      let node = tree
      const parts = key.slice('caddy.'.length).split('.')
      parts.forEach((part, i) => {
        node[part] ??= { value: '', children: {} }
        if (i === parts.length - 1) node[part].value = raw.replace(/\{\{upstreams (\d+)\}\}/, () => `127.0.0.1:${ports[id]}`)
        node = node[part].children
      })
    }
    assert.equal(service.labels.caddy, 'shop.example.com')
    emit(tree, '')
  }
  return `${lines.join('\n')}\n`
}

const cookie = (value) => ({ cookie: value })
/** [what, request, expected for Traefik labels, expected for caddy-docker-proxy labels]. */
const CASES = [
  ['a document', {}, 'v2', 'v2'],
  ['HEAD', { method: 'HEAD' }, 'v2', 'v2'],
  ['header dpl_v1', { headers: { 'x-deployment-id': 'dpl_v1' } }, 'v1', 'v1'],
  ['header of the staged dpl_v3', { headers: { 'x-deployment-id': 'dpl_v3' } }, 'v3', 'v3'],
  ['an unknown ID', { headers: { 'x-deployment-id': 'dpl_v0' } }, 'v2', 'v2'],
  ['dpl_v10 is not dpl_v1', { headers: { 'x-deployment-id': 'dpl_v10' } }, 'v2', 'v2'],
  ['?dpl=dpl_v1', { path: '/_next/static/chunks/a.js?dpl=dpl_v1' }, 'v1', 'v1'],
  ['the header beats ?dpl=', { path: '/?dpl=dpl_v1', headers: { 'x-deployment-id': 'dpl_v2' } }, 'v2', 'v2'],
  ['an action only dpl_v1 knows', { method: 'POST', headers: { 'next-action': A } }, 'v1', 'v2'],
  ['an action the current build knows too', { method: 'POST', headers: { 'next-action': B } }, 'v2', 'v2'],
  // A build that was never promoted served no page: no tab holds its action IDs.
  ['an action only the staged build knows', { method: 'POST', headers: { 'next-action': D } }, 'v2', 'v2'],
  ['the header beats the action ID', { method: 'POST', headers: { 'next-action': A, 'x-deployment-id': 'dpl_v2' } }, 'v2', 'v2'],
  ['the action ID beats the cookie', { method: 'POST', headers: { 'next-action': A, ...cookie('__vdpl=dpl_v3') } }, 'v1', 'v2'],
  ['a no-JS form post with the cookie', { method: 'POST', headers: cookie('a=1; __vdpl=dpl_v1; b=2') }, 'v1', 'v1'],
  ['the cookie is not used for GET', { headers: cookie('__vdpl=dpl_v1') }, 'v2', 'v2'],
  ['the header beats a stale cookie', { method: 'POST', headers: { 'x-deployment-id': 'dpl_v2', ...cookie('__vdpl=dpl_v1') } }, 'v2', 'v2'],
  ['?dpl= beats the cookie', { method: 'POST', path: '/?dpl=dpl_v1', headers: cookie('__vdpl=dpl_v3') }, 'v1', 'v1'],
  ['x__vdpl is not __vdpl', { method: 'POST', headers: cookie('x__vdpl=dpl_v1') }, 'v2', 'v2'],
]

describe('the labels route by the contract in the real proxies', () => {
  const backends = { dpl_v1: backend('v1'), dpl_v2: backend('v2'), dpl_v3: backend('v3') }
  let bins
  before(
    async () => {
      bins = await ensureProxies(['traefik', 'caddy-latest'])
      for (const b of Object.values(backends)) await b.listen()
    },
    { timeout: 10 * 60_000 },
  )
  after(async () => {
    for (const b of Object.values(backends)) await b.close().catch(() => {})
  })
  const ports = () => Object.fromEntries(Object.entries(backends).map(([id, b]) => [id, b.port]))

  test('Traefik v3 (Docker provider labels, read as its dynamic configuration)', { timeout: 120_000 }, async () => {
    const model = await composeConfig(
      render('compose-traefik', STATE, { ...TRAEFIK, entryPoints: ['web'], certResolver: undefined }),
      'traefik-routes',
    )
    const proxy = await createProxy('traefik', { bin: bins.traefik, root: tmp })
    fs.writeFileSync(proxy.out, emitYaml(traefikDynamic(model, ports())))
    try {
      await proxy.start()
      // The file provider loads asynchronously: wait for the catch-all.
      const deadline = Date.now() + 20_000
      while ((await request(proxy).catch(() => ({}))).backend !== 'v2') {
        if (Date.now() > deadline) throw new Error(`Traefik never routed:\n${proxy.output().slice(-3000)}`)
        await new Promise((r) => setTimeout(r, 200))
      }
      for (const [what, req, expected] of CASES) assert.equal((await request(proxy, req)).backend, expected, what)
      // A deployment whose container is gone loses its routers: its requests reach the current one.
      const model2 = await composeConfig(
        render('compose-traefik', registry('dpl_v2', V2, V3), { ...TRAEFIK, entryPoints: ['web'], certResolver: undefined }),
        'traefik-gone',
      )
      fs.writeFileSync(proxy.out, emitYaml(traefikDynamic(model2, ports())))
      const until = Date.now() + 20_000
      while ((await request(proxy, { headers: { 'x-deployment-id': 'dpl_v1' } })).backend !== 'v2') {
        if (Date.now() > until) throw new Error('dpl_v1 kept its routes')
        await new Promise((r) => setTimeout(r, 200))
      }
    } finally {
      await proxy.stop()
    }
  })

  test('Caddy (the Caddyfile caddy-docker-proxy builds from the labels), in any container order', { timeout: 120_000 }, async () => {
    const model = await composeConfig(render('compose-caddy'), 'caddy-routes')
    for (const order of [
      ['shop-dpl-v1', 'shop-dpl-v2', 'shop-dpl-v3'],
      ['shop-dpl-v3', 'shop-dpl-v2', 'shop-dpl-v1'],
    ]) {
      const proxy = await createProxy('caddy', { bin: bins['caddy-latest'], root: tmp, flavour: 'caddy-latest' })
      fs.writeFileSync(proxy.out, caddyFromLabels(model, ports(), order))
      try {
        await proxy.start()
        for (const [what, req, , expected] of CASES)
          assert.equal((await request(proxy, req)).backend, expected, `${order[0]} first: ${what}`)
        if (order[0] === 'shop-dpl-v1') {
          // caddy-docker-proxy routes to a container before it listens: the request waits for it.
          const v1 = backends.dpl_v1
          const port = v1.port
          await v1.close()
          const pending = request(proxy, { method: 'POST', headers: { 'x-deployment-id': 'dpl_v1' } })
          await new Promise((r) => setTimeout(r, 1_000))
          await v1.listen(port)
          assert.equal((await pending).backend, 'v1', 'a form post to a release that starts a moment later')
        }
      } finally {
        await proxy.stop()
      }
    }
  })
})
