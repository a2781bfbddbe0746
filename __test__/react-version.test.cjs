// Client guard: the version check (backoff, jitter, visibility, dedupe) with
// injected timers, clock, randomness and visibility. No wall-clock timing.
const test = require('node:test')
const assert = require('node:assert/strict')
const {
  nextPollDelay,
  VersionChecker,
  fetchServerBuildId,
  DEFAULT_INTERVAL_MS,
  DEFAULT_MAX_BACKOFF_MS,
} = require('../dist/react/version.js')

test('nextPollDelay: interval after success, doubling after errors, capped, jitter within ±20 %', () => {
  assert.equal(DEFAULT_INTERVAL_MS, 60_000)
  assert.equal(DEFAULT_MAX_BACKOFF_MS, 600_000)
  // random = 0.5 is the unjittered base.
  assert.equal(nextPollDelay(60_000, 0, 0.5), 60_000)
  assert.equal(nextPollDelay(60_000, 1, 0.5), 120_000)
  assert.equal(nextPollDelay(60_000, 2, 0.5), 240_000)
  assert.equal(nextPollDelay(60_000, 3, 0.5), 480_000)
  assert.equal(nextPollDelay(60_000, 4, 0.5), 600_000)
  assert.equal(nextPollDelay(60_000, 1000, 0.5), 600_000, 'huge failure counts stay capped (no Infinity/NaN)')
  // Jitter bounds.
  assert.equal(nextPollDelay(60_000, 0, 0), 48_000)
  assert.ok(nextPollDelay(60_000, 0, 0.999999) <= 72_000)
  assert.ok(nextPollDelay(60_000, 0, 0.999999) >= 71_990)
  assert.equal(nextPollDelay(60_000, 10, 0), 480_000)
  assert.ok(nextPollDelay(60_000, 10, 0.999999) <= 720_000)
  for (let i = 0; i <= 100; i++) {
    const r = i / 100
    for (const failures of [0, 1, 5, 50]) {
      const base = failures === 0 ? 60_000 : Math.min(60_000 * 2 ** failures, 600_000)
      const d = nextPollDelay(60_000, failures, r)
      assert.ok(d >= base * 0.8 && d <= base * 1.2, `${failures} failures, r=${r}: ${d}`)
    }
  }
  // An interval above the cap is never shortened by errors; bad random values fall back to the base.
  assert.equal(nextPollDelay(900_000, 3, 0.5), 900_000)
  assert.equal(nextPollDelay(60_000, 0, NaN), 60_000)
  assert.equal(nextPollDelay(60_000, 0, 7), nextPollDelay(60_000, 0, 0.9999999999))
})

/** A controllable world: timers fire only when the test says so. */
function world({ visible = true, answers = [] } = {}) {
  const w = {
    visible,
    time: 1_000,
    timers: new Map(),
    nextHandle: 1,
    fetches: 0,
    answers: [...answers],
    results: [],
    skews: [],
  }
  w.deps = {
    fetchBuildId: async () => {
      w.fetches++
      const next = w.answers.shift()
      if (next instanceof Error) throw next
      return next
    },
    isVisible: () => w.visible,
    setTimer: (cb, ms) => {
      const h = w.nextHandle++
      w.timers.set(h, { cb, ms })
      return h
    },
    clearTimer: (h) => w.timers.delete(h),
    random: () => 0.5,
    now: () => w.time,
  }
  w.fire = async () => {
    assert.equal(w.timers.size, 1, 'exactly one timer pending')
    const [[h, { cb, ms }]] = w.timers
    w.timers.delete(h)
    w.time += ms
    cb()
    await new Promise((r) => setImmediate(r))
    return ms
  }
  w.pendingDelay = () => (w.timers.size === 1 ? [...w.timers.values()][0].ms : null)
  return w
}

function checker(w, clientBuildId = 'b1', extra = {}) {
  return new VersionChecker(w.deps, {
    clientBuildId,
    intervalMs: 60_000,
    maxBackoffMs: 600_000,
    onResult: (r) => w.results.push(r),
    onSkew: (e) => w.skews.push(e),
    ...extra,
  })
}

test('polls every interval while visible; another build counts once it settled (3 answers in a row), reported once per build', async () => {
  const w = world({ answers: ['b1', 'b2', 'b2', 'b2', 'b2', 'b3', 'b3', 'b3'] })
  const c = checker(w)
  c.start()
  assert.equal(w.fetches, 0, 'no request at mount: the page was just served')
  assert.equal(await w.fire(), 60_000)
  assert.deepEqual(w.results.at(-1), { status: 'current', serverBuildId: 'b1', clientBuildId: 'b1', lastChecked: 61_000 })
  assert.equal(await w.fire(), 60_000)
  assert.equal(w.results.at(-1).status, 'current', 'one answer from another build proves nothing yet')
  assert.equal(c.confirming, true)
  assert.equal(await w.fire(), 3_000, 'confirmed soon, not a minute later')
  assert.equal(w.skews.length, 0)
  assert.equal(await w.fire(), 3_000)
  assert.equal(w.results.at(-1).status, 'stale')
  assert.equal(w.skews.length, 1)
  assert.equal(await w.fire(), 60_000, 'settled: back to the interval')
  for (let i = 0; i < 3; i++) await w.fire()
  assert.equal(w.fetches, 8)
  assert.deepEqual(
    w.skews.map((e) => [e.kind, e.source, e.serverBuildId, e.actionRan, e.actionId]),
    [
      ['build-mismatch', 'version-check', 'b2', false, null],
      ['build-mismatch', 'version-check', 'b3', false, null],
    ],
  )
  assert.equal(w.skews[0].at, 127_000)
  c.stop()
  assert.equal(w.timers.size, 0)
})

test('a mixed fleet (a rolling update: answers alternate between old and new replicas) never settles, never announces', async () => {
  const answers = []
  for (let i = 0; i < 40; i++) answers.push(i % 3 === 2 ? 'b1' : 'b2') // b2, b2, b1, b2, b2, b1, …
  const w = world({ answers })
  const c = checker(w)
  c.start()
  for (let i = 0; i < 40; i++) await w.fire()
  assert.equal(w.skews.length, 0)
  assert.ok(
    w.results.every((r) => r.status !== 'stale'),
    'never reported stale',
  )
  // Once every replica runs b2, it settles.
  w.answers.push('b2', 'b2', 'b2')
  for (let i = 0; i < 3; i++) await w.fire()
  assert.deepEqual(
    w.skews.map((e) => e.serverBuildId),
    ['b2'],
  )
})

test('unknown server build (null or missing client build) is status unknown, never skew', async () => {
  const w = world({ answers: [null] })
  const c = checker(w)
  c.start()
  await w.fire()
  assert.equal(w.results[0].status, 'unknown')
  const w2 = world({ answers: ['b2'] })
  const c2 = checker(w2, null)
  c2.start()
  await w2.fire()
  assert.equal(w2.results[0].status, 'unknown')
  assert.equal(w.skews.length + w2.skews.length, 0)
  c.stop()
  c2.stop()
})

test('errors back off exponentially and reset after a success', async () => {
  const e = new Error('down')
  const w = world({ answers: [e, e, e, 'b1', e] })
  const c = checker(w)
  c.start()
  assert.equal(await w.fire(), 60_000)
  assert.equal(c.failures, 1)
  assert.equal(await w.fire(), 120_000)
  assert.equal(await w.fire(), 240_000)
  assert.equal(c.failures, 3)
  assert.equal(await w.fire(), 480_000)
  assert.equal(c.failures, 0)
  assert.equal(w.results.at(-1).status, 'current')
  assert.equal(await w.fire(), 60_000)
  assert.equal(w.pendingDelay(), 120_000)
  c.stop()
})

test('no polling while hidden; one check when visible again; throttled on rapid switching', async () => {
  const w = world({ visible: false, answers: ['b1', 'b1', 'b1'] })
  const c = checker(w)
  c.start()
  assert.equal(w.timers.size, 0, 'hidden at mount: nothing scheduled')
  w.visible = true
  c.visibilityChanged()
  await new Promise((r) => setImmediate(r))
  assert.equal(w.fetches, 1, 'checked at once when shown')
  assert.equal(w.pendingDelay(), 60_000, 'then back on the interval')
  w.visible = false
  c.visibilityChanged()
  assert.equal(w.timers.size, 0, 'hidden: timer cleared')
  w.time += 1_000
  w.visible = true
  c.visibilityChanged()
  await new Promise((r) => setImmediate(r))
  assert.equal(w.fetches, 1, 'shown again 1 s after the last check: no extra request')
  assert.equal(w.pendingDelay(), 60_000)
  w.visible = false
  c.visibilityChanged()
  w.time += 10_000
  w.visible = true
  c.visibilityChanged()
  await new Promise((r) => setImmediate(r))
  assert.equal(w.fetches, 2)
  c.stop()
})

test('a check finishing while hidden does not schedule; stop() ignores late results', async () => {
  let release
  const w = world()
  w.deps.fetchBuildId = () => {
    w.fetches++
    return new Promise((r) => {
      release = r
    })
  }
  const c = checker(w)
  c.start()
  const [[h, { cb }]] = w.timers
  w.timers.delete(h)
  cb()
  w.visible = false
  release('b1')
  await new Promise((r) => setImmediate(r))
  assert.equal(w.results.length, 1)
  assert.equal(w.timers.size, 0)
  w.visible = true
  c.visibilityChanged()
  c.stop()
  release('b2')
  await new Promise((r) => setImmediate(r))
  assert.equal(w.results.length, 1, 'nothing reported after stop')
  assert.equal(w.timers.size, 0)
})

test('fetchServerBuildId: GET no-store; body buildId, else x-build-id; non-2xx rejects', async () => {
  const seen = []
  const fetchFn =
    (body, init = {}) =>
    async (path, options) => {
      seen.push([path, options])
      return new Response(body, init)
    }
  const id = await fetchServerBuildId(fetchFn(JSON.stringify({ status: 'ok', buildId: 'b9', deploymentId: null })), '/api/health')
  assert.equal(id, 'b9')
  assert.equal(seen[0][0], '/api/health')
  assert.equal(seen[0][1].method, 'GET')
  assert.equal(seen[0][1].cache, 'no-store')
  assert.equal(
    await fetchServerBuildId(fetchFn(JSON.stringify({ status: 'ok', buildId: null }), { headers: { 'x-build-id': 'hdr' } }), '/h'),
    'hdr',
  )
  assert.equal(await fetchServerBuildId(fetchFn('not json', { headers: { 'x-build-id': 'hdr2' } }), '/h'), 'hdr2')
  assert.equal(await fetchServerBuildId(fetchFn('{}'), '/h'), null)
  await assert.rejects(fetchServerBuildId(fetchFn('nope', { status: 404 }), '/h'), /answered 404/)
})
