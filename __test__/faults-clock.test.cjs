// Fault: a client whose clock is wrong (a day ahead, a day behind, or set back while the tab is
// open). Defined behaviour: no rotation notice, refused action or clock change makes a tab reload
// in a loop.
//
// - shouldReloadForRotation compares the page's load time with the current time on the same
//   (client) clock, so right after a reload `loadedAt` is `now`, which is already past `rotatedAt`:
//   under any constant skew it fires at most once per rotation (a day late when the clock is
//   behind; not at all when it is ahead, where the server's key-rotated verdict still reloads).
// - <SkewGuard>'s own reloads go through the sessionStorage cooldown, whose record and check use the
//   same clock: at most one automatic reload per cooldown, whatever the skew; a clock set back
//   unlocks at most one extra reload.
// - The health poll measures its "checked recently" gap on the client clock; a clock set back must
//   not suppress the check a tab makes when it becomes visible.
const test = require('node:test')
const assert = require('node:assert/strict')

const { shouldReloadForRotation } = require('../dist/react/index.js')
const { ReloadPolicy } = require('../dist/react/policy.js')
const { VersionChecker } = require('../dist/react/version.js')

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const ROTATED_AT = Date.UTC(2026, 0, 10, 12) // server clock, which is right
const NOTICE = HOUR

/**
 * A tab open from 2 h before the rotation for three days of real time, checked every minute; it
 * reloads whenever the rule says so. `skewAt(real)` is the client clock's error at that moment.
 */
function reloadsOfTab(skewAt) {
  let real = ROTATED_AT - 2 * HOUR
  let loadedAt = real + skewAt(real)
  const reloads = []
  for (; real < ROTATED_AT + 3 * DAY; real += MINUTE) {
    const now = real + skewAt(real)
    if (shouldReloadForRotation({ loadedAt, rotatedAt: ROTATED_AT, noticeMs: NOTICE, now })) {
      reloads.push(real)
      loadedAt = now
    }
  }
  return reloads
}

test('rotation notices: a clock ±1 day off reloads a tab at most once per rotation', () => {
  assert.deepEqual(
    reloadsOfTab(() => 0),
    [ROTATED_AT + NOTICE],
    'control: once, when the notice ends',
  )
  assert.deepEqual(
    reloadsOfTab(() => -DAY),
    [ROTATED_AT + NOTICE + DAY],
    'a day behind: once, a day late',
  )
  assert.deepEqual(
    reloadsOfTab(() => DAY),
    [],
    'a day ahead: the tab looks newer than the rotation (the server verdict covers it)',
  )
  for (const skew of [-3 * DAY, -HOUR - 1, -NOTICE, 1, 7 * HOUR]) {
    assert.ok(reloadsOfTab(() => skew).length <= 1, `skew ${skew} ms`)
  }
})

test('rotation notices: a clock set back by a day right after the reload does not bring the notice back', () => {
  const first = ROTATED_AT + NOTICE
  const reloads = reloadsOfTab((real) => (real > first ? -DAY : 0))
  assert.deepEqual(reloads, [first])
  const forward = reloadsOfTab((real) => (real > first ? DAY : 0))
  assert.deepEqual(forward, [first])
})

/** A page load of the built-in guard: a new policy over the tab's sessionStorage, one refused action. */
function pageLoad(storage, now) {
  let reloaded = 0
  const policy = new ReloadPolicy({
    mode: 'safe',
    cooldownMs: 30_000,
    now: () => now,
    env: {
      isVisible: () => true,
      saveInput: () => true,
      reload: () => reloaded++,
      storage: () => storage,
      onHidden: () => () => {},
      onNavigate: () => () => {},
    },
  })
  policy.handle({
    type: 'VERSION_SKEW',
    kind: 'key-rotated',
    source: 'action',
    actionId: null,
    clientBuildId: 'a',
    serverBuildId: 'a',
    actionRan: false,
    at: now,
  })
  policy.dispose()
  return reloaded
}

function sessionStorage() {
  const data = new Map()
  return { getItem: (k) => (data.has(k) ? data.get(k) : null), setItem: (k, v) => data.set(k, String(v)) }
}

/** Ten minutes of a tab whose every page load is refused at once (a second per load). */
function reloadsOverTenMinutes(skewAt) {
  const storage = sessionStorage()
  let reloads = 0
  const start = ROTATED_AT
  for (let real = start; real < start + 10 * MINUTE; real += 1_000) reloads += pageLoad(storage, real + skewAt(real))
  return reloads
}

test('<SkewGuard> reloads: at most one per cooldown with the clock a day ahead or behind', () => {
  const control = reloadsOverTenMinutes(() => 0)
  assert.equal(control, 20, 'control: one reload per 30 s cooldown over 10 minutes, not one per page load (600)')
  assert.equal(
    reloadsOverTenMinutes(() => DAY),
    control,
  )
  assert.equal(
    reloadsOverTenMinutes(() => -DAY),
    control,
  )
})

test('<SkewGuard> reloads: a clock set back (or forward) by a day unlocks at most one extra reload', () => {
  const control = reloadsOverTenMinutes(() => 0)
  const jump = ROTATED_AT + 5 * MINUTE + 10_000
  assert.ok(reloadsOverTenMinutes((real) => (real >= jump ? -DAY : 0)) <= control + 1)
  assert.ok(reloadsOverTenMinutes((real) => (real >= jump ? DAY : 0)) <= control + 1)
})

test('health poll: a clock set back while the tab is hidden does not suppress the check on becoming visible', async () => {
  let now = ROTATED_AT
  let visible = true
  let fetches = 0
  const timers = new Set()
  const checker = new VersionChecker(
    {
      fetchBuildId: async () => {
        fetches++
        return 'b1'
      },
      isVisible: () => visible,
      setTimer: (cb, ms) => {
        const t = { cb, ms }
        timers.add(t)
        return t
      },
      clearTimer: (t) => timers.delete(t),
      random: () => 0.5,
      now: () => now,
    },
    { clientBuildId: 'b1', intervalMs: 60_000, maxBackoffMs: 600_000, onResult: () => {}, onSkew: () => {} },
  )
  checker.start()
  await checker.check()
  assert.equal(fetches, 1)
  visible = false
  checker.visibilityChanged()
  // Hidden for an hour, during which the clock is corrected back by a day.
  now += HOUR - DAY
  visible = true
  checker.visibilityChanged()
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(fetches, 2, 'checked at once on becoming visible')
  checker.stop()
})
