// callSafeAction / isVersionSkew (client half of next-skew-guard/action):
// classification rules, build-ID comparison, options and onSkew. The
// end-to-end runs against Next.js's own client are in action-next.test.cjs.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const net = require('node:net')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const entry = path.join(root, 'dist/action/index.js')
const { callSafeAction, isVersionSkew, isSafeActionResult } = require(entry)
const { noteActionResponse } = require(path.join(root, 'dist/shared/protocol.js'))

/** An action whose response the client guard saw (what <SkewGuard /> records for each action response). */
const observed = (kind, status, settle) => async () => {
  noteActionResponse(kind, status)
  return settle()
}
const { UnrecognizedActionError } = require(path.join(root, 'node_modules/next/dist/client/components/unrecognized-action-error.js'))

const resolving = (value) => async () => value
const rejecting = (error) => async () => {
  throw error
}

function assertSkew(r, reason, actionRan) {
  assert.equal(r.success, false)
  assert.equal(r.error, 'VERSION_SKEW')
  assert.equal(r.requiresRefresh, true)
  assert.equal(r.reason, reason)
  assert.equal(r.actionRan, actionRan)
  assert.equal(isVersionSkew(r), true)
}

test("UnrecognizedActionError (Next.js 16's own class) is skew; the action did not run", async () => {
  const error = new UnrecognizedActionError(
    'Server Action "7fab" was not found on the server. \nRead more: https://nextjs.org/docs/messages/failed-to-find-server-action',
  )
  const r = await callSafeAction(rejecting(error))
  assertSkew(r, 'unrecognized-action', false)
  assert.equal(r.cause, error)
})

test('a resolved undefined is skew (14, 15.0–15.4.0); never success', async () => {
  assertSkew(await callSafeAction(resolving(undefined)), 'empty-result', false)
})

test('anything else that is not a safe-action result is skew, never success', async () => {
  for (const value of [
    null,
    0,
    'ok',
    [],
    { success: true },
    { success: true, data: 1 },
    { success: true, data: 1, buildId: 5 },
    { success: 'yes', data: 1, buildId: null },
    { success: false, buildId: null },
    { success: false, error: 42, buildId: null },
    Object.assign(Object.create({ buildId: 'inherited' }), { success: true, data: 1 }),
    new (class Result {
      constructor() {
        this.success = true
        this.data = 1
        this.buildId = null
      }
    })(),
  ]) {
    const r = await callSafeAction(resolving(value))
    assert.notEqual(r.success, true, JSON.stringify(value))
    assertSkew(r, value === undefined ? 'empty-result' : 'invalid-result', true)
  }
})

const PROD_15 =
  'An error occurred in the Server Components render. The specific message is omitted in production builds to avoid leaking sensitive details. A digest property is included on this error instance which may provide additional details about the nature of the error.'
const PROD_16 = 'Minified React error #441; visit https://react.dev/errors/441 for the full message'

test('digest errors: skew only when the guard marked the response (a closure sealed with a key the server lacks); else SERVER_ERROR', async () => {
  for (const message of [PROD_15, PROD_16]) {
    const error = Object.assign(new Error(message), { digest: '1379131148' })
    // Next.js answers an oversized body, a rejected origin, a module load error the same way: not skew.
    const plain = await callSafeAction(rejecting(error))
    assert.deepEqual(
      { success: plain.success, error: plain.error, requiresRefresh: plain.requiresRefresh, actionRan: plain.actionRan },
      { success: false, error: 'SERVER_ERROR', requiresRefresh: false, actionRan: 'unknown' },
    )
    assert.equal(isVersionSkew(plain), false)
    // The guard checked the payload and marked Next.js's 500.
    assertSkew(await callSafeAction(observed('skew', 500, () => Promise.reject(error))), 'undecryptable-closure', false)
  }
  // A mark from before the call does not count.
  noteActionResponse('skew', 500)
  assert.equal((await callSafeAction(rejecting(Object.assign(new Error(PROD_16), { digest: '1' })))).error, 'SERVER_ERROR')
  // Without a digest, the same text is not the Flight error shape.
  assert.equal((await callSafeAction(rejecting(new Error(PROD_15)))).error, 'UNKNOWN_ERROR')
  // A development-mode error (real message + digest) is not claimed either.
  assert.equal(
    (await callSafeAction(rejecting(Object.assign(new Error('The operation failed for an operation-specific reason'), { digest: '1' }))))
      .error,
    'UNKNOWN_ERROR',
  )
  // Control-flow digests arrive with the same production message and are rethrown.
  for (const digest of ['NEXT_REDIRECT;push;/a;307;', 'NEXT_HTTP_ERROR_FALLBACK;404', 'NEXT_NOT_FOUND']) {
    const e = Object.assign(new Error(PROD_16), { digest })
    await assert.rejects(callSafeAction(rejecting(e)), (x) => x === e, digest)
  }
})

test("15.4.x not-found Error, Next.js refusal bodies and the guard's own refusal text are skew; look-alikes are not", async () => {
  const nf = new Error(
    'Server Action "0123456789abcdef0123456789abcdef0123456789" was not found on the server. \nRead more: https://nextjs.org/docs/messages/failed-to-find-server-action',
  )
  assertSkew(await callSafeAction(rejecting(nf)), 'action-not-found', false)
  for (const body of [
    'Server action not found.',
    'Server Action unavailable.',
    'Invalid Server Action request.',
    // The guard's 409 body, when a proxy stripped its headers but kept `text/plain`.
    'Server Action unavailable. This page is from an older or newer deployment: the server does not know this action. Reload the page.',
  ]) {
    assertSkew(await callSafeAction(rejecting(new Error(body))), 'action-not-found', false)
  }
  for (const message of [
    'Server Action "xyz" was not found on the server',
    'Failed: An unexpected response was received from the server.',
    'server action unavailable',
  ]) {
    assert.equal((await callSafeAction(rejecting(new Error(message)))).error, 'UNKNOWN_ERROR', message)
  }
})

test('gateway answers (413, 429, 403, 502, 504): TRANSPORT_ERROR with actionRan "unknown", never skew', async () => {
  const unexpected = () => Promise.reject(new Error('An unexpected response was received from the server.'))
  // Next.js 15/16's wording alone is enough (no client guard on the page).
  const bare = await callSafeAction(unexpected)
  assert.deepEqual(
    { error: bare.error, requiresRefresh: bare.requiresRefresh, actionRan: bare.actionRan, status: bare.status },
    { error: 'TRANSPORT_ERROR', requiresRefresh: false, actionRan: 'unknown', status: undefined },
  )
  for (const status of [413, 429, 403, 502, 504]) {
    const r = await callSafeAction(observed('transport', status, unexpected))
    assert.deepEqual(
      { error: r.error, actionRan: r.actionRan, status: r.status },
      { error: 'TRANSPORT_ERROR', actionRan: 'unknown', status },
    )
    assert.equal(isVersionSkew(r), false)
  }
  // A gateway page with an exact text/plain body becomes that body as the message (15/16).
  const plain = await callSafeAction(observed('transport', 502, () => Promise.reject(new Error('Bad Gateway'))))
  assert.deepEqual(
    { error: plain.error, message: plain.message, status: plain.status },
    { error: 'TRANSPORT_ERROR', message: 'Bad Gateway', status: 502 },
  )
  // Next.js 14 resolves any non-RSC answer with undefined: the guard's note tells a gateway from skew.
  const on14 = await callSafeAction(observed('transport', 504, () => Promise.resolve(undefined)))
  assert.deepEqual(
    { error: on14.error, actionRan: on14.actionRan, status: on14.status },
    { error: 'TRANSPORT_ERROR', actionRan: 'unknown', status: 504 },
  )
  // The guard saw a skew refusal whose headers a proxy dropped: skew after all.
  assertSkew(await callSafeAction(observed('skew', 409, unexpected)), 'unexpected-response', false)
})

test('an action that ran on another build is a result, not a failure: its data plus requiresRefresh and the builds', async () => {
  const call = callSafeAction.with({ buildId: 'client-b' })
  const r = await call(resolving({ success: true, data: { id: 7 }, buildId: 'server-b' }))
  assert.deepEqual(r, {
    success: true,
    data: { id: 7 },
    buildId: 'server-b',
    requiresRefresh: true,
    skew: { reason: 'build-mismatch', clientBuildId: 'client-b', buildId: 'server-b' },
  })
  assert.equal(isVersionSkew(r), false)
  // Its own failure on the other build: the failure, also with the refresh hint.
  const failed = await call(resolving({ success: false, error: 'ACTION_ERROR', buildId: 'server-b' }))
  assert.deepEqual(failed, {
    success: false,
    error: 'ACTION_ERROR',
    buildId: 'server-b',
    requiresRefresh: true,
    skew: { reason: 'build-mismatch', clientBuildId: 'client-b', buildId: 'server-b' },
  })
  // Same build: the result.
  assert.deepEqual(await call(resolving({ success: true, data: 1, buildId: 'client-b' })), {
    success: true,
    data: 1,
    buildId: 'client-b',
    requiresRefresh: false,
  })
  // Unknown on either side: the result, no refresh.
  assert.equal((await call(resolving({ success: true, data: 1, buildId: null }))).requiresRefresh, false)
  assert.equal((await call(resolving({ success: true, data: 1, buildId: '' }))).requiresRefresh, false)
  assert.equal((await callSafeAction(resolving({ success: true, data: 1, buildId: 'server-b' }))).requiresRefresh, false)
})

test("the action's own failure passes through, with its message when it has one", async () => {
  assert.deepEqual(await callSafeAction(resolving({ success: false, error: 'NAME_TAKEN', message: 'Taken.', buildId: null })), {
    success: false,
    error: 'NAME_TAKEN',
    message: 'Taken.',
    buildId: null,
    requiresRefresh: false,
  })
  assert.deepEqual(await callSafeAction(resolving({ success: false, error: 'ACTION_ERROR', buildId: null })), {
    success: false,
    error: 'ACTION_ERROR',
    buildId: null,
    requiresRefresh: false,
  })
})

test('network failures: NETWORK_ERROR without requiresRefresh (a real failed fetch and an abort)', async () => {
  // A port nobody listens on: undici's own "fetch failed" TypeError.
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  const r = await callSafeAction(() => fetch(`http://127.0.0.1:${port}/`))
  assert.deepEqual(
    { success: r.success, error: r.error, requiresRefresh: r.requiresRefresh },
    { success: false, error: 'NETWORK_ERROR', requiresRefresh: false },
  )
  assert.equal(isVersionSkew(r), false)
  const controller = new AbortController()
  controller.abort()
  const aborted = await callSafeAction(() => fetch(`http://127.0.0.1:${port}/`, { signal: controller.signal }))
  assert.equal(aborted.error, 'NETWORK_ERROR')
  for (const message of ['Failed to fetch', 'NetworkError when attempting to fetch resource.', 'Load failed']) {
    assert.equal((await callSafeAction(rejecting(new TypeError(message)))).error, 'NETWORK_ERROR', message)
  }
})

test('other rejections: UNKNOWN_ERROR with the message, never success', async () => {
  const e = new RangeError('boom')
  const r = await callSafeAction(rejecting(e))
  assert.deepEqual(r, { success: false, error: 'UNKNOWN_ERROR', requiresRefresh: false, actionRan: 'unknown', message: 'boom', cause: e })
  const s = await callSafeAction(rejecting('a string'))
  assert.deepEqual(s, { success: false, error: 'UNKNOWN_ERROR', requiresRefresh: false, actionRan: 'unknown', cause: 'a string' })
  const n = await callSafeAction(rejecting(null))
  assert.equal(n.error, 'UNKNOWN_ERROR')
})

test('arguments are passed to the action', async () => {
  let seen
  await callSafeAction(
    async (...args) => {
      seen = args
      return { success: true, data: null, buildId: null }
    },
    1,
    'two',
    { three: 3 },
  )
  assert.deepEqual(seen, [1, 'two', { three: 3 }])
})

test('onSkew: called once for every result that asks for a refresh, before callSafeAction resolves; never for others', async () => {
  const seen = []
  const call = callSafeAction.with({ onSkew: (r) => seen.push(r), buildId: 'client-b' })
  const r = await call(resolving(undefined))
  assert.equal(seen.length, 1)
  assert.equal(seen[0], r)
  const ran = await call(resolving({ success: true, data: 1, buildId: 'server-b' }))
  assert.equal(seen.length, 2)
  assert.equal(seen[1], ran)
  await call(resolving({ success: true, data: 1, buildId: null }))
  await call(resolving({ success: false, error: 'E', buildId: null }))
  await call(rejecting(new TypeError('Failed to fetch')))
  await call(rejecting(new Error('An unexpected response was received from the server.')))
  assert.equal(seen.length, 2)
})

test('onSkew cannot change or delay the result: throws and rejections are logged', async () => {
  const savedError = console.error
  const logged = []
  console.error = (...args) => logged.push(args)
  try {
    const r1 = await callSafeAction.with({
      onSkew: () => {
        throw new Error('banner broke')
      },
    })(resolving(undefined))
    assertSkew(r1, 'empty-result', false)
    let settle
    const slow = new Promise((resolve) => (settle = resolve))
    const r2 = await callSafeAction.with({ onSkew: () => slow })(resolving(undefined))
    assertSkew(r2, 'empty-result', false) // resolved although onSkew has not settled
    settle()
    const r3 = await callSafeAction.with({
      onSkew: async () => {
        throw new Error('async')
      },
    })(resolving(undefined))
    assertSkew(r3, 'empty-result', false)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(logged.length, 2)
    assert.match(String(logged[0][0]), /onSkew threw/)
    assert.match(String(logged[1][0]), /onSkew rejected/)
  } finally {
    console.error = savedError
  }
})

test('.with: validated when called, composable, inner options win', async () => {
  assert.throws(
    () => callSafeAction.with({ onskew() {} }),
    (e) => e instanceof TypeError && e.code === 'ERR_UNKNOWN_OPTION' && /buildId, onSkew/.test(e.message),
  )
  assert.throws(() => callSafeAction.with({ buildId: 1 }), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => callSafeAction.with({ onSkew: true }), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => callSafeAction.with('x'), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  const seen = []
  const outer = callSafeAction.with({ buildId: 'outer', onSkew: (r) => seen.push(['outer', r.skew.clientBuildId]) })
  const inner = outer.with({ buildId: 'inner' })
  await inner(resolving({ success: true, data: 1, buildId: 'server' }))
  assert.deepEqual(seen, [['outer', 'inner']])
  // `undefined` in an inner .with does not erase the outer value.
  await outer.with({ buildId: undefined })(resolving({ success: true, data: 1, buildId: 'server' }))
  assert.deepEqual(seen[1], ['outer', 'outer'])
})

test('a non-function action rejects with ERR_INVALID_ARG_TYPE', async () => {
  await assert.rejects(callSafeAction('save'), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(callSafeAction(), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
})

test('the client build ID comes from NEXT_PUBLIC_SKEW_GUARD_BUILD_ID, written literally for Next to inline', () => {
  const script = `
    const { callSafeAction } = require(${JSON.stringify(entry)})
    callSafeAction(async () => ({ success: true, data: 1, buildId: 'server-b' })).then((r) => console.log(r.skew ? r.skew.reason : 'success'))`
  const run = (env) => {
    const clean = { ...process.env, ...env }
    if (!('NEXT_PUBLIC_SKEW_GUARD_BUILD_ID' in env)) delete clean.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: clean })
    assert.equal(r.status, 0, r.stderr)
    return r.stdout.trim()
  }
  assert.equal(run({ NEXT_PUBLIC_SKEW_GUARD_BUILD_ID: 'client-b' }), 'build-mismatch')
  assert.equal(run({ NEXT_PUBLIC_SKEW_GUARD_BUILD_ID: 'server-b' }), 'success')
  assert.equal(run({ NEXT_PUBLIC_SKEW_GUARD_BUILD_ID: '' }), 'success')
  assert.equal(run({}), 'success')
  const src = require('node:fs').readFileSync(path.join(root, 'dist/action/client.js'), 'utf8')
  assert.match(src, /process\.env\.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID/)
})

test('isVersionSkew and isSafeActionResult guard exactly their shapes', () => {
  assert.equal(isVersionSkew({ error: 'VERSION_SKEW', requiresRefresh: true }), true)
  for (const v of [
    undefined,
    null,
    'VERSION_SKEW',
    { error: 'VERSION_SKEW' },
    { error: 'VERSION_SKEW', requiresRefresh: 'yes' },
    { error: 'ACTION_ERROR', requiresRefresh: true },
  ]) {
    assert.equal(isVersionSkew(v), false, JSON.stringify(v))
  }
  assert.equal(isSafeActionResult({ success: true, data: undefined, buildId: null }), true)
  assert.equal(isSafeActionResult({ success: false, error: 'E', buildId: 'b' }), true)
  assert.equal(isSafeActionResult(Object.assign(Object.create(null), { success: true, buildId: null })), true)
  assert.equal(isSafeActionResult({ success: true, data: 1 }), false)
})
