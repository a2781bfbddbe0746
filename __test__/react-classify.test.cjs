// Client guard, pure logic: recognising Server Action requests, adding the
// page's build ID, and classifying responses (real Response/Headers objects).
const test = require('node:test')
const assert = require('node:assert/strict')
const { classifyActionResponse, getClientBuildId } = require('../dist/react/index.js')
const { readActionId, withClientBuildHeader } = require('../dist/react/classify.js')
const { compareBuildIds } = require('../dist/react/build-id.js')

const ID = '7f3a9c1e2b4d6f8a0c1e3b5d7f9a1c3e5b7d9f1a3c'
const ctx = { actionId: ID, clientBuildId: 'build-a', now: 1234 }

function response(status, headers, body = 'x') {
  return new Response(status === 204 ? null : body, { status, headers })
}

test('readActionId finds Next-Action in plain objects of either case, Headers, tuples and Requests', () => {
  assert.equal(readActionId('', { headers: { Accept: 'text/x-component', 'Next-Action': ID } }), ID) // Next 14
  assert.equal(readActionId('/p', { headers: { accept: 'text/x-component', 'next-action': ID } }), ID) // 15/16
  assert.equal(readActionId('/p', { headers: new Headers({ 'NEXT-ACTION': ID }) }), ID)
  assert.equal(readActionId('/p', { headers: [['Next-Action', ID]] }), ID)
  assert.equal(readActionId(new Request('http://x/p', { headers: { 'next-action': ID } }), undefined), ID)
  // init.headers replaces the Request's headers in fetch, so it wins here too.
  assert.equal(readActionId(new Request('http://x/p', { headers: { 'next-action': ID } }), { headers: {} }), null)
  assert.equal(readActionId('/api/health', { headers: { accept: 'application/json' } }), null)
  assert.equal(readActionId('/api/health', undefined), null)
  assert.equal(readActionId('/p', { headers: { 'next-action': '' } }), null)
})

test("withClientBuildHeader adds x-skew-guard-build to a copy, in the caller's header form", () => {
  const plain = { Accept: 'text/x-component', 'Next-Action': ID }
  const init = { method: 'POST', headers: plain, body: '[]' }
  const out = withClientBuildHeader('', init, 'build-a')
  assert.deepEqual(out.headers, { ...plain, 'x-skew-guard-build': 'build-a' })
  assert.equal(out.method, 'POST')
  assert.equal(out.body, '[]')
  assert.deepEqual(Object.keys(plain), ['Accept', 'Next-Action'], 'caller object untouched')

  const h = new Headers({ 'next-action': ID })
  const viaHeaders = withClientBuildHeader('/p', { headers: h }, 'build-a')
  assert.equal(viaHeaders.headers.get('x-skew-guard-build'), 'build-a')
  assert.equal(viaHeaders.headers.get('next-action'), ID)
  assert.equal(h.get('x-skew-guard-build'), null, 'caller Headers untouched')

  const tuples = withClientBuildHeader('/p', { headers: [['next-action', ID]] }, 'b')
  assert.deepEqual(tuples.headers, [
    ['next-action', ID],
    ['x-skew-guard-build', 'b'],
  ])

  const req = new Request('http://x/p', { method: 'POST', headers: { 'next-action': ID, accept: 'text/x-component' } })
  const fromReq = withClientBuildHeader(req, undefined, 'build-a')
  assert.equal(fromReq.headers.get('x-skew-guard-build'), 'build-a')
  assert.equal(fromReq.headers.get('accept'), 'text/x-component', "the Request's own headers are kept")
})

test('withClientBuildHeader leaves an existing header and unsendable build IDs alone', () => {
  const init = { headers: { 'next-action': ID, 'X-Skew-Guard-Build': 'mine' } }
  assert.equal(withClientBuildHeader('/p', init, 'build-a'), init)
  const plain = { headers: { 'next-action': ID } }
  for (const bad of ['bäd', 'a\nb', ' lead', 'x'.repeat(1025), '']) {
    assert.equal(withClientBuildHeader('/p', plain, bad), plain, JSON.stringify(bad))
  }
  assert.equal(withClientBuildHeader('/p', plain, 'with inner space').headers['x-skew-guard-build'], 'with inner space')
})

test('guard verdicts: refused kinds did not run, reload ran', () => {
  for (const verdict of ['unknown-action', 'stale-build', 'key-rotated']) {
    const ev = classifyActionResponse(
      response(409, { 'x-skew-guard': verdict, 'x-nextjs-action-not-found': '1', 'x-build-id': 'build-b' }),
      ctx,
    )
    assert.deepEqual(ev, {
      type: 'VERSION_SKEW',
      kind: verdict,
      source: 'action',
      actionId: ID,
      clientBuildId: 'build-a',
      serverBuildId: 'build-b',
      actionRan: false,
      at: 1234,
    })
  }
  const ran = classifyActionResponse(response(200, { 'x-skew-guard': 'reload', 'content-type': 'text/x-component' }), ctx)
  assert.equal(ran.kind, 'build-mismatch')
  assert.equal(ran.actionRan, true)
  assert.equal(ran.serverBuildId, null)
})

test('Next.js not-found answers of each major are unknown-action, did not run', () => {
  // 15.5: 404 text/plain + header; 16.4: 409; 16.4 malformed: 400.
  for (const status of [404, 409, 400]) {
    const ev = classifyActionResponse(response(status, { 'x-nextjs-action-not-found': '1', 'content-type': 'text/plain' }), ctx)
    assert.equal(ev.kind, 'unknown-action', String(status))
    assert.equal(ev.actionRan, false)
  }
  // 14 and 15.0-15.4.0: a 200 HTML page, no header.
  const html = classifyActionResponse(response(200, { 'content-type': 'text/html; charset=utf-8' }), ctx)
  assert.equal(html.kind, 'unknown-action')
  assert.equal(html.actionRan, false)
  assert.equal(classifyActionResponse(response(404, { 'content-type': 'TEXT/HTML' }), ctx).kind, 'unknown-action')
})

test('ordinary and unrelated responses are not skew', () => {
  const ok = { 'content-type': 'text/x-component', 'x-build-id': 'build-a' }
  assert.equal(classifyActionResponse(response(200, ok), ctx), null)
  assert.equal(classifyActionResponse(response(500, { 'content-type': 'text/x-component' }), ctx), null)
  // A proxy's HTML error page and a followed login redirect are not skew.
  assert.equal(classifyActionResponse(response(502, { 'content-type': 'text/html' }), ctx), null)
  const redirected = { status: 200, redirected: true, headers: new Headers({ 'content-type': 'text/html' }) }
  assert.equal(classifyActionResponse(redirected, ctx), null)
  // Unknown guard verdicts (a newer server) are ignored; not-found needs exactly "1".
  assert.equal(classifyActionResponse(response(200, { 'x-skew-guard': 'something-new' }), ctx), null)
  assert.equal(classifyActionResponse(response(404, { 'x-nextjs-action-not-found': '0' }), ctx), null)
})

test('x-build-id: a different build is a mismatch (may have run); absent or empty is unknown', () => {
  const ev = classifyActionResponse(response(200, { 'content-type': 'text/x-component', 'x-build-id': 'build-b' }), ctx)
  assert.equal(ev.kind, 'build-mismatch')
  assert.equal(ev.actionRan, true)
  assert.equal(ev.serverBuildId, 'build-b')
  assert.equal(classifyActionResponse(response(200, { 'x-build-id': '' }), ctx), null)
  assert.equal(classifyActionResponse(response(200, { 'x-build-id': 'build-b' }), { ...ctx, clientBuildId: null }), null)
  assert.equal(classifyActionResponse(response(200, { 'x-build-id': 'build-b' }), { ...ctx, clientBuildId: '' }), null)
})

test('classification never consumes the body', async () => {
  const res = response(409, { 'x-skew-guard': 'unknown-action' }, 'Server Action unavailable.')
  assert.equal(classifyActionResponse(res, ctx).kind, 'unknown-action')
  assert.equal(res.bodyUsed, false)
  assert.equal(await res.text(), 'Server Action unavailable.')
})

test('compareBuildIds: same semantics as the core (absent or empty is unknown)', () => {
  const core = require('../dist/core/index.js')
  const cases = [
    ['a', 'a'],
    ['a', 'b'],
    ['a', 'ab'],
    ['', ''],
    ['a', ''],
    [null, 'a'],
    [undefined, undefined],
    ['b', null],
  ]
  for (const [c, s] of cases) assert.equal(compareBuildIds(c, s), core.compareBuildIds(c, s), `${c} vs ${s}`)
  assert.equal(compareBuildIds('a', 'b'), 'different')
})

test('getClientBuildId: explicit value, else NEXT_PUBLIC_SKEW_GUARD_BUILD_ID, else null', () => {
  const saved = process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID
  try {
    delete process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID
    assert.equal(getClientBuildId(), null)
    assert.equal(getClientBuildId('given'), 'given')
    process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID = 'from-env'
    assert.equal(getClientBuildId(), 'from-env')
    assert.equal(getClientBuildId(null), 'from-env')
    assert.equal(getClientBuildId(''), 'from-env')
    assert.equal(getClientBuildId('given'), 'given')
    process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID = ''
    assert.equal(getClientBuildId(), null)
  } finally {
    if (saved === undefined) delete process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID
    else process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID = saved
  }
})

test('the env variable is written literally, so Next.js can inline it', () => {
  const fs = require('node:fs')
  const path = require('node:path')
  const compiled = fs.readFileSync(path.join(__dirname, '..', 'dist', 'react', 'build-id.js'), 'utf8')
  assert.match(compiled, /process\.env\.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID/)
})

test('an HTML answer beats a reload stamp: a guard without the manifest (Edge) passed an unknown ID on', () => {
  const { classifyActionResponse } = require('../dist/react/index.js')
  const response = new Response('<!doctype html><p>not found</p>', {
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8', 'x-skew-guard': 'reload', 'x-build-id': 'v2' },
  })
  const event = classifyActionResponse(response, { actionId: 'a'.repeat(40), clientBuildId: 'v1', now: 1 })
  assert.equal(event.kind, 'unknown-action')
  assert.equal(event.actionRan, false)
})
