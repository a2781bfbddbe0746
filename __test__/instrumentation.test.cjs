// instrumentation: register() startup checks and onRequestError
// classification, against a temp build directory shaped like Next.js 16's.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { generateKey, keyCheckValue } = require('..')

// As under `next start`; under `next dev` register() leaves the production build's files alone.
process.env.NODE_ENV = 'production'

function buildDir({ key, manifest = true }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-instr-'))
  fs.mkdirSync(path.join(dir, 'server'))
  fs.writeFileSync(path.join(dir, 'BUILD_ID'), 'build-7')
  if (manifest) {
    fs.writeFileSync(
      path.join(dir, 'server', 'server-reference-manifest.json'),
      JSON.stringify({ node: { ['40' + 'a'.repeat(40)]: { workers: {} } }, edge: {}, encryptionKey: key }),
    )
  }
  return dir
}

/** Runs register() in a fresh module instance and captures console output. */
async function registerWith(env, { capture = true, options } = {}) {
  for (const k of Object.keys(require.cache)) if (k.includes(`${path.sep}dist${path.sep}`) && !k.includes('core')) delete require.cache[k]
  delete globalThis[Symbol.for('next-skew-guard.state')]
  const saved = { ...process.env }
  Object.assign(process.env, env)
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]
  const logs = []
  const originals = { error: console.error, warn: console.warn, info: console.info }
  if (capture) for (const level of Object.keys(originals)) console[level] = (...args) => logs.push(`${level}: ${args.join(' ')}`)
  try {
    const mod = require('../dist/instrumentation/index.js')
    const report = await mod.register(options)
    return { mod, report, logs }
  } finally {
    process.env = saved
    if (capture) Object.assign(console, originals)
  }
}

test('register() reports a healthy setup', async () => {
  const key = generateKey()
  const { report, mod } = await registerWith({
    NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: key,
    __SKEW_GUARD_DIST_DIR: buildDir({ key }),
    NEXT_RUNTIME: 'nodejs',
  })
  assert.deepEqual(report, {
    runtime: 'nodejs',
    nextMajor: 16,
    buildId: 'build-7',
    runtimeKeyCheckValue: keyCheckValue(key),
    buildKeyCheckValue: keyCheckValue(key),
    actions: 1,
    problems: [],
  })
  assert.equal(await mod.register(), report, 'later calls return the first report')
})

test('register() says loudly when the runtime key is not the build key, with check values only', async () => {
  const buildKey = generateKey()
  const runtimeKey = generateKey()
  const { report, logs } = await registerWith({
    NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: runtimeKey,
    __SKEW_GUARD_DIST_DIR: buildDir({ key: buildKey }),
    NEXT_RUNTIME: 'nodejs',
  })
  assert.deepEqual(report.problems, ['ERR_KEY_MISMATCH'])
  const line = logs.find((l) => l.includes('KEY MISMATCH'))
  assert.ok(line, logs.join('\n'))
  assert.match(line, new RegExp(`${keyCheckValue(runtimeKey)}.*${keyCheckValue(buildKey)}`))
  assert.ok(!line.includes(runtimeKey) && !line.includes(buildKey), 'keys never appear')
  assert.match(line, /^error: /)
})

test('register() reports an invalid runtime key and a missing manifest without throwing', async () => {
  const { report, logs, mod } = await registerWith({
    NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: 'ab'.repeat(32),
    __SKEW_GUARD_DIST_DIR: buildDir({ manifest: false }),
    NEXT_RUNTIME: 'nodejs',
  })
  assert.deepEqual(report.problems, ['ERR_KEY_HEX', 'ERR_MANIFEST'])
  assert.equal(report.actions, null)
  assert.ok(logs.some((l) => /looks like hex/.test(l)))
  assert.ok(logs.some((l) => /server-reference-manifest\.json is missing/.test(l)))
  assert.deepEqual(mod.getSkewStats().configErrors, { ERR_KEY_HEX: 1, ERR_MANIFEST: 1 })
})

test('register() is a no-op on the Edge runtime', async () => {
  const { report } = await registerWith({ NEXT_RUNTIME: 'edge' })
  assert.equal(report, undefined)
})

test('register() leaves the console alone by default (other tools hook it too)', async () => {
  const key = generateKey()
  const before = { warn: console.warn, error: console.error }
  await registerWith(
    { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: key, __SKEW_GUARD_DIST_DIR: buildDir({ key }), NEXT_RUNTIME: 'nodejs' },
    { capture: false },
  )
  assert.equal(console.warn, before.warn)
  assert.equal(console.error, before.error)
  const { mod } = await registerWith({ NEXT_RUNTIME: 'nodejs' })
  await assert.rejects(mod.register({ countNextlogs: true }), { code: 'ERR_UNKNOWN_OPTION', message: /Valid options: countNextLogs/ })
  await assert.rejects(mod.register({ countNextLogs: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(mod.register('yes'), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('register({ countNextLogs: true }) counts Next.js\'s own "Failed to find Server Action" log lines as skew', async () => {
  const key = generateKey()
  const before = { warn: console.warn, error: console.error }
  // Without capturing: the patch register() installs on console must stay in place.
  const { mod } = await registerWith(
    { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: key, __SKEW_GUARD_DIST_DIR: buildDir({ key }), NEXT_RUNTIME: 'nodejs' },
    { capture: false, options: { countNextLogs: true } },
  )
  test.after(() => Object.assign(console, before))
  const events = []
  const off = mod.onSkew((e) => events.push(e))
  // 15.x prints an Error through console.warn; 14/16 print text through console.error.
  console.warn(new Error('Failed to find Server Action "40ff00". This request might be from an older or newer deployment.'))
  console.error('Error: Failed to find Server Action "7f00aa". This request might be from an older or newer deployment.')
  off()
  assert.deepEqual(
    events.map((e) => [e.kind, e.actionId, e.source]),
    [
      ['unknown-action', '40ff00', 'next-log'],
      ['unknown-action', '7f00aa', 'next-log'],
    ],
  )
  assert.equal(mod.getSkewStats().byKind['unknown-action'], 2)
})

test('onRequestError turns closure decrypt failures into key-mismatch events, and nothing else', async () => {
  const key = generateKey()
  const dir = buildDir({ key })
  const { mod } = await registerWith({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: key, __SKEW_GUARD_DIST_DIR: dir, NEXT_RUNTIME: 'nodejs' })
  process.env.__SKEW_GUARD_DIST_DIR = dir
  const operationError = new DOMException('The operation failed for an operation-specific reason', 'OperationError')
  const request = { path: '/', method: 'POST', headers: { 'next-action': '60' + 'b'.repeat(40), 'x-skew-guard-build': 'old' } }
  mod.onRequestError(operationError, request, { routeType: 'action', routerKind: 'App Router', routePath: '/' })
  mod.onRequestError(new Error('Invalid Server Action payload: failed to decrypt.'), request, { routeType: 'action' })
  mod.onRequestError(operationError, request, { routeType: 'render' })
  mod.onRequestError(new Error('boom'), request, { routeType: 'action' })
  mod.onRequestError(null, null, null)
  const stats = mod.getSkewStats()
  assert.equal(stats.byKind['key-mismatch'], 2)
  assert.equal(stats.total, 2)
  assert.deepEqual(
    {
      kind: stats.last.kind,
      actionId: stats.last.actionId,
      clientBuildId: stats.last.clientBuildId,
      serverBuildId: stats.last.serverBuildId,
      type: stats.last.type,
    },
    { kind: 'key-mismatch', actionId: '60' + 'b'.repeat(40), clientBuildId: 'old', serverBuildId: 'build-7', type: 'VERSION_SKEW' },
  )
})
