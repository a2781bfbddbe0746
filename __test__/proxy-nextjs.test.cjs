// The guard's fast paths on a real `next build` + `next start`, per major: 14.2 (Edge middleware),
// 15.5 (Node middleware) and 16 (proxy.ts), with the matcher recipe of docs/performance.md.
//
// - The matcher: actions and the health poll reach the guard; pages do not (no x-build-id on them).
// - Reading the body in place: the guard reads Next.js's copy of the body for the proxy (no clone;
//   the probe below reports `request.bodyUsed` after the guard), and the action still gets its
//   whole body: a closure decrypts its bound arguments from it, a no-JS form whose action field
//   comes after a 300 KB file part reaches the action with its note.
// - Verdicts are the documented ones: previous-key closure 409, never-held key marked on Next.js's
//   500, unknown ID 409, module actions and unknown IDs never read.
//
// Work copies: os.tmpdir()/nsg-e2e/next-<version>/proxy-read. NSG_SKIP_E2E=1 skips the suite;
// NSG_PROXY_VERSIONS=16,14 runs a subset.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const SKIP = process.env.NSG_SKIP_E2E === '1' ? 'NSG_SKIP_E2E=1' : false
const VERSIONS = (process.env.NSG_PROXY_VERSIONS || '16,15.5,14').split(',').map((v) => v.trim())
const root = path.join(__dirname, '..')

/** The recipe's `config` object, as docs/performance.md writes it. */
function recipeConfig() {
  const doc = fs.readFileSync(path.join(root, 'docs', 'performance.md'), 'utf8')
  const start = doc.indexOf('export const config = {')
  let depth = 0
  let i = doc.indexOf('{', start)
  const from = i
  for (; i < doc.length; i++) {
    if (doc[i] === '{') depth++
    else if (doc[i] === '}' && --depth === 0) break
  }
  return doc.slice(from, i + 1)
}

/** The app's proxy (16) or middleware (14, 15.5): the guard, plus a probe header for this test. */
function probeSource(version) {
  const name = version === '16' ? 'proxy' : 'middleware'
  let config = recipeConfig()
  if (version === '15.5') config = config.replace('{', "{\n  runtime: 'nodejs',")
  return `import { skewGuard } from 'next-skew-guard/proxy'
import type { NextFetchEvent, NextRequest } from 'next/server'

const guard = skewGuard()

export async function ${name}(request: NextRequest, event: NextFetchEvent) {
  const response = await guard(request, event)
  // For the test only: whether the guard consumed the proxy's copy of the body in place.
  response.headers.set('x-test-body-read', String(request.bodyUsed))
  return response
}

export const config = ${config}
`
}

/** IDs the page renders: the closure's (its Flight reference row) and the no-JS form's action. */
function idsIn(html, flight) {
  const closure = /\{"id":"([0-9a-f]{40,42})","bound":"\$@/.exec(flight)?.[1]
  // The no-JS note form (the page has other forms before it).
  const form = /name="\$ACTION_ID_([0-9a-f]{40,42})"/.exec(html.slice(html.indexOf('id="note-form"')))?.[1]
  assert.ok(closure && form, 'the page renders the closure and the no-JS form')
  return { closure, form }
}

for (const version of VERSIONS) {
  test(`Next.js ${version}: the recipe's matcher, the body read in place, the action's body intact`, {
    skip: SKIP,
    timeout: 20 * 60_000,
  }, async (t) => {
    const { prepareApp, build, MATRIX } = await import('../scripts/e2e/setup.mjs')
    const { startServer } = await import('../scripts/e2e/server.mjs')
    const { callAction, callClosure, flightOf, closurePayloadOf } = await import('../scripts/e2e/http.mjs')
    const { setProgressPrefix } = await import('../scripts/e2e/log.mjs')
    const { generateKey, Keyring } = require('..')
    setProgressPrefix(`proxy ${version}`)

    const app = version === '16' ? await prepareApp({ major: 16, name: 'proxy-read' }) : await prepareApp({ version, name: 'proxy-read' })
    assert.ok(version === '16' || MATRIX[version])
    const file = version === '16' ? 'proxy.ts' : 'middleware.ts'
    fs.writeFileSync(path.join(app.dir, file), probeSource(version))
    const keys = { build: generateKey(), runtime: generateKey() }
    const built = await build(app, {
      name: `proxy-read-${version}`,
      distDir: '.next-proxy-read',
      buildId: `proxy-read-${version}-${Date.now()}`,
      key: keys.build,
    })
    const server = await startServer({ app, build: built, key: keys.runtime, previousKeys: [keys.build], label: `proxy-read ${version}` })
    t.after(() => server.stop())
    const url = server.url

    // Pages never reach the proxy; the health poll does.
    const page = await fetch(`${url}/`, { headers: { accept: 'text/html', 'sec-fetch-dest': 'document' } })
    assert.equal(page.status, 200)
    assert.equal(page.headers.get('x-build-id'), null, 'the proxy did not run on the page')
    const html = await page.text()
    const ids = idsIn(html, flightOf(html))
    const note = /<code id="page-note">([^<]*)<\/code>/.exec(html)[1]
    const health = await fetch(`${url}/api/health`)
    assert.equal(health.status, 200)
    assert.equal((await health.json()).buildId, built.buildId)

    // A closure call: the guard read the proxy's copy in place; the action still decrypted the bound
    // arguments it found in its own copy of the body.
    const payload = closurePayloadOf(html, ids.closure)
    const ran = await callClosure(url, ids.closure, payload)
    assert.equal(ran.status, 200, ran.body.slice(0, 300))
    assert.match(ran.body, new RegExp(`the server sealed \\\\?"${note}`))
    assert.equal(ran.headers.get('x-test-body-read'), 'true', 'the guard read the body in place')
    assert.equal(ran.headers.get('x-build-id'), built.buildId)

    // The verdicts that need the body.
    const { rows } = new Keyring({ current: keys.runtime }).openSync(payload, ids.closure)
    const rotated = await callClosure(url, ids.closure, new Keyring({ current: keys.build }).sealSync(ids.closure, rows))
    assert.equal(rotated.status, 409)
    assert.equal(rotated.headers.get('x-skew-guard'), 'key-rotated')
    const foreign = await callClosure(url, ids.closure, new Keyring({ current: generateKey() }).sealSync(ids.closure, rows))
    assert.equal(foreign.status, 500)
    assert.equal(foreign.headers.get('x-skew-guard'), 'unknown-key')

    // A no-JS form post whose action field comes after a 300 KB file part: the guard found the
    // action in its copy, and the action got the whole form (it redirects with the note).
    const form = new FormData()
    form.append('attachment', new Blob([new Uint8Array(300 * 1024).fill(0x61)]), 'big.txt')
    form.append(`$ACTION_ID_${ids.form}`, '')
    form.append('note', 'after the file')
    const posted = await fetch(`${url}/`, {
      method: 'POST',
      headers: { accept: 'text/html,application/xhtml+xml' },
      body: form,
      redirect: 'manual',
    })
    assert.equal(posted.status, 303, await posted.text().then((b) => b.slice(0, 300)))
    assert.match(posted.headers.get('location') ?? posted.headers.get('x-action-redirect') ?? '', /saved=after%20the%20file/)
    assert.equal(posted.headers.get('x-test-body-read'), 'true')
    const unknownForm = new FormData()
    unknownForm.append('attachment', new Blob([new Uint8Array(300 * 1024)]), 'big.bin')
    unknownForm.append(`$ACTION_ID_40${'e'.repeat(40)}`, '')
    const refused = await fetch(`${url}/`, { method: 'POST', headers: { accept: 'text/html' }, body: unknownForm, redirect: 'manual' })
    assert.equal(refused.status, 409)
    assert.equal(refused.headers.get('x-skew-guard'), 'unknown-action')

    // Headers alone decide these: the body stays unread.
    const unknown = await callAction(url, `40${'f'.repeat(40)}`, ['x'])
    assert.equal(unknown.status, 409)
    assert.equal(unknown.headers.get('x-skew-guard'), 'unknown-action')
    assert.equal(unknown.headers.get('x-test-body-read'), 'false')
    assert.doesNotMatch(server.output(), /ERR_GUARD|the guard failed/)
  })
}
