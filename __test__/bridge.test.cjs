// The browser-side channel between <SkewGuard /> (lib/react) and callSafeAction (lib/action):
// what the guard's fetch wrapper saw in an action's response decides what callSafeAction makes of
// an answer that is ambiguous on its own (undefined on 14/15, a digest error, "unexpected response").
const test = require('node:test')
const assert = require('node:assert/strict')

const { callSafeAction } = require('../dist/action/index.js')
const { installActionInterceptor } = require('../dist/react/index.js')
const { actionResponseMark, actionResponsesSince } = require('../dist/shared/protocol.js')

/** A window whose fetch answers every action with `response()`; the guard's wrapper installed on it. */
async function withWindow(response, fn) {
  const calls = []
  globalThis.window = {
    fetch: async (_input, init) => {
      calls.push(init)
      return response()
    },
  }
  const uninstall = installActionInterceptor({ buildId: 'b1' })
  try {
    return await fn(calls)
  } finally {
    uninstall()
    delete globalThis.window
  }
}

/** What Next.js's client does with the answer: fetch, then settle as `settle(response)` says. */
const actionThat = (settle) => async () => settle(await window.fetch('/', { method: 'POST', headers: { 'Next-Action': 'a'.repeat(42) } }))

test('a call whose response redirected resolves REDIRECTED (it ran), not skew; without a redirect, undefined stays skew', () =>
  withWindow(
    () => new Response('', { status: 303, headers: { 'x-action-redirect': '/done;push' } }),
    async (calls) => {
      const mark = actionResponseMark()
      const result = await callSafeAction(actionThat(() => undefined))
      assert.deepEqual(
        actionResponsesSince(mark).map((n) => n.kind),
        ['redirect'],
      )
      assert.deepEqual(
        { ...result, cause: undefined },
        { success: false, error: 'REDIRECTED', requiresRefresh: false, actionRan: true, cause: undefined },
      )
      assert.equal(calls[0].headers['x-skew-guard-build'], 'b1')
      const silent = await callSafeAction(async () => undefined)
      assert.equal(silent.error, 'VERSION_SKEW')
      assert.equal(silent.reason, 'empty-result')
    },
  ))

test("a 500 the guard marked unknown-key makes Next.js's digest error skew; an unmarked 500 is a server error", async () => {
  const digestError = Object.assign(new Error('Minified React error #441; visit https://react.dev/errors/441'), { digest: '1379131148' })
  const rejectDigest = () => {
    throw digestError
  }
  const marked = await withWindow(
    () => new Response('0:{}\n', { status: 500, headers: { 'content-type': 'text/x-component', 'x-skew-guard': 'unknown-key' } }),
    () => callSafeAction(actionThat(rejectDigest)),
  )
  assert.deepEqual([marked.error, marked.reason, marked.actionRan], ['VERSION_SKEW', 'undecryptable-closure', false])
  const unmarked = await withWindow(
    () => new Response('0:{}\n', { status: 500, headers: { 'content-type': 'text/x-component' } }),
    () => callSafeAction(actionThat(rejectDigest)),
  )
  assert.deepEqual([unmarked.error, unmarked.requiresRefresh, unmarked.actionRan], ['SERVER_ERROR', false, 'unknown'])
  // A mark on a successful answer means nothing (the guard's key and Next.js's agreed after all).
  const ok = await withWindow(
    () => new Response('0:{}\n', { status: 200, headers: { 'content-type': 'text/x-component', 'x-skew-guard': 'unknown-key' } }),
    () => callSafeAction(actionThat(() => ({ success: true, data: 1, buildId: 'b1' }))),
  )
  assert.equal(ok.success, true)
})

test('a gateway page (413, 502, 504) is a transport error with its status; never skew', async () => {
  for (const status of [413, 502, 504]) {
    const r = await withWindow(
      () => new Response('<html>gateway</html>', { status, headers: { 'content-type': 'text/html' } }),
      // 15/16's wording; 14 would resolve undefined, which the note turns into the same result.
      () => callSafeAction(actionThat(() => Promise.reject(new Error('An unexpected response was received from the server.')))),
    )
    assert.deepEqual([r.error, r.status, r.actionRan, r.requiresRefresh], ['TRANSPORT_ERROR', status, 'unknown', false])
    const on14 = await withWindow(
      () => new Response('<html>gateway</html>', { status, headers: { 'content-type': 'text/html' } }),
      () => callSafeAction(actionThat(() => undefined)),
    )
    assert.deepEqual([on14.error, on14.status], ['TRANSPORT_ERROR', status])
  }
})
