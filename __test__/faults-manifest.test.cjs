// Faults of the action manifest (`<distDir>/server/server-reference-manifest.json`), with the
// behaviour the guard defines for each:
//
// - missing, truncated or not a manifest at startup: register() reports ERR_MANIFEST once (warn,
//   with the reason), the proxy lets every action through (the unknown-ID check is off; the guard
//   never blocks traffic for its own failure) and reads the file again at most every 30 s, so a
//   build that lands later is picked up;
// - replaced while the server runs (a build into the live dist dir): the guard keeps the manifest
//   it read first. Next.js does the same (its loadManifest caches per path, tested below), so the
//   guard and Next.js keep agreeing on which action IDs exist until the restart;
// - another build's manifest at startup: Next.js loads that same file, so the IDs the guard checks
//   are the ones Next.js can run; on 15/16 the build key in it differs from the runtime key, which
//   register() reports as KEY MISMATCH (covered in instrumentation.test.cjs and the e2e suite).
//
// A temp dist dir stands in for `.next`; each case loads fresh module instances.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

process.env.NODE_ENV = 'production'
// The skew lines the refusals below produce are tested elsewhere; these tests count setup warnings.
process.env.SKEW_GUARD_LOG = 'off'
delete process.env.SKEW_GUARD_BUILD_ID

const { generateKey } = require('..')

const KNOWN = '40' + 'a'.repeat(40)
const OTHER = '40' + 'c'.repeat(40)
const KEY = generateKey()

function manifestText(ids, key = KEY) {
  const node = Object.fromEntries(
    ids.map((id) => [
      id,
      { workers: { 'app/page': { moduleId: 1, async: false } }, filename: 'app/actions.ts', exportedName: `a${id.slice(-4)}` },
    ]),
  )
  return JSON.stringify({ node, edge: {}, encryptionKey: key })
}

/** A dist dir with BUILD_ID and, unless `manifest` is null, the manifest text given. */
function distDir(manifest) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-faults-manifest-'))
  fs.mkdirSync(path.join(dir, 'server'))
  fs.writeFileSync(path.join(dir, 'BUILD_ID'), 'build-1\n')
  if (manifest !== null) fs.writeFileSync(path.join(dir, 'server', 'server-reference-manifest.json'), manifest)
  return dir
}

const manifestFile = (dir) => path.join(dir, 'server', 'server-reference-manifest.json')

/** Fresh guard and event state over `dir`, console.warn captured into `logs`. */
function freshGuard(t, dir) {
  for (const k of Object.keys(require.cache)) {
    if (/[\\/]dist[\\/](proxy|server|instrumentation)[\\/]/.test(k)) delete require.cache[k]
  }
  delete globalThis[Symbol.for('next-skew-guard.state')]
  const savedDir = process.env.__SKEW_GUARD_DIST_DIR
  process.env.__SKEW_GUARD_DIST_DIR = dir
  const logs = []
  const warn = console.warn
  console.warn = (...args) => logs.push(args.join(' '))
  t.after(() => {
    console.warn = warn
    if (savedDir === undefined) delete process.env.__SKEW_GUARD_DIST_DIR
    else process.env.__SKEW_GUARD_DIST_DIR = savedDir
  })
  const guard = require('../dist/proxy/index.js').skewGuard({ keyring: false })
  const events = require('../dist/server/events.js')
  return { guard, logs, events }
}

const call = (id) =>
  new Request('http://127.0.0.1/', { method: 'POST', headers: { 'next-action': id, accept: 'text/x-component' }, body: '["x"]' })

/** 'refused' for the guard's 409, 'passed' when it let the request through to Next.js. */
async function verdict(guard, id) {
  const response = await guard(call(id))
  if (response.status === 409 && response.headers.get('x-skew-guard') === 'unknown-action') return 'refused'
  if (response.headers.get('x-middleware-next') === '1') return 'passed'
  throw new Error(`unexpected answer ${response.status}`)
}

test('readActionManifest: missing, empty, truncated and foreign files each throw ERR_MANIFEST with the reason', () => {
  const { readActionManifest } = require('../dist/server/build-info.js')
  const cases = [
    [null, /is missing \(ENOENT\): run `next build` first/],
    ['', /is not valid JSON \(truncated or corrupt build output\); rebuild the app/],
    [manifestText([KNOWN]).slice(0, 40), /is not valid JSON/],
    ['[]', /has no "node" section; it is not a Next\.js 14-16 server actions manifest/],
    ['{"pages":{"/":["main.js"]}}', /has no "node" section/],
    ['null', /has no "node" section/],
  ]
  for (const [text, message] of cases) {
    const dir = distDir(text)
    assert.throws(
      () => readActionManifest(dir),
      (e) => e.code === 'ERR_MANIFEST' && message.test(e.message),
      String(text),
    )
  }
  assert.deepEqual([...readActionManifest(distDir(manifestText([KNOWN]))).actions.keys()], [KNOWN])
})

for (const [name, text] of [
  ['missing', null],
  ['truncated', manifestText([KNOWN]).slice(0, 50)],
  ['not a manifest', '{"version":3,"pages":{}}'],
]) {
  test(`${name} at startup: every action passes, one warning, and a build that lands later is picked up`, async (t) => {
    const dir = distDir(text)
    const { guard, logs, events } = freshGuard(t, dir)
    const realNow = Date.now
    let now = realNow()
    Date.now = () => now
    t.after(() => {
      Date.now = realNow
    })

    assert.equal(await verdict(guard, KNOWN), 'passed')
    assert.equal(await verdict(guard, OTHER), 'passed', 'fail open: no manifest, no unknown-ID refusals')
    assert.equal(logs.length, 1, logs.join('\n'))
    assert.match(logs[0], /\[next-skew-guard\] .*server-reference-manifest\.json .*The unknown-action check is off meanwhile\./)
    assert.deepEqual(events.getSkewStats().configErrors, { ERR_MANIFEST: 1 })

    // The build lands; within the retry interval the guard does not touch the disk again.
    fs.writeFileSync(manifestFile(dir), manifestText([KNOWN]))
    now += 29_000
    assert.equal(await verdict(guard, OTHER), 'passed')
    now += 2_000
    assert.equal(await verdict(guard, OTHER), 'refused', 'read again after 30 s: the check is on')
    assert.equal(await verdict(guard, KNOWN), 'passed')
    assert.equal(logs.length, 1, 'still one log line')
  })
}

test('replaced while running: the guard keeps the manifest it read first, as Next.js does', async (t) => {
  const dir = distDir(manifestText([KNOWN]))
  const { guard, logs } = freshGuard(t, dir)
  assert.equal(await verdict(guard, KNOWN), 'passed')
  assert.equal(await verdict(guard, OTHER), 'refused')

  // Another build written into the live dist dir: OTHER replaces KNOWN on disk.
  fs.writeFileSync(manifestFile(dir), manifestText([OTHER], generateKey()))
  assert.equal(await verdict(guard, KNOWN), 'passed', 'the running server still has KNOWN')
  assert.equal(await verdict(guard, OTHER), 'refused', 'and still does not have OTHER')
  // Even a truncated or deleted file changes nothing for the running server.
  fs.writeFileSync(manifestFile(dir), '{"node":')
  assert.equal(await verdict(guard, KNOWN), 'passed')
  fs.rmSync(manifestFile(dir))
  assert.equal(await verdict(guard, OTHER), 'refused')
  assert.deepEqual(logs, [])

  // Next.js's own manifest loader (the one its app routes use) caches per path in the same way.
  const { loadManifest } = require('next/dist/server/load-manifest.external.js')
  const file = manifestFile(distDir(manifestText([KNOWN])))
  const first = loadManifest(file)
  fs.writeFileSync(file, manifestText([OTHER]))
  assert.equal(loadManifest(file), first)
  assert.deepEqual(Object.keys(loadManifest(file).node), [KNOWN])
})

test("another build's manifest at startup: the guard checks the IDs Next.js loads, register() reports the key mismatch", async (t) => {
  const runtimeKey = generateKey()
  const dir = distDir(manifestText([OTHER], generateKey()))
  const { guard } = freshGuard(t, dir)
  assert.equal(await verdict(guard, OTHER), 'passed', 'the file is what Next.js runs from')
  assert.equal(await verdict(guard, KNOWN), 'refused')

  const saved = process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY
  process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY = runtimeKey
  const errors = []
  const error = console.error
  const info = console.info
  console.error = (...args) => errors.push(args.join(' '))
  console.info = () => {}
  t.after(() => {
    console.error = error
    console.info = info
    if (saved === undefined) delete process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY
    else process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY = saved
  })
  const { register } = require('../dist/instrumentation/index.js')
  const report = await register()
  assert.deepEqual(report.problems, ['ERR_KEY_MISMATCH'])
  assert.equal(report.actions, 1)
  assert.equal(errors.filter((l) => l.includes('KEY MISMATCH')).length, 1, errors.join('\n'))
})
