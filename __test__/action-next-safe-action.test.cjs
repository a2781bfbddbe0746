// The next-safe-action v8 adapter: skewGuardMiddleware, isSkewError,
// mapSafeActionResult. Runs against a small replica of next-safe-action 8's
// middleware chain (always), and against the real package when it can be
// resolved (from the repo, NEXT_SAFE_ACTION_DIR, or <tmpdir>/nsa-check).
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const os = require('node:os')

const root = path.join(__dirname, '..')
const a = require(path.join(root, 'dist/action/index.js'))
const { skewGuardMiddleware, isSkewError, mapSafeActionResult, isVersionSkew, BUILD_ID_STAMP } = a
const { noteActionResponse } = require(path.join(root, 'dist/shared/protocol.js'))
const { UnrecognizedActionError } = require(path.join(root, 'node_modules/next/dist/client/components/unrecognized-action-error.js'))

/**
 * The v8 chain as packages/next-safe-action/src/action-builder.ts runs it:
 * one `middlewareResult` object shared by every layer, `next()` resolves to
 * that same object, `ctx` deep-merged per layer, the middleware's own return
 * value ignored, and only data / serverError / validationErrors copied into
 * what the client receives (`{}` when none is set).
 */
function replicaClient(middlewares = []) {
  return {
    use: (mw) => replicaClient([...middlewares, mw]),
    action: (serverCode) => async (input) => {
      const result = { success: false }
      let ctx = {}
      const run = async (i) => {
        const mw = middlewares[i]
        if (mw) {
          await mw({
            clientInput: input,
            bindArgsClientInputs: [],
            ctx,
            metadata: undefined,
            next: async (opts) => {
              ctx = { ...ctx, ...opts?.ctx }
              await run(i + 1)
              return result
            },
          })
        } else {
          try {
            const data = await serverCode({ parsedInput: input, ctx })
            result.success = true
            result.data = data
          } catch {
            result.serverError = 'Something went wrong while executing the operation.'
          }
        }
      }
      await run(0)
      if (result.validationErrors !== undefined) return { validationErrors: result.validationErrors }
      if (result.serverError !== undefined) return { serverError: result.serverError }
      if (result.success && result.data !== undefined) return { data: result.data }
      return {}
    },
  }
}

function withBuildId(value, fn) {
  const saved = process.env.SKEW_GUARD_BUILD_ID
  if (value === undefined) delete process.env.SKEW_GUARD_BUILD_ID
  else process.env.SKEW_GUARD_BUILD_ID = value
  return Promise.resolve()
    .then(fn)
    .finally(() => {
      if (saved === undefined) delete process.env.SKEW_GUARD_BUILD_ID
      else process.env.SKEW_GUARD_BUILD_ID = saved
    })
}

async function loadRealClient() {
  const candidates = [root, process.env.NEXT_SAFE_ACTION_DIR, path.join(os.tmpdir(), 'nsa-check')].filter(Boolean)
  for (const dir of candidates) {
    try {
      const resolved = require.resolve('next-safe-action', { paths: [dir] })
      const mod = await import(require('node:url').pathToFileURL(resolved).href)
      return mod
    } catch {
      // not there
    }
  }
  return null
}

const clients = [
  { label: 'replica of next-safe-action 8', make: async () => ({ createSafeActionClient: () => replicaClient() }) },
  { label: 'next-safe-action (real)', make: loadRealClient },
]

for (const { label, make } of clients) {
  test(`${label}: ctx.skewGuard.buildId reaches server code; results unchanged without stampResult`, async (t) => {
    const nsa = await make()
    if (!nsa) return t.skip('next-safe-action not resolvable (npm i next-safe-action in NEXT_SAFE_ACTION_DIR)')
    await withBuildId('build-A', async () => {
      const client = nsa.createSafeActionClient().use(skewGuardMiddleware())
      const act = client.action(async ({ ctx }) => ({ seen: ctx.skewGuard.buildId }))
      assert.deepEqual(await act(), { data: { seen: 'build-A' } })
      const fixed = nsa.createSafeActionClient().use(skewGuardMiddleware({ buildId: 'explicit' }))
      assert.deepEqual(await fixed.action(async ({ ctx }) => ctx.skewGuard)(), { data: { buildId: 'explicit' } })
      assert.deepEqual(await client.action(async () => undefined)(), {})
    })
  })

  test(`${label}: stampResult stamps successes only, on a copy`, async (t) => {
    const nsa = await make()
    if (!nsa) return t.skip('next-safe-action not resolvable')
    await withBuildId('build-A', async () => {
      const client = nsa.createSafeActionClient().use(skewGuardMiddleware({ stampResult: true }))
      const shared = { n: 1 }
      assert.deepEqual(await client.action(async () => shared)(), { data: { n: 1, [BUILD_ID_STAMP]: 'build-A' } })
      assert.deepEqual(shared, { n: 1 }, 'the returned object itself must not be mutated')
      assert.deepEqual(await client.action(async () => undefined)(), { data: { [BUILD_ID_STAMP]: 'build-A' } })
      assert.deepEqual(await client.action(async () => [1, 2])(), { data: [1, 2] })
      assert.deepEqual(await client.action(async () => 'text')(), { data: 'text' })
      const failed = await client.action(async () => {
        throw new Error('db down')
      })()
      assert.deepEqual(Object.keys(failed), ['serverError'])
    })
    // Unknown build: nothing to stamp.
    await withBuildId(undefined, async () => {
      const cwd = process.cwd()
      process.chdir(os.tmpdir()) // no .next/BUILD_ID there
      try {
        require(path.join(root, 'dist/action/server.js')).__resetBuildIdCache()
        const client = nsa.createSafeActionClient().use(skewGuardMiddleware({ stampResult: true }))
        assert.deepEqual(await client.action(async () => ({ n: 1 }))(), { data: { n: 1 } })
      } finally {
        process.chdir(cwd)
      }
    })
  })

  test(`${label}: mapSafeActionResult round trip (same build, other build, void, skewed empty result)`, async (t) => {
    const nsa = await make()
    if (!nsa) return t.skip('next-safe-action not resolvable')
    await withBuildId('build-A', async () => {
      const client = nsa.createSafeActionClient().use(skewGuardMiddleware({ stampResult: true }))
      const act = client.action(async () => ({ saved: true }))
      const voidAct = client.action(async () => undefined)
      assert.deepEqual(mapSafeActionResult(await act(), { buildId: 'build-A', expectData: true }), { data: { saved: true } })
      assert.deepEqual(mapSafeActionResult(await voidAct(), { buildId: 'build-A', expectData: true }), {})
      // It ran on another build: the result itself, plus the refresh hint.
      const other = mapSafeActionResult(await act(), { buildId: 'build-OLD' })
      assert.equal(isVersionSkew(other), false)
      assert.deepEqual(other, {
        data: { saved: true },
        requiresRefresh: true,
        skew: { reason: 'build-mismatch', clientBuildId: 'build-OLD', buildId: 'build-A' },
      })
      // What the hooks store for 14 / 15.0–15.4.0's resolved undefined: `{}`.
      const empty = mapSafeActionResult({}, { buildId: 'build-A', expectData: true })
      assert.equal(isVersionSkew(empty), true)
      assert.equal(empty.reason, 'empty-result')
      assert.equal(empty.actionRan, false)
      assert.notEqual(empty.success, true)
    })
  })
}

test('mapSafeActionResult: undefined is skew; {} only with expectData; errors pass through', () => {
  const u = mapSafeActionResult(undefined)
  assert.equal(isVersionSkew(u), true)
  assert.equal(u.reason, 'empty-result')
  assert.equal(u.actionRan, false)
  assert.equal(isVersionSkew(mapSafeActionResult(null)), true)
  const empty = {}
  assert.equal(mapSafeActionResult(empty), empty)
  const se = { serverError: 'nope' }
  assert.equal(mapSafeActionResult(se, { expectData: true }), se)
  const ve = { validationErrors: { name: { _errors: ['x'] } } }
  assert.equal(mapSafeActionResult(ve, { expectData: true }), ve)
  const plain = { data: { a: 1 } }
  assert.equal(mapSafeActionResult(plain, { buildId: 'x', expectData: true }), plain)
  // A stamp with an unknown side is never a mismatch.
  assert.deepEqual(mapSafeActionResult({ data: { a: 1, [BUILD_ID_STAMP]: 'b' } }), { data: { a: 1 } })
  assert.deepEqual(mapSafeActionResult({ data: { a: 1, [BUILD_ID_STAMP]: '' } }, { buildId: 'x' }), { data: { a: 1 } })
  const odd = mapSafeActionResult('text')
  assert.equal(odd.reason, 'invalid-result')
})

test('mapSafeActionResult: onSkew runs for calls that did not run; options are validated', () => {
  const seen = []
  mapSafeActionResult(undefined, { onSkew: (r) => seen.push(r.reason) })
  mapSafeActionResult({ data: 1 }, { onSkew: (r) => seen.push(r.reason) })
  // Ran on another build: the result says so (requiresRefresh), onSkew is for calls that did not run.
  mapSafeActionResult({ data: { [BUILD_ID_STAMP]: 'new' } }, { buildId: 'old', onSkew: (r) => seen.push(r.reason) })
  assert.deepEqual(seen, ['empty-result'])
  assert.throws(
    () => mapSafeActionResult({}, { expectdata: true }),
    (e) => e.code === 'ERR_UNKNOWN_OPTION' && /buildId, onSkew, expectData/.test(e.message),
  )
  assert.throws(() => mapSafeActionResult({}, { expectData: 1 }), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
})

test("isSkewError: next-safe-action's thrownError for each skew signal, and not for others", () => {
  assert.equal(isSkewError(new UnrecognizedActionError('Server Action "ab" was not found on the server. ')), true)
  assert.equal(isSkewError(new Error('Server Action "0123abcd" was not found on the server. \nRead more: x')), true)
  assert.equal(
    isSkewError(new Error('Server Action unavailable. This page is from another deployment; the action was not run. Reload the page.')),
    true,
  )
  // A gateway's answer is not skew.
  assert.equal(isSkewError(new Error('An unexpected response was received from the server.')), false)
  const digest = Object.assign(new Error('Minified React error #441; visit https://react.dev/errors/441'), { digest: '1379131148' })
  // A digest error alone is an ordinary server failure (an oversized body, a rejected origin)…
  assert.equal(isSkewError(digest), false)
  // …skew only when the client guard just saw the server mark a response as skew.
  noteActionResponse('skew', 500)
  assert.equal(isSkewError(digest), true)
  // throwServerError: true makes user errors digest errors: the caller opts out.
  assert.equal(isSkewError(digest, { digestErrors: false }), false)
  assert.equal(isSkewError(new UnrecognizedActionError('x'), { digestErrors: false }), true)
  // Navigation errors are next-safe-action's navigationError, never skew.
  assert.equal(isSkewError(Object.assign(new Error(digest.message), { digest: 'NEXT_REDIRECT;push;/a;307;' })), false)
  for (const other of [new Error('boom'), new TypeError('Failed to fetch'), null, undefined, 'x']) assert.equal(isSkewError(other), false)
  assert.throws(() => isSkewError(new Error('x'), { digest: false }), { code: 'ERR_UNKNOWN_OPTION' })
})

test('skewGuardMiddleware validates its options', () => {
  assert.throws(
    () => skewGuardMiddleware({ stamp: true }),
    (e) => e instanceof TypeError && e.code === 'ERR_UNKNOWN_OPTION' && /buildId, stampResult/.test(e.message),
  )
  assert.throws(() => skewGuardMiddleware({ stampResult: 'yes' }), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => skewGuardMiddleware({ buildId: 5 }), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.equal(typeof skewGuardMiddleware(), 'function')
})
