// Client guard: reload policy ('safe' / 'eager' / 'manual'), loop protection
// with a fake sessionStorage, the key-rotation rule, and the small DOM
// helpers' decisions on duck-typed inputs. Clocks are injected.
const test = require('node:test')
const assert = require('node:assert/strict')
const { shouldReloadForRotation, reportSkew, getLastSkew } = require('../dist/react/index.js')
const { isCoolingDown, claimReload, RELOAD_STORAGE_KEY } = require('../dist/react/cooldown.js')
const { ReloadPolicy, safeDecision } = require('../dist/react/policy.js')
const { registerPolicy, resetSkewStore, subscribeToSkew } = require('../dist/react/store.js')

function fakeStorage(initial = {}) {
  const data = new Map(Object.entries(initial))
  return {
    data,
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
  }
}

const throwing = {
  getItem() {
    throw new Error('SecurityError')
  },
  setItem() {
    throw new Error('SecurityError')
  },
}

test('cooldown: key name, window, clock set back, garbage, unusable storage, 0 disables', () => {
  assert.equal(RELOAD_STORAGE_KEY, 'next-skew-guard:last-reload')
  const s = fakeStorage()
  assert.equal(isCoolingDown(s, 100_000, 30_000), false)
  assert.equal(claimReload(s, 100_000, 30_000), true)
  assert.equal(s.data.get(RELOAD_STORAGE_KEY), '100000')
  assert.equal(isCoolingDown(s, 129_999, 30_000), true)
  assert.equal(claimReload(s, 129_999, 30_000), false)
  assert.equal(s.data.get(RELOAD_STORAGE_KEY), '100000', 'a refused claim records nothing')
  assert.equal(isCoolingDown(s, 130_000, 30_000), false)
  assert.equal(isCoolingDown(s, 80_000, 30_000), true, 'clock set back 20 s: still cooling down')
  assert.equal(isCoolingDown(s, 60_000, 30_000), false, 'a record far in the future does not block reloads for good')
  assert.equal(isCoolingDown(fakeStorage({ [RELOAD_STORAGE_KEY]: 'garbage' }), 1, 30_000), false)
  // Without a record that survives the reload, never reload automatically.
  assert.equal(isCoolingDown(null, 1, 30_000), true)
  assert.equal(isCoolingDown(throwing, 1, 30_000), true)
  assert.equal(claimReload(null, 1, 30_000), false)
  const readOnly = { getItem: () => null, setItem: throwing.setItem }
  assert.equal(claimReload(readOnly, 1, 30_000), false)
  assert.equal(claimReload(null, 1, 0), true)
  assert.equal(isCoolingDown(fakeStorage({ [RELOAD_STORAGE_KEY]: '5' }), 5, 0), false)
})

const event = (over = {}) => ({
  type: 'VERSION_SKEW',
  kind: 'unknown-action',
  source: 'action',
  actionId: 'a'.repeat(42),
  clientBuildId: 'b1',
  serverBuildId: 'b2',
  actionRan: false,
  at: 0,
  ...over,
})

function fakeEnv({ visible = true, unsaveable = false, storage = fakeStorage() } = {}) {
  const env = {
    visible,
    // Input the env cannot save (a chosen file): the reload must wait.
    unsaveable,
    saves: 0,
    store: storage,
    reloads: 0,
    hidden: new Set(),
    navigate: new Set(),
  }
  env.api = {
    isVisible: () => env.visible,
    saveInput: () => {
      env.saves++
      return !env.unsaveable
    },
    reload: () => env.reloads++,
    storage: () => env.store,
    onHidden: (cb) => {
      env.hidden.add(cb)
      return () => env.hidden.delete(cb)
    },
    onNavigate: (cb) => {
      env.navigate.add(cb)
      return () => env.navigate.delete(cb)
    },
  }
  env.hide = () => {
    env.visible = false
    for (const cb of [...env.hidden]) cb()
  }
  // The app moved to another page (a client-side push, back/forward): the URL already changed.
  env.leave = () => [...env.navigate].forEach((cb) => cb())
  return env
}

function policy(env, mode = 'safe', extra = {}) {
  let t = 1_000_000
  const p = new ReloadPolicy({ mode, cooldownMs: 30_000, env: env.api, now: () => t, ...extra })
  p.advance = (ms) => {
    t += ms
  }
  return p
}

test('safeDecision: only a failed action (or a broken page) reloads a visible page; a hidden one reloads', () => {
  assert.equal(safeDecision(event(), true), 'now')
  assert.equal(safeDecision(event({ source: 'app' }), true), 'now')
  assert.equal(safeDecision(event({ source: 'chunk', kind: 'missing-chunk', actionId: null }), true), 'now')
  assert.equal(safeDecision(event({ actionRan: true, kind: 'build-mismatch' }), true), 'later')
  assert.equal(safeDecision(event({ source: 'version-check', actionId: null }), true), 'later')
  assert.equal(safeDecision(event({ source: 'version-check' }), false), 'now')
})

test("'safe': an action that did not run reloads at once, saving the user's input and recording the time first", () => {
  const env = fakeEnv()
  const p = policy(env)
  const out = p.handle(event())
  assert.equal(env.saves, 1, 'input saved before the reload')
  assert.equal(env.reloads, 1)
  assert.equal(env.store.data.get(RELOAD_STORAGE_KEY), '1000000')
  assert.equal(out.suppressed, undefined)
})

test("'safe': input that cannot be saved (a chosen file) holds the reload back, reported suppressed, until the user leaves", () => {
  const env = fakeEnv({ unsaveable: true })
  const p = policy(env)
  const out = p.handle(event())
  assert.equal(env.reloads, 0)
  assert.equal(out.suppressed, true, 'a banner can tell the user')
  assert.equal(env.store.data.size, 0, 'the cooldown was not spent')
  env.hide()
  assert.equal(env.reloads, 0, 'not when hidden either: the input would be lost')
  env.leave()
  assert.equal(env.reloads, 1, 'the app already left the page: the new URL loads in full')
  assert.equal(p.pending, false)
})

test("'safe': an action that ran waits for the next navigation inside the app", () => {
  const env = fakeEnv()
  const p = policy(env)
  p.handle(event({ kind: 'build-mismatch', actionRan: true }))
  assert.equal(env.reloads, 0)
  assert.equal(p.pending, true)
  p.handle(event({ kind: 'build-mismatch', actionRan: true }))
  assert.equal(env.navigate.size, 1, 'armed once')
  env.leave()
  assert.equal(env.reloads, 1)
  assert.equal(p.pending, false, 'listeners removed')
  assert.equal(env.navigate.size + env.hidden.size, 0)
})

test("'safe': a version check waits while visible; leaving or hiding the tab reloads (input saved)", () => {
  const env = fakeEnv()
  policy(env).handle(event({ source: 'version-check', actionRan: false }))
  assert.equal(env.reloads, 0, 'a visible page is not reloaded for a version check')
  env.leave()
  assert.equal(env.reloads, 1)

  const env2 = fakeEnv()
  policy(env2).handle(event({ source: 'version-check', actionRan: false }))
  env2.hide()
  assert.equal(env2.saves, 1)
  assert.equal(env2.reloads, 1)
})

test("'safe': a deferred reload inside the cooldown lets the navigation happen normally and stays armed", () => {
  const env = fakeEnv()
  const p = policy(env)
  p.handle(event({ actionRan: true, kind: 'build-mismatch' }))
  env.store.setItem(RELOAD_STORAGE_KEY, String(1_000_000 - 10_000)) // another reload 10 s ago
  env.leave()
  assert.equal(env.reloads, 0)
  assert.equal(p.pending, true)
  p.advance(25_000)
  env.leave()
  assert.equal(env.reloads, 1)
})

test("'eager' reloads at once, once per cooldown; the withheld one is reported suppressed", () => {
  const env = fakeEnv()
  const p = policy(env, 'eager')
  p.handle(event({ source: 'version-check', actionRan: false }))
  assert.equal(env.reloads, 1)
  p.advance(29_999)
  const second = p.handle(event({ kind: 'key-rotated' }))
  assert.equal(env.reloads, 1, 'no loop')
  assert.equal(second.suppressed, true)
  assert.equal(second.kind, 'key-rotated', 'the kind stays')
  p.advance(1)
  assert.equal(p.handle(event()).suppressed, undefined)
  assert.equal(env.reloads, 2)
})

test('storage unusable: no automatic reload, event suppressed', () => {
  const env = fakeEnv({ storage: null })
  const out = policy(env, 'eager').handle(event())
  assert.equal(env.reloads, 0)
  assert.equal(out.suppressed, true)
  const env2 = fakeEnv({ storage: { getItem: () => null, setItem: throwing.setItem } })
  const out2 = policy(env2, 'eager').handle(event())
  assert.equal(env2.reloads, 0)
  assert.equal(out2.suppressed, true, 'a record that cannot be written also suppresses')
})

test("'manual' never reloads; onSkew sees every event; onSkew returning false prevents the reload", () => {
  const env = fakeEnv()
  const seen = []
  policy(env, 'manual', { onSkew: (e) => seen.push(e) }).handle(event())
  assert.equal(env.reloads, 0)
  assert.equal(env.navigate.size, 0)
  assert.equal(env.saves, 0)
  assert.equal(seen.length, 1)
  assert.equal(seen[0].suppressed, undefined, 'manual never suppresses: there is no reload to withhold')

  const env2 = fakeEnv()
  const p2 = policy(env2, 'eager', { onSkew: () => false })
  p2.handle(event())
  assert.equal(env2.reloads, 0)
  assert.equal(env2.store.data.size, 0, 'nothing recorded')

  const env3 = fakeEnv()
  const received = []
  const p3 = policy(env3, 'eager', {
    onSkew: (e) => {
      received.push(e.suppressed)
      return undefined
    },
  })
  p3.handle(event())
  p3.handle(event())
  assert.equal(env3.reloads, 1)
  assert.deepEqual(received, [undefined, true], 'onSkew learns that the second reload was withheld')
})

test('a throwing onSkew does not disable the protection', () => {
  const env = fakeEnv()
  const saved = globalThis.reportError
  const errors = []
  globalThis.reportError = (e) => errors.push(e)
  try {
    policy(env, 'eager', {
      onSkew: () => {
        throw new Error('app bug')
      },
    }).handle(event())
  } finally {
    globalThis.reportError = saved
  }
  assert.equal(env.reloads, 1)
  assert.equal(errors[0].message, 'app bug')
})

test('dispose removes listeners and ignores later events', () => {
  const env = fakeEnv()
  const p = policy(env)
  p.handle(event({ actionRan: true, kind: 'build-mismatch' }))
  assert.equal(env.navigate.size, 1)
  p.dispose()
  assert.equal(env.navigate.size + env.hidden.size, 0)
  p.handle(event())
  assert.equal(env.reloads, 0)
})

test('reportSkew goes through the active policy and reaches subscribers once, annotated', (t) => {
  t.after(resetSkewStore)
  const env = fakeEnv({ storage: fakeStorage({ [RELOAD_STORAGE_KEY]: '990000' }) })
  const p = new ReloadPolicy({ mode: 'eager', cooldownMs: 30_000, env: env.api, now: () => 1_000_000 })
  t.after(registerPolicy((e) => p.handle(e)))
  const seen = []
  t.after(subscribeToSkew((e) => seen.push(e)))
  const out = reportSkew({ kind: 'unknown-action', actionId: 'x', clientBuildId: 'b1', at: 5 })
  assert.equal(env.reloads, 0)
  assert.equal(seen.length, 1)
  assert.deepEqual(seen[0], {
    type: 'VERSION_SKEW',
    kind: 'unknown-action',
    source: 'app',
    actionId: 'x',
    clientBuildId: 'b1',
    serverBuildId: null,
    actionRan: false,
    at: 5,
    suppressed: true,
  })
  assert.equal(getLastSkew(), out)
  assert.equal(reportSkew({ kind: 'build-mismatch', at: 6 }).actionRan, true)
  assert.throws(() => reportSkew({ kind: 'nope' }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => reportSkew({}), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => reportSkew({ kind: 'key-rotated', actionRun: true }), { code: 'ERR_UNKNOWN_OPTION' })
})

test('shouldReloadForRotation: same rule as the core shouldForceRefresh', () => {
  const core = require('../dist/core/index.js')
  const cases = [
    [50, 100, 1000, 500],
    [50, 100, 1000, 1100],
    [100, 100, 0, 5000],
    [99, 100, 0, 100],
    [99, 100, 0, 99],
    [0, 1, 10, 11],
    [0, 1, 10, 10],
  ]
  for (const [loadedAt, rotatedAt, noticeMs, now] of cases) {
    assert.equal(
      shouldReloadForRotation({ loadedAt, rotatedAt, noticeMs, now }),
      core.shouldForceRefresh({ clientLoadedAt: loadedAt, rotatedAt, noticeMs, now }),
      JSON.stringify({ loadedAt, rotatedAt, noticeMs, now }),
    )
  }
  assert.equal(shouldReloadForRotation({ loadedAt: 50, rotatedAt: 100, noticeMs: 1000, now: 1100 }), true)
  assert.equal(shouldReloadForRotation({ loadedAt: 50, rotatedAt: 100, noticeMs: 1000, now: 1099 }), false)
  assert.equal(shouldReloadForRotation({ loadedAt: new Date(10), rotatedAt: new Date(20), now: new Date(20) }), true)
  assert.throws(() => shouldReloadForRotation({ loadedAt: NaN, rotatedAt: 1 }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => shouldReloadForRotation({ loadedAt: 1, rotatedAt: 1, noticeMs: -1 }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => shouldReloadForRotation({ rotatedAt: 1 }), { code: 'ERR_INVALID_ARG_TYPE', name: 'SkewGuardOptionError' })
  assert.throws(() => shouldReloadForRotation({ loadedAt: '1', rotatedAt: 1 }), TypeError)
  assert.throws(
    () => shouldReloadForRotation({ loadedAt: 1, rotatedAt: 1, notice: 5 }),
    (e) => {
      assert.equal(e.code, 'ERR_UNKNOWN_OPTION')
      assert.match(e.message, /loadedAt, rotatedAt, noticeMs, now/)
      return true
    },
  )
  assert.throws(() => shouldReloadForRotation(null), { code: 'ERR_INVALID_ARG_TYPE' })
})
