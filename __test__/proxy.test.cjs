// The proxy guard on real Request/Headers/FormData objects (integration with a
// running Next.js server is in the e2e suite). A temp build directory stands in
// for `.next`: BUILD_ID and a Next.js 16-shaped action manifest.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

// As under `next start`; `next dev` (any other NODE_ENV) turns the checks off, tested below.
process.env.NODE_ENV = 'production'
const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-proxy-'))
process.env.__SKEW_GUARD_DIST_DIR = dist
delete process.env.SKEW_GUARD_BUILD_ID

const { Keyring, generateKey } = require('..')
const { skewGuard } = require('../dist/proxy/index.js')
const { getSkewStats, resetSkewState } = require('../dist/server/events.js')

const MODULE_ACTION = '40' + 'a'.repeat(40)
const INLINE_ACTION = '60' + 'b'.repeat(40)
const OLD_KEY = generateKey()
const KEY = generateKey()
const FOREIGN_KEY = generateKey()

fs.mkdirSync(path.join(dist, 'server'), { recursive: true })
fs.writeFileSync(path.join(dist, 'BUILD_ID'), 'build-v2\n')
fs.writeFileSync(
  path.join(dist, 'server', 'server-reference-manifest.json'),
  JSON.stringify({
    node: {
      [MODULE_ACTION]: { workers: { 'app/page': { moduleId: 1, async: false } }, filename: 'app/actions.ts', exportedName: 'save' },
      [INLINE_ACTION]: {
        workers: { 'app/page': { moduleId: 2, async: false } },
        filename: 'app/page.tsx',
        exportedName: '$$RSC_SERVER_ACTION_0',
      },
    },
    edge: {},
    encryptionKey: KEY,
  }),
)

const keyring = new Keyring({ current: KEY, previous: [OLD_KEY] })

/** A fetch-style Server Action call as Next.js's client sends it. */
function actionCall(id, { payload, clientBuild, text } = {}) {
  const headers = { 'next-action': id, accept: 'text/x-component' }
  if (clientBuild) headers['x-skew-guard-build'] = clientBuild
  if (payload === undefined) {
    return new Request('http://127.0.0.1/', { method: 'POST', headers, body: text ?? '["hello"]' })
  }
  const form = new FormData()
  form.set('1', JSON.stringify(payload))
  form.set('0', JSON.stringify(['$@1', 'arg']))
  return withLength(new Request('http://127.0.0.1/', { method: 'POST', headers, body: form }))
}

/** Browsers send content-length; undici's Request does not add it for FormData, so add it. */
function withLength(request) {
  return request.arrayBuffer().then((buf) => {
    const headers = new Headers(request.headers)
    headers.set('content-length', String(buf.byteLength))
    return new Request(request.url, { method: 'POST', headers, body: buf })
  })
}

function noJsForm(fields) {
  const form = new FormData()
  for (const [k, v] of Object.entries(fields)) form.set(k, v)
  return withLength(
    new Request('http://127.0.0.1/', { method: 'POST', headers: { accept: 'text/html,application/xhtml+xml' }, body: form }),
  )
}

const passed = (res) => res.headers.get('x-middleware-next') === '1'

test.beforeEach(() => resetSkewState())

test('health endpoint answers GET and HEAD with the build identity, uncached', async () => {
  const guard = skewGuard({ keyring })
  const get = await guard(new Request('http://127.0.0.1/api/health'))
  assert.equal(get.status, 200)
  assert.equal(get.headers.get('cache-control'), 'no-store')
  assert.equal(get.headers.get('x-build-id'), 'build-v2')
  assert.deepEqual(await get.json(), { status: 'ok', buildId: 'build-v2', deploymentId: null })
  const head = await guard(new Request('http://127.0.0.1/api/health', { method: 'HEAD' }))
  assert.equal(head.status, 200)
  assert.equal(await head.text(), '')
  const moved = skewGuard({ healthPath: '/_skew', keyring })
  assert.equal((await moved(new Request('http://127.0.0.1/_skew'))).status, 200)
  assert.ok(passed(await moved(new Request('http://127.0.0.1/api/health'))), "the old path is the app's again")
  const off = skewGuard({ healthPath: false, keyring })
  assert.ok(passed(await off(new Request('http://127.0.0.1/api/health'))))
})

test('ordinary requests pass through, stamped with the build identity', async () => {
  const res = await skewGuard({ keyring })(new Request('http://127.0.0.1/page'))
  assert.ok(passed(res))
  assert.equal(res.headers.get('x-build-id'), 'build-v2')
  assert.equal(getSkewStats().total, 0)
})

test('an action ID the build does not know gets the same 409 on every Next.js version', async () => {
  const guard = skewGuard({ keyring })
  for (const id of ['40' + 'c'.repeat(40), 'd'.repeat(40), 'not-an-id']) {
    const res = await guard(actionCall(id))
    assert.equal(res.status, 409)
    assert.equal(res.headers.get('x-nextjs-action-not-found'), '1')
    assert.equal(res.headers.get('x-skew-guard'), 'unknown-action')
    assert.equal(res.headers.get('content-type'), 'text/plain')
    assert.match(await res.text(), /Reload the page/)
  }
  assert.equal(getSkewStats().byKind['unknown-action'], 3)
  assert.equal(getSkewStats().last.actionId, 'not-an-id')
})

test('known actions from the same build run untouched', async () => {
  const res = await skewGuard({ keyring })(actionCall(MODULE_ACTION, { clientBuild: 'build-v2' }))
  assert.ok(passed(res))
  assert.equal(res.headers.get('x-skew-guard'), null)
})

test('a page from another build: reload-after lets it run and flags it; reject refuses it', async () => {
  const after = await skewGuard({ keyring })(actionCall(MODULE_ACTION, { clientBuild: 'build-v1' }))
  assert.ok(passed(after))
  assert.equal(after.headers.get('x-skew-guard'), 'reload')
  const rejected = await skewGuard({ keyring, policy: 'reject' })(actionCall(MODULE_ACTION, { clientBuild: 'build-v1' }))
  assert.equal(rejected.status, 409)
  assert.equal(rejected.headers.get('x-skew-guard'), 'stale-build')
  assert.equal(getSkewStats().byKind['stale-build'], 2)
  assert.equal(getSkewStats().last.clientBuildId, 'build-v1')
  // No client identity means unknown, never a mismatch.
  assert.ok(passed(await skewGuard({ keyring, policy: 'reject' })(actionCall(MODULE_ACTION))))
})

test('closure payloads: previous key → 409 refresh; unknown key → passed and recorded; current → passed', async () => {
  const guard = skewGuard({ keyring })
  const sealedWith = (key) => new Keyring({ current: key }).sealSync(INLINE_ACTION, '0:["x"]\n')
  const rotated = await guard(await actionCall(INLINE_ACTION, { payload: sealedWith(OLD_KEY) }))
  assert.equal(rotated.status, 409)
  assert.equal(rotated.headers.get('x-skew-guard'), 'key-rotated')
  assert.equal(rotated.headers.get('x-nextjs-action-not-found'), '1')
  const current = await guard(await actionCall(INLINE_ACTION, { payload: sealedWith(KEY) }))
  assert.ok(passed(current))
  const foreign = await guard(await actionCall(INLINE_ACTION, { payload: sealedWith(FOREIGN_KEY) }))
  assert.ok(passed(foreign), 'Next.js itself rejects it; the guard only records')
  // …and marks the answer, so the page can tell this 500 from any other and recover.
  assert.equal(foreign.headers.get('x-skew-guard'), 'unknown-key')
  assert.equal(current.headers.get('x-skew-guard'), null)
  assert.deepEqual(getSkewStats().byKind, {
    'unknown-action': 0,
    'stale-build': 0,
    'key-rotated': 1,
    'unknown-key': 1,
    'key-mismatch': 0,
  })
})

test('no-JS form posts: unknown IDs get an HTML 409; closures are found through $ACTION_REF rows', async () => {
  const guard = skewGuard({ keyring })
  const unknown = await guard(await noJsForm({ ['$ACTION_ID_' + '40' + 'e'.repeat(40)]: '', note: 'hi' }))
  assert.equal(unknown.status, 409)
  assert.match(unknown.headers.get('content-type'), /^text\/html/)
  assert.match(await unknown.text(), /Reload the page/)
  assert.ok(passed(await guard(await noJsForm({ ['$ACTION_ID_' + MODULE_ACTION]: '', note: 'hi' }))))
  const payload = new Keyring({ current: OLD_KEY }).sealSync(INLINE_ACTION, '0:["x"]\n')
  const rotated = await guard(
    await noJsForm({
      $ACTION_REF_2: '',
      '$ACTION_2:1': '["$@2"]',
      '$ACTION_2:0': JSON.stringify({ id: INLINE_ACTION, bound: '$@1' }),
      '$ACTION_2:2': JSON.stringify(payload),
      note: 'hi',
    }),
  )
  assert.equal(rotated.status, 409)
  assert.equal(rotated.headers.get('x-skew-guard'), 'key-rotated')
})

test('a no-JS form with two actions (form action + button formAction): the last one is the call, as in React', async () => {
  const guard = skewGuard({ keyring })
  const unknown = '$ACTION_ID_' + '40' + 'e'.repeat(40)
  const known = '$ACTION_ID_' + MODULE_ACTION
  const form = (fields) => {
    const data = new FormData()
    for (const [k, v] of fields) data.append(k, v)
    return withLength(new Request('http://127.0.0.1/', { method: 'POST', headers: { accept: 'text/html' }, body: data }))
  }
  assert.ok(
    passed(
      await guard(
        await form([
          [unknown, ''],
          [known, ''],
          ['note', 'hi'],
        ]),
      ),
    ),
    'the known action runs',
  )
  assert.equal(
    (
      await guard(
        await form([
          [known, ''],
          [unknown, ''],
          ['note', 'hi'],
        ]),
      )
    ).status,
    409,
    'the unknown one would run',
  )
  // The button's closure comes last: its payload is the one checked.
  const rotatedPayload = new Keyring({ current: OLD_KEY }).sealSync(INLINE_ACTION, '0:["x"]\n')
  const closure = [
    ['$ACTION_REF_1', ''],
    ['$ACTION_1:0', JSON.stringify({ id: INLINE_ACTION, bound: '$@1' })],
    ['$ACTION_1:1', '["$@2"]'],
    ['$ACTION_1:2', JSON.stringify(rotatedPayload)],
  ]
  assert.equal((await guard(await form([[known, ''], ...closure]))).headers.get('x-skew-guard'), 'key-rotated')
  assert.ok(passed(await guard(await form([...closure, [known, '']]))))
})

test('the health endpoint also answers at <path>/ (trailingSlash: true redirects the poll there)', async () => {
  const guard = skewGuard({ keyring })
  const res = await guard(new Request('http://127.0.0.1/api/health/'))
  assert.equal(res.status, 200)
  assert.deepEqual(await res.json(), { status: 'ok', buildId: 'build-v2', deploymentId: null })
  assert.ok(passed(await guard(new Request('http://127.0.0.1/api/healthz'))))
})

test('deploymentCookie: documents (and only documents) get the deployment pin', async () => {
  const doc = (url = 'http://127.0.0.1/page', headers = { 'sec-fetch-dest': 'document' }, method = 'GET') =>
    new Request(url, { method, headers })
  const on = skewGuard({ keyring, deploymentId: 'dpl_v2', deploymentCookie: true })
  assert.equal((await on(doc())).headers.get('set-cookie'), '__vdpl=dpl_v2; Path=/; HttpOnly; SameSite=Lax')
  assert.match((await on(doc('https://example.com/page'))).headers.get('set-cookie'), /; Secure$/)
  assert.equal((await on(doc('http://127.0.0.1/_next/static/chunks/a.js', { 'sec-fetch-dest': 'script' }))).headers.get('set-cookie'), null)
  assert.equal((await on(doc('http://127.0.0.1/page', { 'sec-fetch-dest': 'empty', rsc: '1' }))).headers.get('set-cookie'), null)
  assert.equal((await on(await actionCall(MODULE_ACTION))).headers.get('set-cookie'), null)
  assert.equal((await skewGuard({ keyring, deploymentId: 'dpl_v2' })(doc())).headers.get('set-cookie'), null, 'off by default')
  assert.equal((await skewGuard({ keyring, deploymentCookie: true })(doc())).headers.get('set-cookie'), null, 'no deployment ID, no pin')
  assert.throws(() => skewGuard({ deploymentCookie: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('skew is logged: one line per kind a minute with a count, IDs only; log: false silences it', async () => {
  const lines = []
  const warn = console.warn
  console.warn = (...args) => lines.push(args.join(' '))
  const realNow = Date.now
  let now = realNow()
  Date.now = () => now
  try {
    const guard = skewGuard({ keyring })
    const unknownId = '40' + 'c'.repeat(40)
    for (let i = 0; i < 5; i++) await guard(actionCall(unknownId, { clientBuild: 'build-v1' }))
    assert.equal(lines.length, 1)
    assert.match(lines[0], /^\[next-skew-guard\] unknown-action: .*\(action 40c{40}, page build build-v1, server build build-v2\)$/)
    now += 61_000
    await guard(actionCall(unknownId))
    assert.equal(lines.length, 2)
    assert.match(lines[1], /\(4 more since the last line\)$/)
    await guard(await actionCall(INLINE_ACTION, { payload: new Keyring({ current: FOREIGN_KEY }).sealSync(INLINE_ACTION, '0:[]\n') }))
    assert.equal(lines.length, 3)
    assert.match(lines[2], /^\[next-skew-guard\] unknown-key: /)
    for (const line of lines) for (const key of [KEY, OLD_KEY, FOREIGN_KEY]) assert.ok(!line.includes(key))
    resetSkewState()
    skewGuard({ keyring, log: false })
    now += 61_000
    await guard(actionCall(unknownId))
    assert.equal(lines.length, 3, 'silenced')
    assert.equal(getSkewStats().byKind['unknown-action'], 1, 'still counted')
  } finally {
    console.warn = warn
    Date.now = realNow
  }
})

test('bodies it cannot or should not read pass through untouched', async () => {
  const guard = skewGuard({ keyring, maxBodyBytes: 64 })
  const big = await actionCall(INLINE_ACTION, { payload: new Keyring({ current: OLD_KEY }).sealSync(INLINE_ACTION, '0:["x"]\n') })
  assert.ok(passed(await guard(big)), 'over maxBodyBytes: not read')
  const broken = new Request('http://127.0.0.1/', {
    method: 'POST',
    headers: { 'next-action': INLINE_ACTION, 'content-type': 'multipart/form-data; boundary=x', 'content-length': '10' },
    body: 'garbage!!!',
  })
  assert.ok(passed(await guard(broken)))
  const junkPayload = await actionCall(INLINE_ACTION, { payload: 'not base64 at all' })
  assert.ok(passed(await skewGuard({ keyring })(junkPayload)))
  // The body is still there for Next.js after the guard read it.
  const request = await actionCall(INLINE_ACTION, { payload: new Keyring({ current: KEY }).sealSync(INLINE_ACTION, '0:[]\n') })
  await skewGuard({ keyring })(request)
  assert.match(await request.text(), /\$@1/)
})

test("composes with the app's own proxy and stamps its response", async () => {
  const guard = skewGuard({
    keyring,
    next: (request) => (new URL(request.url).pathname === '/old' ? Response.redirect('http://127.0.0.1/new', 307) : undefined),
  })
  const redirected = await guard(new Request('http://127.0.0.1/old'))
  assert.equal(redirected.status, 307)
  assert.equal(redirected.headers.get('x-build-id'), 'build-v2')
  assert.ok(passed(await guard(new Request('http://127.0.0.1/other'))))
})

test('options are validated with the valid choices in the message', () => {
  assert.throws(() => skewGuard({ polcy: 'reject' }), { code: 'ERR_UNKNOWN_OPTION', message: /Valid options: next, healthPath, policy/ })
  assert.throws(() => skewGuard({ policy: 'sometimes' }), { code: 'ERR_INVALID_ARG_VALUE', message: /'reload-after', 'reject'/ })
  assert.throws(() => skewGuard({ healthPath: 'health' }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => skewGuard({ keyring: 'abc' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => skewGuard({ maxBodyBytes: -1 }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => skewGuard('x'), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('a missing or corrupt manifest degrades to pass-through with one log line', async () => {
  const file = path.join(dist, 'server', 'server-reference-manifest.json')
  const saved = fs.readFileSync(file)
  // A fresh module instance, so the manifest is read again.
  for (const k of Object.keys(require.cache)) if (k.includes(`${path.sep}dist${path.sep}proxy${path.sep}`)) delete require.cache[k]
  fs.writeFileSync(file, '{"node": {"trunc')
  const logged = []
  const original = console.warn
  console.warn = (...args) => logged.push(args.join(' '))
  try {
    const fresh = require('../dist/proxy/index.js').skewGuard({ keyring })
    assert.ok(passed(await fresh(actionCall('40' + 'f'.repeat(40)))))
    assert.ok(passed(await fresh(actionCall('40' + 'f'.repeat(40)))))
  } finally {
    console.warn = original
    fs.writeFileSync(file, saved)
  }
  assert.equal(logged.length, 1)
  assert.match(logged[0], /not valid JSON/)
  assert.equal(getSkewStats().configErrors.ERR_MANIFEST, 1)
})

test('the Edge build of the guard: health, build identity from the inlined env, closure checks on WebCrypto', async () => {
  process.env.SKEW_GUARD_BUILD_ID = 'edge-build'
  try {
    const { skewGuard: edgeGuard } = require('../dist/proxy/edge.js')
    const edge = require('../dist/core/edge.js')
    const ring = new edge.Keyring({ current: KEY, previous: [OLD_KEY] })
    const guard = edgeGuard({ keyring: ring })
    const health = await guard(new Request('http://127.0.0.1/api/health'))
    assert.deepEqual(await health.json(), { status: 'ok', buildId: 'edge-build', deploymentId: null })
    // Without the server's action IDs: an unknown but well-formed ID passes, a malformed one does not.
    assert.ok(passed(await guard(actionCall('40' + 'c'.repeat(40)))))
    assert.equal((await guard(actionCall('nope'))).status, 409)
    const stale = await edgeGuard({ keyring: ring, policy: 'reject' })(actionCall(MODULE_ACTION, { clientBuild: 'old' }))
    assert.equal(stale.headers.get('x-skew-guard'), 'stale-build')
    const rotated = await guard(
      await actionCall(INLINE_ACTION, { payload: new Keyring({ current: OLD_KEY }).sealSync(INLINE_ACTION, '0:[]\n') }),
    )
    assert.equal(rotated.headers.get('x-skew-guard'), 'key-rotated')
  } finally {
    delete process.env.SKEW_GUARD_BUILD_ID
  }
})

test("Edge guard: the server process hands it its build's action IDs and the runtime keyring's check", async () => {
  const { publishForEdge } = require('../dist/server/edge-bridge.js')
  const {
    EDGE_ACTIONS_ENV,
    EDGE_ACTIONS_MAX_CHARS,
    EDGE_VERIFIER,
    encodeEdgeActions,
    sharedAnchor,
  } = require('../dist/shared/edge-bridge.js')
  const { skewGuard: edgeGuard } = require('../dist/proxy/edge.js')
  const edgeDist = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-proxy-edge-'))
  fs.cpSync(dist, edgeDist, { recursive: true })
  fs.writeFileSync(path.join(edgeDist, 'BUILD_ID'), 'edge-build\n')
  const unknown = '40' + 'c'.repeat(40)
  const saved = { key: process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY, previous: process.env.SKEW_GUARD_PREVIOUS_KEYS }
  try {
    // Node middleware / proxy.ts builds read the manifest and keys themselves: nothing is published.
    assert.equal(publishForEdge(edgeDist), null)
    assert.equal(process.env[EDGE_ACTIONS_ENV], undefined)
    assert.equal(sharedAnchor()[EDGE_VERIFIER], undefined)
    fs.writeFileSync(
      path.join(edgeDist, 'server', 'middleware-manifest.json'),
      JSON.stringify({ middleware: { '/': { name: 'middleware' } } }),
    )
    process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY = KEY
    process.env.SKEW_GUARD_PREVIOUS_KEYS = OLD_KEY
    assert.deepEqual(publishForEdge(edgeDist), { actions: 2, verifier: true })
    assert.equal(process.env[EDGE_ACTIONS_ENV], `v1;edge-build;${MODULE_ACTION},${INLINE_ACTION}`)

    process.env.SKEW_GUARD_BUILD_ID = 'edge-build'
    const guard = edgeGuard()
    const refused = await guard(actionCall(unknown))
    assert.equal(refused.status, 409)
    assert.equal(refused.headers.get('x-skew-guard'), 'unknown-action')
    assert.ok(passed(await guard(actionCall(MODULE_ACTION))))
    // The payload check runs on the Node side's keyring: a previous-key closure gets the refresh answer.
    const sealed = (key) => new Keyring({ current: key }).sealSync(INLINE_ACTION, '0:[]\n')
    assert.equal((await guard(await actionCall(INLINE_ACTION, { payload: sealed(OLD_KEY) }))).headers.get('x-skew-guard'), 'key-rotated')
    assert.ok(passed(await guard(await actionCall(INLINE_ACTION, { payload: sealed(KEY) }))))
    const before = getSkewStats().byKind['unknown-key']
    assert.ok(passed(await guard(await actionCall(INLINE_ACTION, { payload: sealed(FOREIGN_KEY) }))))
    assert.equal(getSkewStats().byKind['unknown-key'], before + 1)

    // A list inherited from another build is not trusted: the check is off, requests pass.
    process.env.SKEW_GUARD_BUILD_ID = 'another-build'
    assert.ok(passed(await guard(actionCall(unknown))))
    process.env[EDGE_ACTIONS_ENV] = 'v1;another-build;not-an-id'
    assert.ok(passed(await guard(actionCall(unknown))), 'a malformed list is ignored')

    // Past the size cap nothing is published (a child process could not start with it).
    const many = Array.from({ length: Math.ceil(EDGE_ACTIONS_MAX_CHARS / 43) + 1 }, (_, i) => i.toString(16).padStart(42, '0'))
    assert.equal(encodeEdgeActions('b', many), null)
    assert.equal(encodeEdgeActions('semi;colon', [MODULE_ACTION]), null)
  } finally {
    delete process.env[EDGE_ACTIONS_ENV]
    delete process.env.SKEW_GUARD_BUILD_ID
    delete sharedAnchor()[EDGE_VERIFIER]
    for (const [name, value] of [
      ['NEXT_SERVER_ACTIONS_ENCRYPTION_KEY', saved.key],
      ['SKEW_GUARD_PREVIOUS_KEYS', saved.previous],
    ]) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
    fs.rmSync(edgeDist, { recursive: true, force: true })
  }
})

test('under next dev (NODE_ENV is not production) the guard only answers the health endpoint', async () => {
  process.env.NODE_ENV = 'development'
  try {
    const guard = skewGuard({ keyring, policy: 'reject' })
    assert.ok(passed(await guard(actionCall('40' + 'c'.repeat(40)))), 'no unknown-action 409 in dev')
    assert.ok(passed(await guard(actionCall(MODULE_ACTION, { clientBuild: 'other' }))))
    assert.equal((await guard(new Request('http://127.0.0.1/api/health'))).status, 200)
    assert.equal(getSkewStats().total, 0)
  } finally {
    process.env.NODE_ENV = 'production'
  }
})

test('an over-long client build identity counts as unknown, not as an error', async () => {
  const res = await skewGuard({ keyring, policy: 'reject' })(actionCall(MODULE_ACTION, { clientBuild: 'x'.repeat(5000) }))
  assert.ok(passed(res))
  assert.deepEqual(getSkewStats().configErrors, {})
})

test('the health endpoint matches NextRequest.nextUrl.pathname (basePath left out)', async () => {
  const request = new Request('http://127.0.0.1/docs/api/health')
  request.nextUrl = new URL('http://127.0.0.1/api/health')
  assert.equal((await skewGuard({ keyring })(request)).status, 200)
})
