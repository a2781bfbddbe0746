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
  const error = new UnrecognizedActionError('Server Action "7fab" was not found on the server. \nRead more: https://nextjs.org/docs/messages/failed-to-find-server-action')
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
    new (class Result { constructor() { this.success = true; this.data = 1; this.buildId = null } })(),
  ]) {
    const r = await callSafeAction(resolving(value))
    assert.notEqual(r.success, true, JSON.stringify(value))
    assertSkew(r, value === undefined ? 'empty-result' : 'invalid-result', true)
  }
})

test('digest rule: a React production digest error is skew unless its digest is a Next.js control-flow digest', async () => {
  const prod15 = Object.assign(
    new Error('An error occurred in the Server Components render. The specific message is omitted in production builds to avoid leaking sensitive details. A digest property is included on this error instance which may provide additional details about the nature of the error.'),
    { digest: '1379131148' },
  )
  assertSkew(await callSafeAction(rejecting(prod15)), 'undecryptable-closure', false)
  const prod16 = Object.assign(new Error('Minified React error #441; visit https://react.dev/errors/441 for the full message'), { digest: '99' })
  assertSkew(await callSafeAction(rejecting(prod16)), 'undecryptable-closure', false)
  // Without a digest, the same text is not the Flight error shape.
  const noDigest = new Error(prod15.message)
  assert.equal((await callSafeAction(rejecting(noDigest))).error, 'UNKNOWN_ERROR')
  // A development-mode error (real message + digest) is not claimed as skew.
  const dev = Object.assign(new Error('The operation failed for an operation-specific reason'), { digest: '1' })
  assert.equal((await callSafeAction(rejecting(dev))).error, 'UNKNOWN_ERROR')
  // Control-flow digests arrive with the same production message and are rethrown.
  for (const digest of ['NEXT_REDIRECT;push;/a;307;', 'NEXT_HTTP_ERROR_FALLBACK;404', 'NEXT_NOT_FOUND']) {
    const e = Object.assign(new Error(prod16.message), { digest })
    await assert.rejects(callSafeAction(rejecting(e)), (x) => x === e, digest)
  }
})

test('15.4.x not-found Error and Next refusal bodies are skew; look-alikes are not', async () => {
  const nf = new Error('Server Action "0123456789abcdef0123456789abcdef0123456789" was not found on the server. \nRead more: https://nextjs.org/docs/messages/failed-to-find-server-action')
  assertSkew(await callSafeAction(rejecting(nf)), 'action-not-found', false)
  for (const body of ['Server action not found.', 'Server Action unavailable.', 'Invalid Server Action request.']) {
    assertSkew(await callSafeAction(rejecting(new Error(body))), 'action-not-found', false)
  }
  assertSkew(await callSafeAction(rejecting(new Error('An unexpected response was received from the server.'))), 'unexpected-response', false)
  for (const message of ['Server Action "xyz" was not found on the server', 'Failed: An unexpected response was received from the server.', 'server action unavailable']) {
    assert.equal((await callSafeAction(rejecting(new Error(message)))).error, 'UNKNOWN_ERROR', message)
  }
})

test('build IDs: a different server build is skew with actionRan: true; absent or empty is never a mismatch', async () => {
  const call = callSafeAction.with({ buildId: 'client-b' })
  const other = { success: true, data: { id: 7 }, buildId: 'server-b' }
  const r = await call(resolving(other))
  assertSkew(r, 'build-mismatch', true)
  assert.equal(r.buildId, 'server-b')
  assert.equal(r.clientBuildId, 'client-b')
  assert.deepEqual(r.result, other)
  // A failed action on another build is also reported as skew, with its result.
  const failed = await call(resolving({ success: false, error: 'ACTION_ERROR', buildId: 'server-b' }))
  assertSkew(failed, 'build-mismatch', true)
  assert.equal(failed.result.error, 'ACTION_ERROR')
  // Same build: the result.
  assert.deepEqual(await call(resolving({ success: true, data: 1, buildId: 'client-b' })), { success: true, data: 1, buildId: 'client-b', requiresRefresh: false })
  // Unknown on either side: the result, not skew.
  assert.equal((await call(resolving({ success: true, data: 1, buildId: null }))).success, true)
  assert.equal((await call(resolving({ success: true, data: 1, buildId: '' }))).success, true)
  assert.equal((await callSafeAction(resolving({ success: true, data: 1, buildId: 'server-b' }))).success, true)
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
  assert.deepEqual({ success: r.success, error: r.error, requiresRefresh: r.requiresRefresh }, { success: false, error: 'NETWORK_ERROR', requiresRefresh: false })
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
  assert.deepEqual(r, { success: false, error: 'UNKNOWN_ERROR', requiresRefresh: false, message: 'boom', cause: e })
  const s = await callSafeAction(rejecting('a string'))
  assert.deepEqual(s, { success: false, error: 'UNKNOWN_ERROR', requiresRefresh: false, cause: 'a string' })
  const n = await callSafeAction(rejecting(null))
  assert.equal(n.error, 'UNKNOWN_ERROR')
})

test('arguments are passed to the action', async () => {
  let seen
  await callSafeAction(async (...args) => {
    seen = args
    return { success: true, data: null, buildId: null }
  }, 1, 'two', { three: 3 })
  assert.deepEqual(seen, [1, 'two', { three: 3 }])
})

test('onSkew: called once with the skew result, before callSafeAction resolves; never for other outcomes', async () => {
  const seen = []
  const call = callSafeAction.with({ onSkew: (r) => seen.push(r) })
  const r = await call(resolving(undefined))
  assert.equal(seen.length, 1)
  assert.equal(seen[0], r)
  await call(resolving({ success: true, data: 1, buildId: null }))
  await call(resolving({ success: false, error: 'E', buildId: null }))
  await call(rejecting(new TypeError('Failed to fetch')))
  assert.equal(seen.length, 1)
})

test('onSkew cannot change or delay the result: throws and rejections are logged', async () => {
  const savedError = console.error
  const logged = []
  console.error = (...args) => logged.push(args)
  try {
    const r1 = await callSafeAction.with({ onSkew: () => { throw new Error('banner broke') } })(resolving(undefined))
    assertSkew(r1, 'empty-result', false)
    let settle
    const slow = new Promise((resolve) => (settle = resolve))
    const r2 = await callSafeAction.with({ onSkew: () => slow })(resolving(undefined))
    assertSkew(r2, 'empty-result', false) // resolved although onSkew has not settled
    settle()
    const r3 = await callSafeAction.with({ onSkew: async () => { throw new Error('async') } })(resolving(undefined))
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
  assert.throws(() => callSafeAction.with({ onskew() {} }), (e) => e instanceof TypeError && e.code === 'ERR_UNKNOWN_OPTION' && /buildId, onSkew/.test(e.message))
  assert.throws(() => callSafeAction.with({ buildId: 1 }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => callSafeAction.with({ onSkew: true }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => callSafeAction.with('x'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  const seen = []
  const outer = callSafeAction.with({ buildId: 'outer', onSkew: (r) => seen.push(['outer', r.clientBuildId]) })
  const inner = outer.with({ buildId: 'inner' })
  await inner(resolving({ success: true, data: 1, buildId: 'server' }))
  assert.deepEqual(seen, [['outer', 'inner']])
  // `undefined` in an inner .with does not erase the outer value.
  await outer.with({ buildId: undefined })(resolving({ success: true, data: 1, buildId: 'server' }))
  assert.deepEqual(seen[1], ['outer', 'outer'])
})

test('a non-function action rejects with ERR_INVALID_ARG_TYPE', async () => {
  await assert.rejects(callSafeAction('save'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(callSafeAction(), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
})

test('the client build ID comes from NEXT_PUBLIC_SKEW_GUARD_BUILD_ID, written literally for Next to inline', () => {
  const script = `
    const { callSafeAction } = require(${JSON.stringify(entry)})
    callSafeAction(async () => ({ success: true, data: 1, buildId: 'server-b' })).then((r) => console.log(r.reason || 'success'))`
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
  for (const v of [undefined, null, 'VERSION_SKEW', { error: 'VERSION_SKEW' }, { error: 'VERSION_SKEW', requiresRefresh: 'yes' }, { error: 'ACTION_ERROR', requiresRefresh: true }]) {
    assert.equal(isVersionSkew(v), false, JSON.stringify(v))
  }
  assert.equal(isSafeActionResult({ success: true, data: undefined, buildId: null }), true)
  assert.equal(isSafeActionResult({ success: false, error: 'E', buildId: 'b' }), true)
  assert.equal(isSafeActionResult(Object.assign(Object.create(null), { success: true, buildId: null })), true)
  assert.equal(isSafeActionResult({ success: true, data: 1 }), false)
})
