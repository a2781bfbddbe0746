// Property tests over the proxy guard's request parsing (fast-check): random
// methods, URLs, headers (Next-Action, content-type, content-length, accept,
// the client build identity), bodies and multipart forms, well-formed action
// calls and mangled ones. The guard must never fail on a request (its own
// failures are counted as ERR_GUARD and let through, so that counter must stay
// at zero), must answer only with its documented verdicts or pass the request
// on, and must reach the verdict the protocol prescribes where the request
// determines it.
//
// Reproducible by default (fixed seed): NSG_FUZZ_SEED=123 NSG_FUZZ_RUNS=5
// node --test __test__/fuzz-proxy.test.cjs explores further (NSG_FUZZ_RUNS
// multiplies the run counts).
const test = require('node:test')
const assert = require('node:assert/strict')
const fc = require('fast-check')

process.env.NODE_ENV = 'production'

const { Keyring, generateKey, compareBuildIds } = require('..')
const { createSkewGuard } = require('../dist/proxy/guard.js')
const { getSkewStats, resetSkewState } = require('../dist/server/events.js')

const SEED = Number(process.env.NSG_FUZZ_SEED ?? 20261125)
const SCALE = Number(process.env.NSG_FUZZ_RUNS ?? 1)
const runs = (n) => ({ seed: SEED, numRuns: Math.max(1, Math.round(n * SCALE)), includeErrorInReport: true })

const MODULE_ACTION = '40' + 'a'.repeat(40)
const INLINE_ACTION = '60' + 'b'.repeat(40)
const INLINE_14 = 'c'.repeat(40)
const SERVER_BUILD = 'build-v2'
const KEY = generateKey()
const OLD_KEY = generateKey()
const FOREIGN_KEY = generateKey()
const keyring = new Keyring({ current: KEY, previous: [OLD_KEY] })

/** A build's manifest: one module action, two inline closures (15/16 naming). */
const manifest = {
  actions: new Map([
    [MODULE_ACTION, { filename: 'app/actions.ts', exportedName: 'save', pages: ['app/page'] }],
    [INLINE_ACTION, { filename: 'app/page.tsx', exportedName: '$$RSC_SERVER_ACTION_0', pages: ['app/page'] }],
    [INLINE_14, { filename: 'app/page.tsx', exportedName: '$$ACTION_1', pages: ['app/page'] }],
  ]),
  encryptionKey: KEY,
  file: 'server-reference-manifest.json',
}
const INLINE = new Set([INLINE_ACTION, INLINE_14])

const skewGuard = createSkewGuard({
  isProduction: () => true,
  readBuildId: () => SERVER_BUILD,
  readManifest: () => manifest,
  keyringFromEnv: () => keyring,
  compareBuildIds,
})

/** Payloads a closure may carry, with what the keyring says about each. */
const sealed = (key, id) => new Keyring({ current: key }).sealSync(id, '0:["x"]\n')
const PAYLOADS = [
  ...[INLINE_ACTION, INLINE_14].flatMap((id) => [
    { id, text: sealed(KEY, id), rotated: false },
    { id, text: sealed(OLD_KEY, id), rotated: true },
    { id, text: sealed(FOREIGN_KEY, id), rotated: false, foreign: true },
  ]),
  { id: INLINE_ACTION, text: sealed(OLD_KEY, MODULE_ACTION), rotated: false }, // wrong action
  { id: INLINE_ACTION, text: 'not base64 at all', rotated: false },
  { id: INLINE_ACTION, text: '', rotated: false },
]

const passed = (res) => res.headers.get('x-middleware-next') === '1'

// --- Arbitraries -----------------------------------------------------------

/** Header-safe text (a ByteString without CR, LF or NUL), with the characters parsers trip on. */
const headerText = (maxLength = 60) =>
  fc.string({
    unit: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...'abcdef0123456789-_;=,/ "\'\t$@%:.ABCDEFxyz'.split('')) },
      fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
    ),
    maxLength,
  })

const hexId = fc.stringMatching(/^[0-9a-f]{40}([0-9a-f]{2})?$/)
const actionIdHeader = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(MODULE_ACTION, INLINE_ACTION, INLINE_14) },
  hexId,
  fc.constantFrom(
    '',
    'not-an-id',
    MODULE_ACTION.toUpperCase(),
    `${MODULE_ACTION}00`,
    ` ${INLINE_ACTION} `,
    `${INLINE_ACTION}, ${MODULE_ACTION}`,
  ),
  headerText(),
)
const clientBuild = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(undefined, SERVER_BUILD, 'build-v1', '', ' build-v2 ') },
  headerText(40),
  fc.constantFrom('x'.repeat(1024), 'x'.repeat(1025), 'é'.repeat(600)),
)
const contentType = fc.oneof(
  fc.constantFrom(
    undefined,
    'text/plain;charset=UTF-8',
    'application/json',
    'application/x-www-form-urlencoded',
    'multipart/form-data',
    'multipart/form-data; boundary=',
    'multipart/form-data; boundary=x',
    'MULTIPART/FORM-DATA; boundary=x',
    'multipart/mixed; boundary=x',
  ),
  headerText(40),
)

/** A form field: a name (action markers and their neighbours) and a value (JSON rows, references, payloads, junk). */
const fieldName = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '2',
    '$ACTION_KEY',
    '$ACTION_REF_1',
    '$ACTION_1:0',
    '$ACTION_1:1',
    '$ACTION_1:2',
    `$ACTION_ID_${MODULE_ACTION}`,
    `$ACTION_ID_${INLINE_ACTION}`,
    '$ACTION_ID_',
    '$ACTION_ID_XYZ',
    '$ACTION_REF_',
    '$ACTION_REF_x',
  ),
  hexId.map((id) => `$ACTION_ID_${id}`),
  fc.nat(99).map((n) => `$ACTION_REF_${n}`),
  fc.string({ maxLength: 20 }),
)
const fieldValue = fc.oneof(
  fc.constantFrom(
    '',
    '["$@1"]',
    '["$@1","arg"]',
    '["$@ff"]',
    '["$@zz"]',
    '"$@1"',
    '{}',
    'null',
    '[',
    JSON.stringify({ id: INLINE_ACTION, bound: '$@1' }),
    JSON.stringify({ id: 42, bound: '$@1' }),
  ),
  fc.constantFrom(...PAYLOADS).map((p) => JSON.stringify(p.text)),
  fc.json({ maxDepth: 2 }),
  fc.string({ maxLength: 40 }),
)

/**
 * What a request is made of, and what the test knows about it:
 * - `jsCall`: a fetch-style call whose form carries a payload the way React does (`0` → `["$@1"]`, `1` → payload);
 * - `noJsRef`: a no-JS form post of a closure (`$ACTION_REF_n`, `$ACTION_n:0` → `{ id, bound }`, …);
 * - `noJsId`: a no-JS form post of a module action (`$ACTION_ID_<id>`);
 * - `randomForm`: random fields (markers included); `raw`: any body text.
 */
const body = fc.oneof(
  fc.record({
    kind: fc.constant('jsCall'),
    payload: fc.constantFrom(...PAYLOADS),
    extra: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('noJsRef'),
    payload: fc.constantFrom(...PAYLOADS),
    n: fc.nat(20),
    extra: fc.array(
      fc.tuple(
        fieldName.filter((n) => !n.startsWith('$ACTION')),
        fieldValue,
      ),
      { maxLength: 3 },
    ),
  }),
  fc.record({
    kind: fc.constant('noJsId'),
    id: actionIdHeader.filter((id) => /^[0-9a-f]+$/.test(id)),
    extra: fc.array(
      fc.tuple(
        fieldName.filter((n) => !n.startsWith('$ACTION')),
        fieldValue,
      ),
      { maxLength: 3 },
    ),
  }),
  fc.record({ kind: fc.constant('randomForm'), fields: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 8 }) }),
  fc.record({ kind: fc.constant('raw'), text: fc.string({ unit: 'binary', maxLength: 200 }) }),
)

/** How the encoded body reaches the guard: intact, or with a lying length, a wrong type or cut bytes. */
const transport = fc.record({
  length: fc.constantFrom('honest', 'honest', 'honest', 'absent', 'zero', 'huge', 'junk', 'negative'),
  type: fc.oneof({ weight: 3, arbitrary: fc.constant('form') }, contentType),
  cut: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.nat(400)),
})

const request = fc.record({
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constant('POST') },
    fc.constantFrom('GET', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'post'),
  ),
  path: fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom('/', '/page', '/api/health', '/api/health/', '/API/health', '/api/health?x=1', '/%61pi/health'),
    },
    fc.webPath(),
  ),
  action: fc.option(actionIdHeader, { nil: undefined, freq: 2 }),
  accept: fc.constantFrom(undefined, 'text/x-component', 'text/html,application/xhtml+xml', 'text/html', '*/*', 'TEXT/HTML'),
  build: clientBuild,
  body,
  transport,
  maxBodyBytes: fc.constantFrom(undefined, 0, 64, 1024 * 1024),
  policy: fc.constantFrom(undefined, 'reload-after', 'reject'),
})

/** The form fields of a body spec, in order. */
function fieldsOf(spec) {
  switch (spec.kind) {
    case 'jsCall':
      return [['0', JSON.stringify(['$@1', 'arg'])], ['1', JSON.stringify(spec.payload.text)], ...spec.extra]
    case 'noJsRef': {
      const p = `$ACTION_${spec.n}:`
      return [
        [`$ACTION_REF_${spec.n}`, ''],
        [`${p}0`, JSON.stringify({ id: spec.payload.id, bound: '$@1' })],
        [`${p}1`, '["$@2"]'],
        [`${p}2`, JSON.stringify(spec.payload.text)],
        ...spec.extra,
      ]
    }
    case 'noJsId':
      return [[`$ACTION_ID_${spec.id}`, ''], ...spec.extra]
    case 'randomForm':
      return spec.fields
    default:
      return null
  }
}

/** Builds the Request a spec describes; null when the platform itself refuses to (a header it cannot carry). */
async function build(spec) {
  const fields = fieldsOf(spec.body)
  let bytes
  let type
  if (fields) {
    const form = new FormData()
    for (const [k, v] of fields) form.append(k, v)
    const encoded = new Response(form)
    bytes = new Uint8Array(await encoded.arrayBuffer())
    type = encoded.headers.get('content-type')
  } else {
    bytes = new TextEncoder().encode(spec.body.text)
    type = 'text/plain;charset=UTF-8'
  }
  const t = spec.transport
  if (t.cut) bytes = bytes.subarray(0, Math.max(0, bytes.length - t.cut))
  if (t.type !== 'form') type = t.type
  const headers = new Headers()
  try {
    if (spec.action !== undefined) headers.set('next-action', spec.action)
    if (spec.accept) headers.set('accept', spec.accept)
    if (spec.build !== undefined) headers.set('x-skew-guard-build', spec.build)
    if (type !== undefined) headers.set('content-type', type)
  } catch {
    return null
  }
  const length = { honest: String(bytes.length), zero: '0', huge: '99999999999', junk: 'abc', negative: '-1' }[t.length]
  if (length !== undefined) headers.set('content-length', length)
  const hasBody = spec.method !== 'GET' && spec.method !== 'HEAD'
  return new Request(`http://127.0.0.1${spec.path}`, { method: spec.method, headers, body: hasBody ? bytes : undefined })
}

/**
 * The verdict the protocol prescribes for a request, as far as the request
 * decides it: 'health', 'pass', 'reload', one of the refusals, or a set of
 * possibilities where the guard's reading of a mangled body is not specified.
 */
function expected(spec, req) {
  const maxBodyBytes = spec.maxBodyBytes ?? 1024 * 1024
  const url = new URL(req.url)
  // `/api/health/` too: with `trailingSlash: true` Next.js redirects the poll there.
  if ((url.pathname === '/api/health' || url.pathname === '/api/health/') && (req.method === 'GET' || req.method === 'HEAD'))
    return ['health']
  if (req.method !== 'POST') return ['pass']
  const header = req.headers.get('next-action')
  const type = req.headers.get('content-type') ?? ''
  const readable = type.startsWith('multipart/form-data') && Number(req.headers.get('content-length') ?? NaN) <= maxBodyBytes
  const intact = spec.transport.type === 'form' && spec.transport.cut === 0 && readable
  let id
  let payload
  let form = false
  if (header !== null) {
    id = header
    if (spec.body.kind === 'jsCall') payload = intact ? spec.body.payload : 'maybe'
  } else {
    if (!(req.headers.get('accept') ?? '').includes('text/html')) return ['pass']
    form = true
    if (!readable) return ['pass']
    if (spec.body.kind === 'noJsId') [id, payload] = [spec.body.id, undefined]
    else if (spec.body.kind === 'noJsRef') [id, payload] = [spec.body.payload.id, spec.body.payload]
    else return ['any']
    // A cut or retyped body may lose its fields: then nothing is an action.
    if (!intact) return ['any']
  }
  const refused = (v) => [form ? `${v}/html` : v]
  if (!/^[0-9a-f]{40}([0-9a-f]{2})?$/.test(id) || !manifest.actions.has(id)) return refused('unknown-action')
  const sent = req.headers.get('x-skew-guard-build')
  const client = sent && sent.length <= 1024 ? sent : null
  const stale = client !== null && client !== SERVER_BUILD
  if (stale && spec.policy === 'reject') return refused('stale-build')
  const after = stale ? 'reload' : 'pass'
  if (!INLINE.has(id)) return [after]
  if (payload === 'maybe') return [after, 'unknown-key', ...refused('key-rotated')]
  if (payload?.rotated && payload.id === id) return refused('key-rotated')
  // Passed on, marked: Next.js will refuse a closure sealed with a key this server never had.
  if (payload?.foreign) return ['unknown-key']
  return [after]
}

/**
 * Known defect, kept out of the properties and tested on its own below: an
 * identity of at most 1024 characters but more than 1024 UTF-8 bytes (Latin-1
 * characters in the header) makes compareBuildIds throw ERR_BUILD_ID_TOO_LONG
 * inside the guard, which then logs ERR_GUARD and skips the build check.
 */
function knownBuildIdDefect(headers) {
  const sent = headers.get('x-skew-guard-build')
  return sent !== null && sent.length <= 1024 && Buffer.byteLength(sent) > 1024
}

/** What the guard answered, in the terms of {@link expected}; fails on any undocumented answer. */
async function classify(res, method = 'POST') {
  assert.ok(res instanceof Response, 'the guard must answer with a Response')
  const verdict = res.headers.get('x-skew-guard')
  if (passed(res)) {
    assert.ok(verdict === null || verdict === 'reload' || verdict === 'unknown-key', `a passed request carries verdict ${verdict}`)
    assert.equal(res.headers.get('x-build-id'), SERVER_BUILD)
    return verdict ?? 'pass'
  }
  if (res.status === 200) {
    assert.equal(res.headers.get('cache-control'), 'no-store')
    if (method === 'HEAD') assert.equal(await res.text(), '')
    else assert.deepEqual(await res.json(), { status: 'ok', buildId: SERVER_BUILD, deploymentId: null })
    return 'health'
  }
  assert.equal(res.status, 409, `undocumented status ${res.status}`)
  assert.ok(['unknown-action', 'stale-build', 'key-rotated'].includes(verdict), `undocumented verdict ${verdict}`)
  assert.equal(res.headers.get('x-nextjs-action-not-found'), '1')
  assert.equal(res.headers.get('cache-control'), 'no-store')
  const html = /^text\/html/.test(res.headers.get('content-type'))
  assert.match(await res.text(), /Reload the page/)
  return html ? `${verdict}/html` : verdict
}

test('the guard answers every request with a documented verdict, the one the protocol prescribes', async () => {
  const seen = new Map()
  resetSkewState()
  // Keep the one-time log lines of skew events out of the test output.
  const original = { warn: console.warn, error: console.error }
  const logged = []
  console.warn = console.error = (...args) => logged.push(args.join(' '))
  try {
    await fc.assert(
      fc.asyncProperty(request, async (spec) => {
        const req = await build(spec)
        fc.pre(req !== null && !knownBuildIdDefect(req.headers))
        resetSkewState()
        const guard = skewGuard({
          keyring,
          ...(spec.maxBodyBytes === undefined ? {} : { maxBodyBytes: spec.maxBodyBytes }),
          ...(spec.policy ? { policy: spec.policy } : {}),
        })
        const res = await guard(req, undefined)
        const got = await classify(res, req.method)
        const want = expected(spec, req)
        seen.set(got, (seen.get(got) ?? 0) + 1)
        if (!want.includes('any')) assert.ok(want.includes(got), `expected ${want.join(' or ')}, got ${got}`)
        assert.equal(getSkewStats().configErrors.ERR_GUARD, undefined, `the guard failed on a request: ${logged.join('\n')}`)
        // What passes on still has its body for Next.js.
        if (got === 'pass' || got === 'reload' || got === 'unknown-key') {
          if (req.body) await req.arrayBuffer()
        }
      }),
      runs(7000),
    )
  } finally {
    Object.assign(console, original)
  }
  // The generators reach every answer the guard has, or the property proves less than it claims.
  for (const v of [
    'health',
    'pass',
    'reload',
    'unknown-key',
    'unknown-action',
    'unknown-action/html',
    'stale-build',
    'key-rotated',
    'key-rotated/html',
  ]) {
    assert.ok((seen.get(v) ?? 0) > 0, `no request produced ${v}: ${JSON.stringify([...seen])}`)
  }
})

test('a hostile client build identity is unknown, never a guard failure', async () => {
  resetSkewState()
  const original = console.error
  const logged = []
  console.error = (...args) => logged.push(args.join(' '))
  try {
    await fc.assert(
      fc.asyncProperty(headerText(1100), async (build) => {
        const headers = new Headers({ 'next-action': MODULE_ACTION })
        try {
          headers.set('x-skew-guard-build', build)
        } catch {
          fc.pre(false)
        }
        fc.pre(!knownBuildIdDefect(headers))
        resetSkewState()
        const res = await skewGuard({ keyring, policy: 'reject' })(
          new Request('http://127.0.0.1/', { method: 'POST', headers, body: '[]' }),
          undefined,
        )
        const sent = headers.get('x-skew-guard-build')
        const stale = sent !== '' && sent.length <= 1024 && sent !== SERVER_BUILD
        assert.equal(await classify(res), stale ? 'stale-build' : 'pass')
        assert.equal(getSkewStats().configErrors.ERR_GUARD, undefined, logged.join('\n'))
      }),
      runs(1000),
    )
  } finally {
    console.error = original
  }
})

test('a client build identity of at most 1024 characters but more UTF-8 bytes is unknown, not a guard failure', async () => {
  resetSkewState()
  const original = console.error
  console.error = () => {}
  try {
    const headers = new Headers({ 'next-action': MODULE_ACTION, 'x-skew-guard-build': '\u00e9'.repeat(600) })
    const res = await skewGuard({ keyring, policy: 'reject' })(
      new Request('http://127.0.0.1/', { method: 'POST', headers, body: '[]' }),
      undefined,
    )
    await classify(res)
    assert.equal(getSkewStats().configErrors.ERR_GUARD, undefined)
  } finally {
    console.error = original
  }
})

test('skewGuard options: a guard, or a TypeError with a documented code', () => {
  const option = fc.oneof(
    fc.record(
      {
        next: fc.oneof(
          fc.constant(() => undefined),
          fc.anything(),
        ),
        healthPath: fc.oneof(fc.constantFrom('/api/health', '/x', 'health', '', false, true), fc.anything()),
        policy: fc.oneof(fc.constantFrom('reload-after', 'reject', 'Reject'), fc.anything()),
        maxBodyBytes: fc.oneof(fc.integer({ min: -2, max: 2 ** 31 }), fc.double(), fc.anything()),
        keyring: fc.oneof(fc.constantFrom(keyring, false, true, { verify: () => ({ status: 'current' }) }), fc.anything()),
        buildId: fc.oneof(fc.string(), fc.anything()),
        deploymentId: fc.oneof(fc.string(), fc.anything()),
        polcy: fc.string(),
      },
      { requiredKeys: [] },
    ),
    fc.anything({ withNullPrototype: true }),
  )
  fc.assert(
    fc.property(option, (options) => {
      let guard
      try {
        guard = skewGuard(options)
      } catch (e) {
        assert.ok(e instanceof TypeError, `not a TypeError: ${e}`)
        assert.ok(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_UNKNOWN_OPTION'].includes(e.code), `code ${e.code}`)
        return
      }
      assert.equal(typeof guard, 'function')
    }),
    runs(3000),
  )
})
