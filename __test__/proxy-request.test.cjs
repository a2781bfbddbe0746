// The guard's request reading (lib/proxy/request.ts): the streaming multipart scanner against
// Node's own `Request.formData()` on random forms cut into random chunks, the bodies the issue
// names (lying content-length, chunked without length, just over maxBodyBytes, boundaries split
// across reads, an action field after a large file part), and where the body is read from: Next.js's
// own copy for the proxy, or a clone when the guard's caller may still want the body.
const test = require('node:test')
const assert = require('node:assert/strict')
const fc = require('fast-check')

process.env.NODE_ENV = 'production'

const { Keyring, generateKey, compareBuildIds } = require('..')
const { MultipartScanner, multipartBoundary, readFields, findActionCall, isProxyRequest } = require('../dist/proxy/request.js')
const { createSkewGuard } = require('../dist/proxy/guard.js')
const { getSkewStats, resetSkewState } = require('../dist/server/events.js')

const SEED = Number(process.env.NSG_FUZZ_SEED ?? 20261202)
const SCALE = Number(process.env.NSG_FUZZ_RUNS ?? 1)
const runs = (n) => ({ seed: SEED, numRuns: Math.max(1, Math.round(n * SCALE)), includeErrorInReport: true })

const MODULE_ACTION = '40' + 'a'.repeat(40)
const INLINE_ACTION = '60' + 'b'.repeat(40)
const KEY = generateKey()
const OLD_KEY = generateKey()
const keyring = new Keyring({ current: KEY, previous: [OLD_KEY] })
const manifest = {
  actions: new Map([
    [MODULE_ACTION, { exportedName: 'save', pages: [] }],
    [INLINE_ACTION, { exportedName: '$$RSC_SERVER_ACTION_0', pages: [] }],
  ]),
  encryptionKey: KEY,
  file: 'server-reference-manifest.json',
}
const skewGuard = createSkewGuard({
  isProduction: () => true,
  readBuildId: () => 'build-2',
  readManifest: () => manifest,
  keyringFromEnv: () => keyring,
  compareBuildIds,
})
const sealed = (key, id = INLINE_ACTION) => new Keyring({ current: key }).sealSync(id, '0:["x"]\n')
const passed = (res) => res.headers.get('x-middleware-next') === '1'

/** A form as undici encodes it: `{ bytes, type }`. */
async function encode(fields) {
  const form = new FormData()
  for (const [name, value, filename] of fields) {
    if (filename === undefined) form.append(name, value)
    else form.append(name, new Blob([value]), filename)
  }
  const response = new Response(form)
  return { bytes: new Uint8Array(await response.arrayBuffer()), type: response.headers.get('content-type') }
}

/** `bytes` cut at `cuts` (sorted offsets) into chunks. */
function chunked(bytes, cuts) {
  const out = []
  let at = 0
  for (const cut of [...cuts, bytes.length]) {
    if (cut > at) out.push(bytes.subarray(at, cut))
    at = Math.max(at, cut)
  }
  return out
}

/** A request whose body arrives in `chunks` (a stream, as from a socket), optionally without a length. */
function streamed(chunks, headers, { proxy = false } = {}) {
  const body = new ReadableStream({
    pull(controller) {
      const next = chunks.shift()
      if (next === undefined) controller.close()
      else controller.enqueue(new Uint8Array(next))
    },
  })
  const request = new Request('http://127.0.0.1/', { method: 'POST', headers, body, duplex: 'half' })
  // What Next.js's proxy request carries (see isProxyRequest).
  if (proxy) request.sourcePage = '/proxy'
  return request
}

/** What the scanner keeps, field by field (first occurrence; files without content), or null. */
function scan(boundary, chunks) {
  const first = new Map()
  const scanner = new MultipartScanner(boundary, (name, file) => {
    if (first.has(name)) return false
    first.set(name, file ? { file: true } : { file: false })
    return !file
  })
  for (const chunk of chunks) if (!scanner.push(chunk)) return null
  const parts = scanner.end()
  if (!parts) return null
  for (const { name, text } of parts) if (!first.get(name).file && first.get(name).text === undefined) first.get(name).text = text
  return Object.fromEntries(first)
}

/** The same from Node's own parser, or null where it rejects the body. */
async function reference(bytes, type) {
  let form
  try {
    form = await new Response(bytes, { headers: { 'content-type': type } }).formData()
  } catch {
    return null
  }
  const first = new Map()
  for (const [name, value] of form) {
    if (first.has(name)) continue
    first.set(name, typeof value === 'string' ? { file: false, text: value } : { file: true })
  }
  return Object.fromEntries(first)
}

const fieldName = fc.oneof(
  fc.constantFrom('0', '1', '2', '10', '$ACTION_REF_1', '$ACTION_1:0', `$ACTION_ID_${MODULE_ACTION}`, '_2_note', 'note'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('a"b', 'line\nbreak', 'cr\rhere', '%22', 'é名'),
)
const fieldValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '\r\n', '--', '\r\n--', '\r\n\r\n', '["$@1"]', JSON.stringify(sealed(KEY))),
)
const field = fc.tuple(fieldName, fieldValue, fc.option(fc.constantFrom('a.txt', 'x"y.bin', 'é.png'), { nil: undefined, freq: 4 }))

test('the scanner reads every form Node.js encodes as Node.js parses it, however the body is chunked', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(field, { maxLength: 8 }), fc.array(fc.nat(2000), { maxLength: 12 }), async (fields, rawCuts) => {
      const { bytes, type } = await encode(fields)
      const cuts = rawCuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b)
      const want = await reference(bytes, type)
      assert.notEqual(want, null, 'Node.js parses its own encoding')
      assert.deepEqual(scan(multipartBoundary(type), chunked(bytes, cuts)), want)
    }),
    runs(1500),
  )
})

test('mangled bodies: the scanner never throws, and when both parsers accept one they agree', async () => {
  let bothAccepted = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(field, { maxLength: 5 }),
      fc.array(fc.tuple(fc.nat(4000), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
      fc.nat(4000),
      fc.nat(64),
      async (fields, flips, cutAt, chunkSize) => {
        const { bytes: original, type } = await encode(fields)
        let bytes = new Uint8Array(original)
        for (const [at, value] of flips) if (bytes.length) bytes[at % bytes.length] = value
        if (cutAt % 3 === 0) bytes = bytes.subarray(0, cutAt % (bytes.length + 1))
        const size = chunkSize + 1
        const chunks = []
        for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
        const got = scan(multipartBoundary(type), chunks)
        const want = await reference(bytes, type)
        if (got !== null && want !== null) {
          bothAccepted++
          assert.deepEqual(got, want)
        }
        // A body cut before its closing boundary is never read as a form.
        if (bytes.length < original.length - 2) assert.equal(got, null)
      },
    ),
    runs(1500),
  )
  assert.ok(bothAccepted > 100, `only ${bothAccepted} mangled bodies were accepted by both`)
})

test('multipartBoundary: content types as fetch parses them', () => {
  const cases = [
    ['multipart/form-data; boundary=----WebKitFormBoundaryAbc123', '----WebKitFormBoundaryAbc123'],
    ['multipart/form-data;boundary=x', 'x'],
    ['multipart/form-data; charset=utf-8; boundary="quoted \\"b\\""', 'quoted "b"'],
    ['Multipart/Form-Data; BOUNDARY=x', 'x'],
    ['multipart/form-data; boundary=x; boundary=y', 'x'],
    ['multipart/form-data; boundary=', null],
    ['multipart/form-data', null],
    ['multipart/mixed; boundary=x', null],
    ['multipart/form-datax; boundary=x', null],
  ]
  for (const [type, boundary] of cases) assert.equal(multipartBoundary(type), boundary, type)
})

/** A JS closure call's body: payload in field 1, root in field 0 (wire order as React sends it). */
async function closureCall(payload, { extra = [], proxy = false, length = 'honest', chunkSize = 0 } = {}) {
  const { bytes, type } = await encode([['1', JSON.stringify(payload)], ...extra, ['0', '["$@1"]']])
  const headers = { 'next-action': INLINE_ACTION, accept: 'text/x-component', 'content-type': type }
  if (length === 'honest') headers['content-length'] = String(bytes.length)
  else if (length !== 'absent') headers['content-length'] = String(length)
  const chunks = []
  const size = chunkSize || bytes.length || 1
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
  return { request: streamed(chunks, headers, { proxy }), bytes }
}

async function verdictOf(guard, request) {
  const res = await guard(request)
  return passed(res) ? (res.headers.get('x-skew-guard') ?? 'pass') : res.headers.get('x-skew-guard')
}

test('declared lengths: only bodies declared at most maxBodyBytes are read; a longer stream is cut off', async () => {
  resetSkewState()
  const rotated = sealed(OLD_KEY)
  const { bytes } = await closureCall(rotated)
  const at = (maxBodyBytes, length, opts) =>
    closureCall(rotated, { length, ...opts }).then(({ request }) => verdictOf(skewGuard({ maxBodyBytes }), request))
  assert.equal(await at(bytes.length, 'honest'), 'key-rotated', 'exactly maxBodyBytes: read')
  assert.equal(await at(bytes.length - 1, 'honest'), 'pass', 'one byte over: not read')
  assert.equal(await at(1024 * 1024, 'absent'), 'pass', 'chunked, no length: not read')
  assert.equal(await at(1024 * 1024, 'absent', { chunkSize: 7 }), 'pass')
  // A length that claims less than the stream carries: read, but never past the hard cap.
  assert.equal(await at(1024 * 1024, 10), 'key-rotated')
  const huge = await closureCall(rotated, { extra: [['big', 'x'.repeat(80 * 1024)]], length: 10, chunkSize: 4096 })
  assert.equal(await verdictOf(skewGuard({ maxBodyBytes: 1024 }), huge.request), 'pass', 'cut off after max(maxBodyBytes, 64 KiB)')
  // A length that claims more than arrives (over HTTP the request would wait for the rest): what
  // did arrive is a complete form, so it is read.
  const short = await closureCall(rotated, { length: 100_000 })
  assert.equal(await verdictOf(skewGuard(), short.request), 'key-rotated')
  // …and one cut short before its closing boundary is no form at all.
  const { bytes: whole, type } = await encode([
    ['1', JSON.stringify(rotated)],
    ['0', '["$@1"]'],
  ])
  const cut = streamed(
    [whole.subarray(0, whole.length - 10)],
    { 'next-action': INLINE_ACTION, 'content-type': type, 'content-length': String(whole.length) },
    { proxy: true },
  )
  assert.equal(await verdictOf(skewGuard(), cut), 'pass')
  assert.deepEqual(getSkewStats().configErrors, {})
})

test('boundaries, headers and the payload split at every byte: the same verdict', async () => {
  const { bytes, type } = await encode([
    ['1', JSON.stringify(sealed(OLD_KEY))],
    ['0', '["$@1","arg"]'],
  ])
  const headers = { 'next-action': INLINE_ACTION, accept: 'text/x-component', 'content-type': type, 'content-length': String(bytes.length) }
  const guard = skewGuard()
  for (let cut = 0; cut <= bytes.length; cut++) {
    for (const pieces of [[cut], [cut, Math.min(bytes.length, cut + 1)], [cut, Math.min(bytes.length, cut + 41)]]) {
      assert.equal(await verdictOf(guard, streamed(chunked(bytes, pieces), headers, { proxy: true })), 'key-rotated', `cut at ${pieces}`)
    }
  }
})

test('an action field after a large file part is found, without buffering the file', async () => {
  const file = new Uint8Array(900 * 1024).fill(0x41)
  // A boundary-looking line inside the file must not end it.
  file.set(new TextEncoder().encode('\r\n--not-the-boundary\r\n'), 1000)
  const unknownId = '40' + 'e'.repeat(40)
  const noJs = await encode([
    ['upload', file, 'big.bin'],
    [`$ACTION_ID_${MODULE_ACTION}`, ''],
    ['note', 'hi'],
    [`$ACTION_ID_${unknownId}`, ''],
  ])
  const noJsHeaders = { accept: 'text/html,application/xhtml+xml', 'content-type': noJs.type, 'content-length': String(noJs.bytes.length) }
  const res = await skewGuard()(
    streamed(
      chunked(
        noJs.bytes,
        Array.from({ length: 60 }, (_, i) => i * 16384),
      ),
      noJsHeaders,
      { proxy: true },
    ),
  )
  assert.equal(res.status, 409, 'the last action field (after the file) is the call')
  assert.equal(res.headers.get('x-skew-guard'), 'unknown-action')
  // A JS call whose root row comes after a file argument.
  const js = await encode([
    ['1', JSON.stringify(sealed(OLD_KEY))],
    ['2', file, 'big.bin'],
    ['0', '["$@1","$B2"]'],
  ])
  const jsHeaders = {
    'next-action': INLINE_ACTION,
    accept: 'text/x-component',
    'content-type': js.type,
    'content-length': String(js.bytes.length),
  }
  assert.equal(await verdictOf(skewGuard(), streamed(chunked(js.bytes, [7, 65536, 300000]), jsHeaders, { proxy: true })), 'key-rotated')
  // Only the fields asked for are kept: the file's name is seen, its bytes are not.
  const seen = []
  const fields = await readFields(streamed([js.bytes], jsHeaders), { maxBodyBytes: 1 << 20, ownBody: true }, (name) => {
    seen.push(name)
    return name === '0'
  })
  assert.deepEqual(seen, ['1', '2', '0'])
  assert.deepEqual([...fields.keys()], ['0'])
})

test('two action fields in a no-JS form: the last one is the call (a closure after a module action, and the reverse)', async () => {
  const closureRows = (payload) => [
    ['$ACTION_REF_1', ''],
    ['$ACTION_1:1', '["$@2"]'],
    ['$ACTION_1:0', JSON.stringify({ id: INLINE_ACTION, bound: '$@1' })],
    ['$ACTION_1:2', JSON.stringify(payload)],
  ]
  const form = async (fields) => {
    const { bytes, type } = await encode(fields)
    return streamed([bytes], { accept: 'text/html', 'content-type': type, 'content-length': String(bytes.length) }, { proxy: true })
  }
  const payload = sealed(OLD_KEY)
  const call = await findActionCall(await form([[`$ACTION_ID_${MODULE_ACTION}`, ''], ...closureRows(payload)]), {
    maxBodyBytes: 1 << 20,
    ownBody: true,
  })
  assert.deepEqual([call.id, call.form, await call.payload()], [INLINE_ACTION, true, payload])
  assert.equal(
    await verdictOf(skewGuard(), await form([[`$ACTION_ID_${MODULE_ACTION}`, ''], ...closureRows(sealed(OLD_KEY))])),
    'key-rotated',
  )
  assert.equal(await verdictOf(skewGuard(), await form([...closureRows(sealed(OLD_KEY)), [`$ACTION_ID_${MODULE_ACTION}`, '']])), 'pass')
})

test("where the body is read from: Next.js's proxy request directly, anything else through a clone", async () => {
  const payload = sealed(KEY)
  assert.equal(isProxyRequest(new Request('http://127.0.0.1/')), false)
  // Next.js's request for the proxy: its body is the proxy's own copy, read in place.
  const own = (await closureCall(payload, { proxy: true })).request
  assert.equal(isProxyRequest(own), true)
  assert.equal(await verdictOf(skewGuard(), own), 'pass')
  assert.equal(own.bodyUsed, true, 'read directly, no clone')
  // A plain Request (a test, code that calls the guard itself): read through a clone.
  const plain = (await closureCall(payload)).request
  await skewGuard()(plain)
  assert.equal(plain.bodyUsed, false)
  assert.match(await plain.text(), /\$@1/)
  // With a `next` proxy, or cloneBody: true, `next` and the caller get an unread body.
  let seenByNext = null
  const composed = skewGuard({ next: async (request) => void (seenByNext = await request.text()) })
  await composed((await closureCall(payload, { proxy: true })).request)
  assert.match(seenByNext, /\$@1/)
  const cloned = (await closureCall(sealed(OLD_KEY), { proxy: true })).request
  assert.equal(await verdictOf(skewGuard({ cloneBody: true }), cloned), 'key-rotated')
  assert.equal(cloned.bodyUsed, false)
  assert.throws(() => skewGuard({ cloneBody: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
  // A body someone already read is left alone: no verdict from it, no failure.
  resetSkewState()
  const used = (await closureCall(sealed(OLD_KEY), { proxy: true })).request
  await used.text()
  assert.equal(await verdictOf(skewGuard(), used), 'pass')
  assert.deepEqual(getSkewStats().configErrors, {})
})

test('module actions and calls without a payload never touch the body; only inline closures do', async () => {
  const { bytes, type } = await encode([
    ['0', '["$K1"]'],
    ['_1_note', 'hi'],
  ])
  const headers = { 'next-action': MODULE_ACTION, accept: 'text/x-component', 'content-type': type, 'content-length': String(bytes.length) }
  const module = streamed([bytes], headers, { proxy: true })
  assert.equal(await verdictOf(skewGuard(), module), 'pass')
  assert.equal(module.bodyUsed, false, 'a module action is never read')
  const unknown = streamed([bytes], { ...headers, 'next-action': '40' + 'c'.repeat(40) }, { proxy: true })
  assert.equal((await skewGuard()(unknown)).status, 409)
  assert.equal(unknown.bodyUsed, false, 'an unknown ID is refused from its header alone')
  const noKeyring = (await closureCall(sealed(OLD_KEY), { proxy: true })).request
  assert.equal(await verdictOf(skewGuard({ keyring: false }), noKeyring), 'pass')
  assert.equal(noKeyring.bodyUsed, false, 'no keyring, no payload check, no reading')
})

test('the closure check without previous keys still marks a closure sealed with a key the server never had', async () => {
  const single = new Keyring({ current: KEY })
  const guard = skewGuard({ keyring: single })
  assert.equal(await verdictOf(guard, (await closureCall(sealed(generateKey()), { proxy: true })).request), 'unknown-key')
  assert.equal(await verdictOf(guard, (await closureCall(sealed(KEY), { proxy: true })).request), 'pass')
  // An Edge keyring (async only) gives the same verdicts.
  const edge = require('../dist/core/edge.js')
  const edgeGuard = skewGuard({ keyring: new edge.Keyring({ current: KEY, previous: [OLD_KEY] }) })
  assert.equal(await verdictOf(edgeGuard, (await closureCall(sealed(OLD_KEY), { proxy: true })).request), 'key-rotated')
  assert.equal(await verdictOf(edgeGuard, (await closureCall(sealed(generateKey()), { proxy: true })).request), 'unknown-key')
})
