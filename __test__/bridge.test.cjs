// The browser-side channel between <SkewGuard /> (lib/react) and callSafeAction (lib/action):
// redirecting actions are not skew, and closure skew reaches the guard's reload policy.
const test = require('node:test')
const assert = require('node:assert/strict')

const { callSafeAction } = require('../dist/action/index.js')
const { installActionInterceptor } = require('../dist/react/index.js')
const { actionRedirects, CLOSURE_SKEW_EVENT } = require('../dist/shared/protocol.js')

test('a call whose response redirected resolves REDIRECTED, not skew; without a redirect, undefined stays skew', async () => {
  // A window whose fetch answers an action with Next.js's redirect header, as 14/15 do.
  const calls = []
  const win = {
    fetch: async (input, init) => {
      calls.push(init)
      return new Response('', { status: 303, headers: { 'x-action-redirect': '/done;push' } })
    },
  }
  globalThis.window = win
  const uninstall = installActionInterceptor({ buildId: 'b1' })
  try {
    const before = actionRedirects()
    // The "action": Next.js's client fetches, sees the redirect and resolves undefined.
    const redirecting = async () => {
      await window.fetch('/', { method: 'POST', headers: { 'Next-Action': 'a'.repeat(42) } })
      return undefined
    }
    const result = await callSafeAction(redirecting)
    assert.equal(actionRedirects(), before + 1)
    assert.deepEqual({ ...result, cause: undefined }, { success: false, error: 'REDIRECTED', requiresRefresh: false, cause: undefined })
    assert.equal(calls[0].headers['x-skew-guard-build'], 'b1')
    const silent = await callSafeAction(async () => undefined)
    assert.equal(silent.error, 'VERSION_SKEW')
    assert.equal(silent.reason, 'empty-result')
  } finally {
    uninstall()
    delete globalThis.window
  }
})

test('an undecryptable closure is announced to the page for the client guard', async () => {
  const seen = []
  const target = new EventTarget()
  globalThis.window = target
  target.addEventListener(CLOSURE_SKEW_EVENT, (e) => seen.push(e.type))
  try {
    const digestError = Object.assign(
      new Error('An error occurred in the Server Components render. The specific message is omitted in production builds to avoid leaking sensitive details. A digest property is included on this error instance which may provide additional details about the nature of the error.'),
      { digest: '1379131148' },
    )
    const result = await callSafeAction(async () => {
      throw digestError
    })
    assert.equal(result.reason, 'undecryptable-closure')
    assert.deepEqual(seen, [CLOSURE_SKEW_EVENT])
    // Other skew is not announced (the guard's own response check sees it).
    await callSafeAction(async () => undefined)
    assert.deepEqual(seen, [CLOSURE_SKEW_EVENT])
  } finally {
    delete globalThis.window
  }
})
