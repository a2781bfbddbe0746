// Fault: a flood of skewed, forged and malformed Server Action requests (old tabs after a deploy, or
// someone replaying junk). Defined behaviour: the guard answers each from what it already holds,
// and retains nothing per request — events are counted, not stored; each log line is written once.
// The load run (load.test.mjs) measures the whole Next.js server's RSS; this measures the guard
// alone, in process, by its heap after a GC (never by timing).
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const v8 = require('node:v8')
const vm = require('node:vm')

process.env.NODE_ENV = 'production'
delete process.env.SKEW_GUARD_BUILD_ID
const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-faults-flood-'))
process.env.__SKEW_GUARD_DIST_DIR = dist

const { generateKey, Keyring } = require('..')

const MODULE_ACTION = '40' + 'a'.repeat(40)
const INLINE_ACTION = '60' + 'b'.repeat(40)
const KEY = generateKey()
const OLD_KEY = generateKey()
fs.mkdirSync(path.join(dist, 'server'))
fs.writeFileSync(path.join(dist, 'BUILD_ID'), 'build-2\n')
fs.writeFileSync(
  path.join(dist, 'server', 'server-reference-manifest.json'),
  JSON.stringify({
    node: {
      [MODULE_ACTION]: { workers: { 'app/page': {} }, exportedName: 'save' },
      [INLINE_ACTION]: { workers: { 'app/page': {} }, exportedName: '$$RSC_SERVER_ACTION_0' },
    },
    edge: {},
    encryptionKey: KEY,
  }),
)

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

/**
 * A full GC, with the event loop turned in between: undici frees what a cloned Request holds
 * through a FinalizationRegistry, whose callbacks run as tasks after a GC, never inside a chain of
 * awaits like the flood's. Without the turns their not-yet-run cleanups would count as retained.
 */
async function collect() {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

const { skewGuard } = require('../dist/proxy/index.js')
const { getSkewStats } = require('../dist/server/events.js')

const keyring = new Keyring({ current: KEY, previous: [OLD_KEY] })
const guard = skewGuard({ keyring })

function closureBody(payload) {
  const b = '----flood'
  const part = (name, value) => `--${b}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  return { type: `multipart/form-data; boundary=${b}`, body: part('1', JSON.stringify(payload)) + part('0', '["$@1"]') + `--${b}--\r\n` }
}

const seal = (key) => new Keyring({ current: key }).sealSync(INLINE_ACTION, '0:["x"]\n')
const previous = closureBody(seal(OLD_KEY))
const foreign = closureBody(seal(generateKey()))
const truncated = closureBody(seal(KEY))

/** One request of each kind, fresh objects every time (as a server gets them). */
const KINDS = [
  () => ({ headers: { 'next-action': '7f' + 'e'.repeat(40) }, body: '["x"]' }), // unknown ID
  () => ({ headers: { 'next-action': 'not-an-id' }, body: '["x"]' }), // junk ID
  () => ({ headers: { 'next-action': MODULE_ACTION, 'x-skew-guard-build': 'build-1' }, body: '["x"]' }), // stale build
  () => ({
    headers: { 'next-action': INLINE_ACTION, 'content-type': previous.type, 'content-length': String(previous.body.length) },
    body: previous.body,
  }),
  () => ({
    headers: { 'next-action': INLINE_ACTION, 'content-type': foreign.type, 'content-length': String(foreign.body.length) },
    body: foreign.body,
  }),
  () => ({
    headers: { 'next-action': INLINE_ACTION, 'content-type': truncated.type, 'content-length': '60' },
    body: truncated.body.slice(0, 60),
  }),
  () => ({ headers: { 'next-action': MODULE_ACTION, 'x-skew-guard-build': 'x'.repeat(5000) }, body: '{"unterminated' }),
]

async function flood(n) {
  for (let i = 0; i < n; i++) {
    const { headers, body } = KINDS[i % KINDS.length]()
    const response = await guard(new Request('http://127.0.0.1/', { method: 'POST', headers, body }))
    await response.arrayBuffer()
  }
}

test('a flood of skewed, forged and malformed action requests retains no memory in the guard', async () => {
  const logs = []
  const saved = { error: console.error, warn: console.warn, info: console.info }
  for (const level of Object.keys(saved)) console[level] = (...args) => logs.push(args.join(' '))
  try {
    await flood(2_100) // warm-up
    await collect()
    const before = process.memoryUsage().heapUsed
    const countsBefore = getSkewStats()
    const N = 21_000
    await flood(N)
    await collect()
    const growth = process.memoryUsage().heapUsed - before
    console.info = saved.info
    saved.info(`heap growth over ${N} flooded requests: ${growth} bytes`)
    // GC noise is about ±0.5 MB; a per-request leak of 75 bytes would be 1.5 MB.
    assert.ok(growth < 1.5 * 1024 * 1024, `heap grew by ${growth} bytes over ${N} requests`)
    const stats = getSkewStats()
    const per = N / KINDS.length
    assert.equal(stats.byKind['unknown-action'] - countsBefore.byKind['unknown-action'], 2 * per)
    assert.equal(stats.byKind['stale-build'] - countsBefore.byKind['stale-build'], per)
    assert.equal(stats.byKind['key-rotated'] - countsBefore.byKind['key-rotated'], per)
    assert.equal(stats.byKind['unknown-key'] - countsBefore.byKind['unknown-key'], per)
    assert.deepEqual(stats.configErrors, {}, 'the guard never failed')
  } finally {
    Object.assign(console, saved)
  }
  // One line per kind of skew, however many requests: the log cannot be flooded either.
  assert.deepEqual(
    logs.map((line) => /^\[next-skew-guard\] ([a-z-]+): /.exec(line)?.[1]).sort(),
    ['key-rotated', 'stale-build', 'unknown-action', 'unknown-key'],
    logs.join('\n'),
  )
})
