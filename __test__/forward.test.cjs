// In-app forwarding (skewGuard({ forward })): the routing contract evaluated in JavaScript
// (routeRequest, the same cases the proxy configs are tested with), and the forwarder against real
// HTTP servers on loopback: what is forwarded and what is not, Host / X-Forwarded-Host, bodies,
// several Set-Cookie headers, at most one hop, a refused or silent connection (nothing sent: the
// app answers), a retained app that fails or hangs after the request was sent (502 / 504, marked,
// never retried), and a registry that changes or breaks.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const { planRouting, routeRequest } = require('../dist/deployments/index.js')
const { writeStateFile } = require('../dist/deployments/state.js')
const { createForwarder, FORWARDED_HEADER } = require('../dist/proxy/forward.js')

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-forward-'))
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }))

const A = (c) => c.repeat(42)
const GREET = A('a') // only v1 knows it
const SHARED = A('b') // v1 and v2 know it
const OLDEST = A('c') // only v0 knows it

function deployment(id, upstream, { actions = [], current = false, superseded = null } = {}) {
  return {
    id,
    upstream,
    addedAt: '2026-01-01T00:00:00.000Z',
    promotedAt: current || superseded ? '2026-01-01T00:00:00.000Z' : null,
    supersededAt: superseded,
    build: null,
    actions: [...actions].sort(),
  }
}

function state(upstreams = { v0: '127.0.0.1:1', v1: '127.0.0.1:2', v2: '127.0.0.1:3' }) {
  return {
    format: 'next-skew-guard/deployments@1',
    current: 'v2',
    deployments: [
      deployment('v0', upstreams.v0, { actions: [OLDEST, SHARED], superseded: '2026-01-02T00:00:00.000Z' }),
      deployment('v1', upstreams.v1, { actions: [GREET, SHARED], superseded: '2026-01-03T00:00:00.000Z' }),
      deployment('v2', upstreams.v2, { actions: [SHARED, A('d')], current: true }),
    ],
  }
}

test('routeRequest: the routing contract, case by case', () => {
  const plan = planRouting(state())
  const to = (method, url, headers = {}) => routeRequest(plan, { method, url, headers }).id
  assert.equal(to('GET', '/'), 'v2', 'nothing: current')
  assert.equal(to('POST', '/', { 'x-deployment-id': 'v1', 'next-action': SHARED }), 'v1', 'the header decides')
  assert.equal(to('POST', '/', { 'x-deployment-id': 'v2', cookie: '__vdpl=v1' }), 'v2', 'the header beats a stale cookie')
  assert.equal(to('POST', '/', { 'x-deployment-id': 'gone', cookie: '__vdpl=v1' }), 'v2', 'an unknown header ID decides too: current')
  assert.equal(to('POST', '/', { 'x-deployment-id': '', 'next-action': GREET }), 'v1', 'an empty header is absent')
  assert.equal(to('GET', '/_next/static/chunks/a.js?dpl=v0'), 'v0', '?dpl=')
  assert.equal(to('GET', 'http://shop.example/_next/static/a.js?x=1&dpl=v1'), 'v1', '?dpl= in an absolute URL')
  assert.equal(to('GET', '/_next/static/a.js?dpl=v10'), 'v2', 'exact matches only')
  assert.equal(to('POST', '/', { 'next-action': GREET }), 'v1', 'an action only v1 knows')
  assert.equal(to('POST', '/', { 'next-action': OLDEST }), 'v0', 'an action only v0 knows')
  assert.equal(
    to('POST', '/', { 'next-action': SHARED, cookie: '__vdpl=v1' }),
    'v2',
    'an action the current build knows stays, cookie or not',
  )
  assert.equal(to('POST', '/', { cookie: 'a=1; __vdpl=v1; b=2' }), 'v1', 'the cookie on a form post')
  assert.equal(to('GET', '/', { cookie: '__vdpl=v1' }), 'v2', 'never on a GET')
  assert.equal(to('HEAD', '/', { cookie: '__vdpl=v1' }), 'v2', 'never on a HEAD')
  assert.equal(to('POST', '/', { cookie: 'x__vdpl=v1' }), 'v2', 'another cookie of a similar name')
  assert.equal(to('POST', '/', new Headers({ 'Next-Action': GREET })), 'v1', 'a Headers object')
  // Without the current build's inventory, Next-Action routes nowhere (as the rendered configs).
  const blind = state()
  blind.deployments[2].actions = []
  assert.equal(
    routeRequest(planRouting(blind), { method: 'POST', url: '/', headers: { 'next-action': GREET, cookie: '__vdpl=v1' } }).id,
    'v2',
  )
})

/** An HTTP server on a free loopback port; `handler(req, res, body)`. Closed after the test. */
async function server(t, handler) {
  const s = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => handler(req, res, Buffer.concat(chunks)))
  })
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => s.close(resolve)))
  s.seen = []
  return s
}

/** A port nothing listens on. */
async function deadPort() {
  const s = net.createServer()
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address()
  await new Promise((resolve) => s.close(resolve))
  return port
}

let files = 0
function registry(upstreams) {
  const file = path.join(tmp, `r${++files}.json`)
  writeStateFile(file, state(upstreams))
  return file
}

const echo = (s) => (req, res, body) => {
  s.seen.push({ method: req.method, url: req.url, headers: req.headers, body: body.toString() })
  res.writeHead(201, [
    ['content-type', 'text/plain'],
    ['set-cookie', 'a=1'],
    ['set-cookie', 'b=2'],
    ['x-from', 'v1'],
  ])
  res.end(`v1 answered ${req.method} ${req.url}`)
}

test('forwards what belongs to a retained deployment, once, with Host, X-Forwarded-Host and the body intact', async (t) => {
  const v1 = await server(t, (...a) => echo(v1)(...a))
  const file = registry({ v0: `127.0.0.1:${await deadPort()}`, v1: `127.0.0.1:${v1.address().port}`, v2: '127.0.0.1:3' })
  const forward = createForwarder({ registry: file })
  const request = new Request('http://localhost:3000/cart?x=1', {
    method: 'POST',
    headers: {
      host: 'shop.example.com:8443',
      origin: 'https://shop.example.com:8443',
      'next-action': GREET,
      'content-type': 'text/plain',
      connection: 'keep-alive',
      'accept-encoding': 'gzip, br',
    },
    body: '["Ada"]',
  })
  const response = await forward(request)
  assert.ok(response, 'forwarded')
  assert.equal(response.status, 201)
  assert.equal(await response.text(), 'v1 answered POST /cart?x=1')
  assert.deepEqual(response.headers.getSetCookie(), ['a=1', 'b=2'])
  assert.equal(response.headers.get('x-from'), 'v1')
  const [seen] = v1.seen
  assert.equal(seen.body, '["Ada"]')
  assert.equal(seen.headers.host, 'shop.example.com:8443')
  assert.equal(seen.headers['x-forwarded-host'], 'shop.example.com:8443')
  assert.equal(seen.headers.origin, 'https://shop.example.com:8443')
  assert.equal(seen.headers[FORWARDED_HEADER], 'v1')
  assert.notEqual(seen.headers.connection, 'keep-alive', 'hop-by-hop headers stay behind')
  assert.equal(seen.headers['accept-encoding'], undefined, 'the app compresses what it sends on: the answer comes unencoded')
  // An X-Forwarded-Host of a proxy in front is kept as it is.
  await forward(
    new Request('http://localhost:3000/', {
      method: 'POST',
      headers: { host: 'internal:3000', 'x-forwarded-host': 'shop.example.com', 'next-action': GREET },
      body: '[]',
    }),
  )
  assert.equal(v1.seen[1].headers['x-forwarded-host'], 'shop.example.com')
  assert.equal(v1.seen.length, 2)
})

test("a relative redirect of the retained app comes back absolute (Next.js parses a proxy's Location as a URL)", async (t) => {
  const v1 = await server(t, (_req, res) => {
    res.writeHead(303, { location: '/?saved=from%20the%20old%20tab' })
    res.end()
  })
  const file = registry({ v0: '127.0.0.1:1', v1: `127.0.0.1:${v1.address().port}`, v2: '127.0.0.1:3' })
  const response = await createForwarder({ registry: file })(
    new Request('http://shop.example:3000/cart', { method: 'POST', headers: { cookie: '__vdpl=v1' }, body: 'note=x' }),
  )
  assert.equal(response.status, 303)
  assert.equal(response.headers.get('location'), 'http://shop.example:3000/?saved=from%20the%20old%20tab')
})

test("does not forward what is the current app's, or what a guard forwarded already", async (t) => {
  const v1 = await server(t, (...a) => echo(v1)(...a))
  const file = registry({ v0: '127.0.0.1:1', v1: `127.0.0.1:${v1.address().port}`, v2: '127.0.0.1:3' })
  const forward = createForwarder({ registry: file })
  const cases = [
    new Request('http://localhost/', { headers: { cookie: '__vdpl=v1' } }),
    new Request('http://localhost/', { method: 'POST', headers: { 'next-action': SHARED }, body: '[]' }),
    new Request('http://localhost/', { method: 'POST', headers: { 'x-deployment-id': 'v2', cookie: '__vdpl=v1' }, body: '[]' }),
    new Request('http://localhost/', { method: 'POST', headers: { 'next-action': GREET, [FORWARDED_HEADER]: 'v1' }, body: '[]' }),
  ]
  for (const request of cases) assert.equal(await forward(request), null)
  // The app that is v1 itself (self) serves its own requests.
  const selfForward = createForwarder({ registry: file, self: 'v1' })
  assert.equal(await selfForward(new Request('http://localhost/', { method: 'POST', headers: { 'next-action': GREET }, body: '[]' })), null)
  assert.equal(v1.seen.length, 0)
})

test('a replica of a retained deployment (a rolling update behind one balancer) sends the current deployment its requests', async (t) => {
  const v2 = await server(t, (...a) => echo(v2)(...a))
  const file = registry({ v0: '127.0.0.1:1', v1: '127.0.0.1:2', v2: `127.0.0.1:${v2.address().port}` })
  const oldReplica = createForwarder({ registry: file, self: 'v1' })
  // A page of v2 whose action the balancer sent to a v1 replica.
  const action = await oldReplica(
    new Request('http://localhost/', { method: 'POST', headers: { 'x-deployment-id': 'v2', 'next-action': GREET }, body: '[]' }),
  )
  assert.equal(action.status, 201)
  assert.equal(v2.seen[0].headers[FORWARDED_HEADER], 'v2')
  // A new document: the current deployment's, as a rewrite.
  const page = await oldReplica(new Request('http://localhost/'))
  assert.equal(page.headers.get('x-middleware-rewrite'), `http://127.0.0.1:${v2.address().port}/`)
  // Its own requests it serves.
  assert.equal(
    await oldReplica(new Request('http://localhost/', { method: 'POST', headers: { 'x-deployment-id': 'v1' }, body: '[]' })),
    null,
  )
  // The current deployment's own replicas serve theirs, as does an app that does not know its ID.
  for (const self of ['v2', undefined]) {
    const forward = createForwarder({ registry: file, ...(self ? { self } : {}) })
    assert.equal(
      await forward(new Request('http://localhost/', { method: 'POST', headers: { 'x-deployment-id': 'v2' }, body: '[]' })),
      null,
    )
  }
  assert.equal(v2.seen.length, 1)
})

test("a GET (navigation, prefetch, a build's file) becomes an external rewrite, so Next.js sends the original request; not when the deployment is down", async (t) => {
  const v1 = await server(t, (...a) => echo(v1)(...a))
  const file = registry({ v0: `127.0.0.1:${await deadPort()}`, v1: `127.0.0.1:${v1.address().port}`, v2: '127.0.0.1:3' })
  const forward = createForwarder({ registry: file })
  const response = await forward(
    new Request('http://localhost:3000/blog?x=1', { headers: { 'x-deployment-id': 'v1', 'next-url': '/blog' } }),
  )
  assert.equal(response.headers.get('x-middleware-rewrite'), `http://127.0.0.1:${v1.address().port}/blog?x=1`)
  assert.match(response.headers.get('x-middleware-override-headers'), new RegExp(FORWARDED_HEADER))
  assert.equal(response.headers.get(`x-middleware-request-${FORWARDED_HEADER}`), 'v1')
  assert.equal(await forward(new Request('http://localhost:3000/_next/static/chunks/a.js?dpl=v0')), null, 'v0 is down: the app serves it')
  assert.equal(v1.seen.length, 0, 'nothing was sent by the guard itself')
})

test('a retained deployment that is down gets nothing: the app answers (null), at once', async () => {
  const file = registry({ v0: '127.0.0.1:1', v1: `127.0.0.1:${await deadPort()}`, v2: '127.0.0.1:3' })
  const forward = createForwarder({ registry: file })
  assert.equal(await forward(new Request('http://localhost/', { method: 'POST', headers: { 'next-action': GREET }, body: '[]' })), null)
})

test('sent, then failed or silent: 502 / 504 marked for the client, never retried', async (t) => {
  let hits = 0
  const dies = await server(t, (req) => {
    hits++
    req.socket.destroy()
  })
  const hangs = await server(t, () => {
    hits++
  })
  for (const [upstream, status, mark] of [
    [dies, 502, 'forward-failed'],
    [hangs, 504, 'forward-timeout'],
  ]) {
    hits = 0
    const file = registry({ v0: '127.0.0.1:1', v1: `127.0.0.1:${upstream.address().port}`, v2: '127.0.0.1:3' })
    const forward = createForwarder({ registry: file, timeoutMs: 400 })
    const response = await forward(new Request('http://localhost/', { method: 'POST', headers: { 'next-action': GREET }, body: '["Ada"]' }))
    assert.equal(response.status, status)
    assert.equal(response.headers.get('x-skew-guard'), mark)
    assert.match(await response.text(), /sent once and not retried/)
    assert.equal(hits, 1, 'sent exactly once')
  }
})

test('the registry: read again when it changes; missing or broken, nothing is forwarded', async (t) => {
  const v1 = await server(t, (...a) => echo(v1)(...a))
  const file = path.join(tmp, 'changing.json')
  const forward = createForwarder({ registry: file })
  const call = () => forward(new Request('http://localhost/', { method: 'POST', headers: { 'next-action': GREET }, body: '[]' }))
  assert.equal(await call(), null, 'no registry yet')
  writeStateFile(file, state({ v0: '127.0.0.1:1', v1: `127.0.0.1:${v1.address().port}`, v2: '127.0.0.1:3' }))
  await new Promise((resolve) => setTimeout(resolve, 1_100))
  assert.equal((await call())?.status, 201, 'picked up within a second')
  fs.writeFileSync(file, '{ not json')
  await new Promise((resolve) => setTimeout(resolve, 1_100))
  assert.equal(await call(), null, 'a broken registry forwards nothing')
})

test('needs a registry: a clear error with a code', () => {
  assert.throws(
    () => createForwarder({}, {}),
    (e) => e.code === 'ERR_FORWARD_REGISTRY' && /SKEW_GUARD_DEPLOYMENTS/.test(e.message),
  )
  assert.doesNotThrow(() => createForwarder({}, { SKEW_GUARD_DEPLOYMENTS: path.join(tmp, 'any.json') }))
})

test('skewGuard({ forward }): forwards before its own checks, keeps the health endpoint, refuses bad settings', async (t) => {
  process.env.NODE_ENV = 'production'
  const { skewGuard } = require('../dist/proxy/index.js')
  const v1 = await server(t, (...a) => echo(v1)(...a))
  const file = registry({ v0: '127.0.0.1:1', v1: `127.0.0.1:${v1.address().port}`, v2: '127.0.0.1:3' })
  const guard = skewGuard({ forward: { registry: file }, keyring: false, buildId: 'v2-build' })
  const forwarded = await guard(new Request('http://localhost/', { method: 'POST', headers: { 'next-action': GREET }, body: '[]' }))
  assert.equal(forwarded.status, 201, "greet is v1's: forwarded, not refused as unknown here")
  assert.equal(await forwarded.text(), 'v1 answered POST /')
  const health = await guard(new Request('http://localhost/api/health', { headers: { 'x-deployment-id': 'v1' } }))
  assert.equal((await health.json()).buildId, 'v2-build', "the health endpoint is always this app's")
  const own = await guard(new Request('http://localhost/', { method: 'POST', headers: { 'next-action': SHARED }, body: '[]' }))
  assert.equal(own.headers.get('x-build-id'), 'v2-build', 'a request of the current build passes on here, stamped')
  assert.equal(v1.seen.length, 1)
  // Settings
  for (const bad of ['yes', 1, [], { registry: '' }, { timeoutMs: 0 }, { regsitry: file }]) {
    assert.throws(
      () => skewGuard({ forward: bad }),
      (e) => e.name === 'SkewGuardOptionError' && /forward/.test(e.message),
      JSON.stringify(bad),
    )
  }
  const { createSkewGuard } = require('../dist/proxy/guard.js')
  const edgeLike = createSkewGuard({
    isProduction: () => true,
    readBuildId: () => null,
    readManifest: () => null,
    keyringFromEnv: () => null,
    compareBuildIds: () => 'unknown',
  })
  assert.throws(
    () => edgeLike({ forward: true }),
    (e) => e.code === 'ERR_INVALID_ARG_VALUE' && /Node runtime/.test(e.message),
  )
})
