// callSafeAction against Next.js's own client: every skew signal is produced
// by Next's real `serverActionReducer` (dist/client/components/router-reducer/
// reducers/server-action-reducer.js) and React's real production Flight client,
// fed the HTTP responses recorded from `next start` (docs/nextjs-internals.md §4).
// So the errors and resolved values are exactly what a browser tab sees.
//
// Next.js 16 comes from the repo's devDependencies (always runs); 14 and 15
// (scripts/next-versions.json) from the `npm run vectors` install (NSG_NEXT_VECTORS_DIR, default
// <tmpdir>/nsg-next-vectors), skipped with a note when absent.
//
// Each scenario runs in a child process (scripts/next-harness/action-reducer.cjs) because the
// reducer needs browser globals and module aliases.
'use strict'

const path = require('node:path')
const os = require('node:os')
const fs = require('node:fs')

const root = path.join(__dirname, '..')
const ACTION_ID = `7f${'ab'.repeat(20)}`

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')

const vectorsDir = process.env.NSG_NEXT_VECTORS_DIR || path.join(os.tmpdir(), 'nsg-next-vectors')
const pins = require('../scripts/next-versions.json')
const installs = [
  ...pins.vectors
    .filter((key) => key !== '16')
    .map((key) => ({
      label: `next ${pins.matrix[key].next}`,
      dir: path.join(vectorsDir, `next-${pins.matrix[key].next}/node_modules/next`),
    })),
  { label: `next ${pins.matrix['16'].next} (devDependency)`, dir: path.join(root, 'node_modules/next') },
]

/** The Flight body of an action response: row 0 per major (§3.1 (b) as observed), row 1 the action result. */
function flight(major, row1, buildId = 'page-build') {
  const row0 =
    major === 14
      ? `0:["$@1",[${JSON.stringify(buildId)},null]]`
      : major === 15
        ? `0:{"a":"$@1","f":"","b":${JSON.stringify(buildId)}}`
        : `0:{"a":"$@1","q":"","i":false,"b":${JSON.stringify(buildId)}}`
  return `${row0}\n1:${row1}\n`
}
const rsc = (major, row1, status = 200) => ({ status, headers: { 'content-type': 'text/x-component' }, body: flight(major, row1) })
const safeResult = (value) => JSON.stringify(value)

function scenarios(major) {
  return [
    // A healthy call: the safe action's result, same build.
    { name: 'ok', clientBuildId: 'b1', response: rsc(major, safeResult({ success: true, data: 42, buildId: 'b1' })) },
    // The action's own failure, reported by the wrapper (not skew).
    {
      name: 'failed',
      clientBuildId: 'b1',
      response: rsc(major, safeResult({ success: false, error: 'NAME_TAKEN', message: 'Taken.', buildId: 'b1' })),
    },
    // (a) unknown action, Next.js 15.4.1+ server: 404 + header (16.4: 409).
    {
      name: 'unknown-action-404',
      response: {
        status: major === 16 ? 409 : 404,
        headers: { 'content-type': 'text/plain', 'x-nextjs-action-not-found': '1' },
        body: major === 16 ? 'Server Action unavailable.' : 'Server action not found.',
      },
    },
    // (a) unknown action, Next.js 14 / 15.0–15.4.0 server: the page's HTML, 200.
    {
      name: 'unknown-action-html',
      response: {
        status: 200,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: '<!DOCTYPE html><html><body>not found</body></html>',
      },
    },
    // A proxy refusing the action without Next's header (`new Response(text, {status: 409})`).
    { name: 'proxy-409', response: { status: 409, headers: {}, body: 'Server Action unavailable.' } },
    // The same with the exact `text/plain` type: Next turns the body into the message.
    {
      name: 'proxy-409-text-plain',
      response: { status: 409, headers: { 'content-type': 'text/plain' }, body: 'Server Action unavailable.' },
    },
    // (b) known action, closure undecryptable: 500 Flight error row with a digest. Next.js answers
    // an oversized body or a rejected origin the same way.
    { name: 'undecryptable-closure', response: rsc(major, 'E{"digest":"1379131148"}', 500) },
    // The same, after the guard checked the closure and marked it sealed with a key the server lacks.
    {
      name: 'undecryptable-closure-marked',
      response: {
        ...rsc(major, 'E{"digest":"1379131148"}', 500),
        headers: { 'content-type': 'text/x-component', 'x-skew-guard': 'unknown-key' },
      },
    },
    // A gateway's error page instead of Next.js's answer.
    {
      name: 'gateway-502',
      response: { status: 502, headers: { 'content-type': 'text/html' }, body: '<html><body>502 Bad Gateway</body></html>' },
    },
    // The new build answered: result from another build.
    {
      name: 'build-mismatch',
      clientBuildId: 'old-build',
      response: rsc(major, safeResult({ success: true, data: 'saved', buildId: 'new-build' })),
    },
    // A plain value where a safe-action result belongs.
    { name: 'invalid-result', clientBuildId: 'b1', response: rsc(major, safeResult({ saved: true })) },
    // notFound() inside the safe action: rethrown by the wrapper, digest per major.
    {
      name: 'not-found',
      response: rsc(major, `E${JSON.stringify({ digest: major === 14 ? 'NEXT_NOT_FOUND' : 'NEXT_HTTP_ERROR_FALLBACK;404' })}`, 200),
    },
    // redirect() to another site inside the safe action.
    {
      name: 'redirect-external',
      response: { status: 303, headers: { 'content-type': 'text/plain', 'x-action-redirect': 'https://example.com/done;push' }, body: '' },
    },
  ]
}

const runs = new Map()
function run(install) {
  if (!runs.has(install.dir)) {
    const major = Number(require(path.join(install.dir, 'package.json')).version.split('.')[0])
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/next-harness/action-reducer.cjs')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NSG_ACTION_ID: ACTION_ID, NSG_NEXT_DIR: install.dir, NSG_SCENARIOS: JSON.stringify(scenarios(major)) },
      timeout: 120_000,
    })
    assert.equal(r.status, 0, `harness failed for ${install.label}:\n${r.stderr}`)
    runs.set(install.dir, JSON.parse(r.stdout))
  }
  return runs.get(install.dir)
}

const SKEW_KEYS = ['success', 'error', 'requiresRefresh', 'actionRan', 'reason']
const pick = (outcome, keys) => {
  assert.equal(outcome.threw, false, `rejected instead of resolving (${JSON.stringify(outcome.error)})`)
  return Object.fromEntries(keys.map((k) => [k, outcome.result[k]]))
}
function assertTransport(outcome, status, label) {
  assert.deepEqual(
    pick(outcome, ['success', 'error', 'requiresRefresh', 'actionRan', 'status']),
    { success: false, error: 'TRANSPORT_ERROR', requiresRefresh: false, actionRan: 'unknown', status },
    label,
  )
}
function assertSkew(outcome, reason, actionRan, label) {
  assert.equal(outcome.threw, false, `${label}: rejected instead of resolving (${JSON.stringify(outcome.error)})`)
  const picked = Object.fromEntries(SKEW_KEYS.map((k) => [k, outcome.result[k]]))
  assert.deepEqual(picked, { success: false, error: 'VERSION_SKEW', requiresRefresh: true, actionRan, reason }, label)
  assert.notEqual(outcome.result.success, true, `${label}: success`)
}

for (const install of installs) {
  const present = fs.existsSync(path.join(install.dir, 'package.json'))
  const skip = present ? false : `${install.label} not installed (run \`npm run vectors\` or set NSG_NEXT_VECTORS_DIR)`

  test(`${install.label}: a healthy call resolves the safe action's result`, { skip }, () => {
    const { results } = run(install)
    assert.deepEqual(results.ok.raw, { resolved: true, value: { success: true, data: 42, buildId: 'b1' } })
    assert.deepEqual(results.ok.outcome.result, { success: true, data: 42, buildId: 'b1', requiresRefresh: false })
    assert.deepEqual(results.failed.outcome.result, {
      success: false,
      error: 'NAME_TAKEN',
      message: 'Taken.',
      buildId: 'b1',
      requiresRefresh: false,
    })
  })

  test(`${install.label}: unknown action ID (server 404/409 + x-nextjs-action-not-found)`, { skip }, () => {
    const { major, results } = run(install)
    const { raw, outcome } = results['unknown-action-404']
    if (major === 14) {
      // 14 ignores the header: the call resolves undefined (§3.3).
      assert.deepEqual(raw, { resolved: true, value: '<undefined>' })
      assertSkew(outcome, 'empty-result', false, 'resolved undefined')
    } else {
      // 15.5+/16: Next's own UnrecognizedActionError class.
      assert.equal(raw.resolved, false)
      assert.equal(raw.error.name, 'UnrecognizedActionError')
      assert.equal(raw.error.isUnrecognized, true)
      assertSkew(outcome, 'unrecognized-action', false, 'UnrecognizedActionError')
    }
  })

  test(`${install.label}: unknown action ID answered with the page HTML (14, 15.0–15.4.0 servers)`, { skip }, () => {
    const { major, results } = run(install)
    const { raw, outcome, guarded } = results['unknown-action-html']
    if (major === 14) {
      assert.deepEqual(raw, { resolved: true, value: '<undefined>' })
      assertSkew(outcome, 'empty-result', false, 'resolved undefined')
      assertSkew(guarded, 'empty-result', false, 'resolved undefined, the guard saw the HTML answer')
    } else {
      assert.equal(raw.error.message, 'An unexpected response was received from the server.')
      // Alone, the wording is what any gateway error gets; the guard saw Next.js's HTML page.
      assertTransport(outcome, undefined, 'no client guard')
      assertSkew(guarded, 'unexpected-response', false, 'the guard saw the HTML answer')
    }
  })

  test(`${install.label}: a proxy's 409 without Next's header is a transport error; with Next's exact refusal text it is skew`, {
    skip,
  }, () => {
    const { major, results } = run(install)
    const { raw, outcome, guarded } = results['proxy-409']
    if (major === 14) {
      assert.deepEqual(raw, { resolved: true, value: '<undefined>' })
      // Documented limit: without the client guard, 14's undefined cannot be told apart.
      assertSkew(outcome, 'empty-result', false, 'resolved undefined')
      assertTransport(guarded, 409, 'the guard saw the proxy answer')
    } else {
      assert.equal(raw.error.name, 'Error')
      assert.equal(raw.error.message, 'An unexpected response was received from the server.')
      assertTransport(outcome, undefined, 'no client guard')
      assertTransport(guarded, 409, 'the guard saw the proxy answer')
    }
    const plain = results['proxy-409-text-plain']
    if (major === 14) {
      assertSkew(plain.outcome, 'empty-result', false, 'resolved undefined')
    } else {
      // Exact text/plain: Next.js makes the body the message.
      assert.equal(plain.raw.error.message, 'Server Action unavailable.')
      assertSkew(plain.outcome, 'action-not-found', false, 'refusal body')
      assertSkew(plain.guarded, 'action-not-found', false, 'refusal body')
    }
  })

  test(`${install.label}: a gateway's 502 page is a transport error, never skew`, { skip }, () => {
    const { major, results } = run(install)
    const { raw, outcome, guarded } = results['gateway-502']
    if (major === 14) {
      assert.deepEqual(raw, { resolved: true, value: '<undefined>' })
      assertSkew(outcome, 'empty-result', false, 'documented limit without the client guard')
    } else {
      assertTransport(outcome, undefined, 'no client guard')
    }
    assertTransport(guarded, 502, 'the guard saw the 502')
  })

  test(`${install.label}: a 500 with a digest is a server error; skew only when the guard marked the closure`, { skip }, () => {
    const { major, results } = run(install)
    const { raw, outcome, guarded } = results['undecryptable-closure']
    assert.equal(raw.resolved, false)
    assert.equal(raw.error.digest, '1379131148')
    assert.match(raw.error.message, major === 16 ? /^Minified React error #441/ : /^An error occurred in the Server Components render/)
    for (const o of [outcome, guarded]) {
      assert.deepEqual(pick(o, ['success', 'error', 'requiresRefresh', 'actionRan']), {
        success: false,
        error: 'SERVER_ERROR',
        requiresRefresh: false,
        actionRan: 'unknown',
      })
    }
    const marked = results['undecryptable-closure-marked']
    assertSkew(marked.guarded, 'undecryptable-closure', false, 'marked digest error')
    assert.equal(marked.outcome.result.error, 'SERVER_ERROR', 'the mark needs the client guard to be seen')
  })

  test(`${install.label}: result from another build: the data, with requiresRefresh and the builds`, { skip }, () => {
    const { results } = run(install)
    for (const o of [results['build-mismatch'].outcome, results['build-mismatch'].guarded]) {
      assert.equal(o.threw, false)
      assert.deepEqual(o.result, {
        success: true,
        data: 'saved',
        buildId: 'new-build',
        requiresRefresh: true,
        skew: { reason: 'build-mismatch', clientBuildId: 'old-build', buildId: 'new-build' },
      })
    }
  })

  test(`${install.label}: a value that is not a safe-action result`, { skip }, () => {
    const { results } = run(install)
    assertSkew(results['invalid-result'].outcome, 'invalid-result', true, 'invalid result')
  })

  test(`${install.label}: notFound() and redirect() from the action keep Next's behaviour`, { skip }, () => {
    const { major, results } = run(install)
    const nf = results['not-found']
    assert.equal(nf.outcome.threw, true, 'notFound must be rethrown, not mapped')
    assert.equal(nf.outcome.error.digest, major === 14 ? 'NEXT_NOT_FOUND' : 'NEXT_HTTP_ERROR_FALLBACK;404')
    const rd = results['redirect-external']
    if (major === 16) {
      // 16 rejects with Next's redirect error, which must pass through unchanged.
      assert.equal(rd.outcome.threw, true)
      assert.match(rd.outcome.error.digest, /^NEXT_REDIRECT;push;https:\/\/example\.com\/done;/)
    } else {
      // 14 and 15 resolve `undefined` for this redirect while they navigate away: without the
      // client guard that reads as an empty result (documented); the guard saw the redirect.
      assert.deepEqual(rd.raw, { resolved: true, value: '<undefined>' })
      assertSkew(rd.outcome, 'empty-result', false, 'redirect on 14/15')
      assert.deepEqual(pick(rd.guarded, ['success', 'error', 'actionRan']), { success: false, error: 'REDIRECTED', actionRan: true })
    }
  })
}

test('the not-found message of 15.4.x is the one 15.5+ wraps in UnrecognizedActionError', () => {
  // 15.4.x throws a plain Error with the same template (E715); build it from
  // Next's 16 source text rather than from memory.
  const src = fs.readFileSync(
    path.join(root, 'node_modules/next/dist/client/components/router-reducer/reducers/server-action-reducer.js'),
    'utf8',
  )
  const template =
    /new _unrecognizedactionerror\.UnrecognizedActionError\(`(Server Action "\$\{actionId\}" was not found on the server\.[^`]*)`\)/.exec(
      src,
    )
  assert.ok(template, 'template not found in Next 16 source')
  const message = template[1].replace('${actionId}', ACTION_ID).replace('\\n', '\n')
  const { callSafeAction } = require(path.join(root, 'dist/action/index.js'))
  return callSafeAction(async () => {
    throw new Error(message)
  }).then((r) => {
    assert.equal(r.success, false)
    assert.equal(r.error, 'VERSION_SKEW')
    assert.equal(r.requiresRefresh, true)
    assert.equal(r.reason, 'action-not-found')
    assert.equal(r.actionRan, false)
  })
})
