// Fault: the health endpoint hammered by many tabs (every open tab polls it while visible). Defined
// behaviour: answering it reads nothing from disk per request (the build identity is read once and
// cached; the manifest and the keyring are not touched), records no events, logs nothing, and
// retains no memory per request. Proven by counting file reads and by the heap after a GC, never by
// timing.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const v8 = require('node:v8')
const vm = require('node:vm')

process.env.NODE_ENV = 'production'
delete process.env.SKEW_GUARD_BUILD_ID
delete process.env.NEXT_DEPLOYMENT_ID
const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-faults-health-'))
process.env.__SKEW_GUARD_DIST_DIR = dist
fs.mkdirSync(path.join(dist, 'server'))
fs.writeFileSync(path.join(dist, 'BUILD_ID'), 'build-health\n')
fs.writeFileSync(path.join(dist, 'server', 'server-reference-manifest.json'), JSON.stringify({ node: {}, edge: {} }))

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

const TABS = 10_000

/** Counts readFileSync/statSync/openSync calls on files of the temp dist dir while `fn` runs. */
async function countingReads(fn) {
  const counts = new Map()
  const originals = {}
  for (const name of ['readFileSync', 'statSync', 'openSync', 'existsSync']) {
    originals[name] = fs[name]
    fs[name] = function (file, ...rest) {
      if (typeof file === 'string' && file.startsWith(dist))
        counts.set(`${name} ${path.relative(dist, file)}`, (counts.get(`${name} ${path.relative(dist, file)}`) ?? 0) + 1)
      return originals[name].call(this, file, ...rest)
    }
  }
  try {
    await fn()
  } finally {
    Object.assign(fs, originals)
  }
  return Object.fromEntries(counts)
}

const poll = (method = 'GET') => new Request('http://127.0.0.1/api/health', { method })

test(`${TABS} health polls: the build identity is read from disk once, nothing else is touched`, async () => {
  const logs = []
  const saved = { error: console.error, warn: console.warn, info: console.info }
  for (const level of Object.keys(saved)) console[level] = (...args) => logs.push(args.join(' '))
  let guard
  let events
  try {
    const reads = await countingReads(async () => {
      guard = require('../dist/proxy/index.js').skewGuard()
      events = require('../dist/server/events.js')
      for (let i = 0; i < TABS; i++) {
        const response = await guard(poll(i % 10 === 0 ? 'HEAD' : 'GET'))
        assert.equal(response.status, 200)
        if (i % 10 !== 0) assert.deepEqual(await response.json(), { status: 'ok', buildId: 'build-health', deploymentId: null })
      }
    })
    assert.deepEqual(reads, { 'readFileSync BUILD_ID': 1 })
  } finally {
    Object.assign(console, saved)
  }
  assert.deepEqual(logs, [])
  const stats = events.getSkewStats()
  assert.equal(stats.total, 0)
  assert.deepEqual(stats.configErrors, {})
})

const MORE = 30_000

test(`${MORE} more health polls retain no memory (heap after GC)`, async () => {
  const guard = require('../dist/proxy/index.js').skewGuard()
  const round = async (n) => {
    for (let i = 0; i < n; i++) await (await guard(poll())).arrayBuffer()
  }
  await round(1_000) // warm-up: JIT, caches, undici's lazy state
  gc()
  gc()
  const before = process.memoryUsage().heapUsed
  await round(MORE)
  gc()
  gc()
  const growth = process.memoryUsage().heapUsed - before
  console.log(`heap growth over ${MORE} polls: ${growth} bytes`)
  // GC noise is about ±0.5 MB; a per-request leak of 50 bytes would be 1.5 MB.
  assert.ok(growth < 1.5 * 1024 * 1024, `heap grew by ${growth} bytes over ${MORE} polls`)
})
