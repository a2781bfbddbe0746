// Client guard: the window.fetch wrapper, with a fake window and fetch set up
// and torn down by each test (no DOM, no network).
const test = require('node:test')
const assert = require('node:assert/strict')
const { installActionInterceptor, subscribeToSkew, getLastSkew } = require('../dist/react/index.js')
const { resetSkewStore, registerPolicy } = require('../dist/react/store.js')

const ID = '7f3a9c1e2b4d6f8a0c1e3b5d7f9a1c3e5b7d9f1a3c'

/** Installs globalThis.window with a recording fetch answering `reply(input, init)`. */
function fakeWindow(reply) {
  const calls = []
  const win = {
    fetch(input, init) {
      calls.push({ input, init, thisArg: this })
      return Promise.resolve(reply(input, init))
    },
  }
  const original = win.fetch
  const had = Object.hasOwn(globalThis, 'window')
  const saved = globalThis.window
  globalThis.window = win
  return {
    win,
    calls,
    original,
    restore() {
      if (had) globalThis.window = saved
      else delete globalThis.window
    },
  }
}

function withFake(t, reply) {
  const fake = fakeWindow(reply)
  t.after(() => {
    fake.restore()
    resetSkewStore()
  })
  return fake
}

const actionInit = (headers = {}) => ({
  method: 'POST',
  headers: { Accept: 'text/x-component', 'Next-Action': ID, ...headers },
  body: '[]',
})

test('action calls get x-skew-guard-build; other calls pass through untouched', async (t) => {
  const fake = withFake(t, () => new Response('0:{}', { headers: { 'content-type': 'text/x-component', 'x-build-id': 'b1' } }))
  const uninstall = installActionInterceptor({ buildId: 'b1' })
  t.after(uninstall)
  assert.notEqual(fake.win.fetch, fake.original)

  const init = actionInit()
  await fake.win.fetch('', init)
  assert.equal(fake.calls[0].init.headers['x-skew-guard-build'], 'b1')
  assert.equal(fake.calls[0].init.headers['Next-Action'], ID)
  assert.equal(init.headers['x-skew-guard-build'], undefined, "the caller's init is not mutated")
  assert.equal(fake.calls[0].thisArg, fake.win, 'the original fetch is called on window (no Illegal invocation)')

  const plain = { headers: { accept: 'application/json' } }
  await fake.win.fetch('/api/health', plain)
  assert.equal(fake.calls[1].init, plain)
  assert.equal(getLastSkew(), null, 'a same-build answer is not skew')
})

test('a refused action is published to subscribers with the response untouched', async (t) => {
  const fake = withFake(
    t,
    () =>
      new Response('Server Action unavailable.', {
        status: 409,
        headers: { 'x-skew-guard': 'unknown-action', 'x-nextjs-action-not-found': '1', 'x-build-id': 'b2' },
      }),
  )
  const uninstall = installActionInterceptor({ buildId: 'b1', now: () => 42 })
  t.after(uninstall)
  const seen = []
  const unsubscribe = subscribeToSkew((e) => seen.push(e))
  const res = await fake.win.fetch('/page', actionInit())
  assert.equal(res.status, 409)
  assert.equal(res.bodyUsed, false)
  assert.equal(await res.text(), 'Server Action unavailable.')
  const expected = {
    type: 'VERSION_SKEW',
    kind: 'unknown-action',
    source: 'action',
    actionId: ID,
    clientBuildId: 'b1',
    serverBuildId: 'b2',
    actionRan: false,
    at: 42,
  }
  assert.deepEqual(seen, [expected])
  assert.deepEqual(getLastSkew(), expected)

  unsubscribe()
  await fake.win.fetch('/page', actionInit())
  assert.equal(seen.length, 1, 'no events after unsubscribe')
})

test('Next.js 14 silent not-found (200 text/html) is caught', async (t) => {
  const fake = withFake(t, () => new Response('<!DOCTYPE html>', { headers: { 'content-type': 'text/html; charset=utf-8' } }))
  t.after(installActionInterceptor({ buildId: 'b1' }))
  const seen = []
  t.after(subscribeToSkew((e) => seen.push(e)))
  await fake.win.fetch('', actionInit())
  assert.equal(seen.length, 1)
  assert.equal(seen[0].kind, 'unknown-action')
  assert.equal(seen[0].actionRan, false)
})

test('installing twice wraps once; fetch is restored after the last uninstall; the newest options apply', async (t) => {
  const fake = withFake(t, () => new Response('', { headers: { 'x-build-id': 'server' } }))
  const first = installActionInterceptor({ buildId: 'first' })
  const wrapped = fake.win.fetch
  const second = installActionInterceptor({ buildId: 'second' })
  assert.equal(fake.win.fetch, wrapped, 'not wrapped twice')
  await fake.win.fetch('', actionInit())
  assert.equal(fake.calls[0].init.headers['x-skew-guard-build'], 'second')
  second()
  second() // each handle is idempotent
  await fake.win.fetch('', actionInit())
  assert.equal(fake.calls[1].init.headers['x-skew-guard-build'], 'first')
  assert.equal(fake.win.fetch, wrapped)
  first()
  assert.equal(fake.win.fetch, fake.original, 'restored')
})

test('a wrapper buried under another library passes through after uninstall', async (t) => {
  const fake = withFake(t, () => new Response('', { status: 409, headers: { 'x-skew-guard': 'stale-build' } }))
  const uninstall = installActionInterceptor({ buildId: 'b1' })
  const ours = fake.win.fetch
  fake.win.fetch = function other(input, init) {
    return ours.call(this, input, init)
  }
  uninstall()
  assert.notEqual(fake.win.fetch, fake.original, "someone else's wrapper stays")
  const seen = []
  t.after(subscribeToSkew((e) => seen.push(e)))
  await fake.win.fetch('', actionInit())
  assert.equal(fake.calls[0].init.headers['x-skew-guard-build'], undefined)
  assert.equal(seen.length, 0)
  // Installing again reuses the buried wrapper instead of stacking a second one.
  const again = installActionInterceptor({ buildId: 'b3' })
  t.after(again)
  await fake.win.fetch('', actionInit())
  assert.equal(fake.calls[1].init.headers['x-skew-guard-build'], 'b3')
  assert.equal(seen.length, 1)
  assert.equal(seen[0].kind, 'stale-build')
})

test('unknown build ID: no header is added, not-found is still caught, x-build-id is not a mismatch', async (t) => {
  const saved = process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID
  delete process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID
  t.after(() => {
    if (saved !== undefined) process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID = saved
  })
  let status = 200
  const fake = withFake(
    t,
    () => new Response('', { status, headers: { 'x-build-id': 'server', 'x-nextjs-action-not-found': status === 404 ? '1' : '0' } }),
  )
  t.after(installActionInterceptor())
  const seen = []
  t.after(subscribeToSkew((e) => seen.push(e)))
  await fake.win.fetch('', actionInit())
  assert.equal('x-skew-guard-build' in fake.calls[0].init.headers, false)
  assert.equal(seen.length, 0)
  status = 404
  await fake.win.fetch('', actionInit())
  assert.equal(seen.length, 1)
  assert.equal(seen[0].clientBuildId, null)
})

test('a throwing listener or policy does not break the action call or other listeners', async (t) => {
  const fake = withFake(t, () => new Response('', { status: 409, headers: { 'x-skew-guard': 'key-rotated' } }))
  t.after(installActionInterceptor({ buildId: 'b1' }))
  const errors = []
  const savedReport = globalThis.reportError
  globalThis.reportError = (e) => errors.push(e)
  t.after(() => {
    globalThis.reportError = savedReport
  })
  t.after(
    registerPolicy(() => {
      throw new Error('policy boom')
    }),
  )
  t.after(
    subscribeToSkew(() => {
      throw new Error('listener boom')
    }),
  )
  const seen = []
  t.after(subscribeToSkew((e) => seen.push(e.kind)))
  const res = await fake.win.fetch('', actionInit())
  assert.equal(res.status, 409)
  assert.deepEqual(seen, ['key-rotated'])
  assert.deepEqual(
    errors.map((e) => e.message),
    ['policy boom', 'listener boom'],
  )
})

test('network errors propagate unchanged and are not skew', async (t) => {
  const boom = new TypeError('Failed to fetch')
  const fake = withFake(t, () => {
    throw boom
  })
  fake.win.fetch = (input, init) => {
    fake.calls.push({ input, init })
    return Promise.reject(boom)
  }
  t.after(installActionInterceptor({ buildId: 'b1' }))
  await assert.rejects(fake.win.fetch('', actionInit()), (e) => e === boom)
  assert.equal(getLastSkew(), null)
})

test('without a window (SSR) installing is a harmless no-op', () => {
  assert.equal(typeof globalThis.window, 'undefined')
  const uninstall = installActionInterceptor({ buildId: 'b1' })
  assert.equal(typeof uninstall, 'function')
  uninstall()
  assert.equal(typeof globalThis.window, 'undefined')
})

test('an action that ran on another build and redirected: the target loads as a new document, Next.js never sees the answer', async (t) => {
  const redirectFrom = (build, target) => () =>
    new Response('0:{}', {
      status: 303,
      headers: {
        'content-type': 'text/x-component',
        'x-build-id': build,
        'x-skew-guard': build === 'b1' ? '' : 'reload',
        'x-action-redirect': target,
      },
    })
  let reply = redirectFrom('b2', '/?saved=a%3Bb;push')
  const fake = withFake(t, (...args) => reply(...args))
  const navigations = []
  fake.win.location = {
    href: 'http://127.0.0.1:3000/form',
    assign: (url) => navigations.push(['assign', url]),
    replace: (url) => navigations.push(['replace', url]),
  }
  t.after(installActionInterceptor({ buildId: 'b1' }))
  const settled = async (promise) => {
    let done = false
    promise.then(() => (done = true))
    await new Promise((resolve) => setImmediate(resolve))
    return done
  }

  assert.equal(await settled(fake.win.fetch('', actionInit())), false, 'the page is leaving: the answer is held back')
  assert.deepEqual(navigations, [['assign', 'http://127.0.0.1:3000/?saved=a%3Bb']])
  reply = redirectFrom('b2', '/next;replace')
  await settled(fake.win.fetch('', actionInit()))
  assert.deepEqual(navigations[1], ['replace', 'http://127.0.0.1:3000/next'])

  // Same build, or a redirect off-site: Next.js handles it as usual.
  reply = redirectFrom('b1', '/same;push')
  assert.equal(await settled(fake.win.fetch('', actionInit())), true)
  reply = redirectFrom('b2', 'https://example.com/elsewhere;push')
  assert.equal(await settled(fake.win.fetch('', actionInit())), true)
  assert.equal(navigations.length, 2)
})
