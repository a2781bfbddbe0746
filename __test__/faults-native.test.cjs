// Faults of the native binary, beyond packaging.test.cjs (which covers a binary path that does not
// exist and NEXT_SKEW_GUARD_BACKEND=js). Defined behaviour: whenever the Rust core cannot be used,
// Node falls back to the JS backend (node:crypto) with exactly one NEXT_SKEW_GUARD_NATIVE_UNAVAILABLE
// warning, and everything built on the core — the proxy guard's verdicts, register() — works the same.
// Each case runs in a child process, as a server would load the package.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const binary = fs.readdirSync(path.join(root, 'native')).find((f) => f.endsWith('.node'))
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-faults-native-'))

// The guard over a temp build, on whatever backend loads: a closure sealed with the previous key
// must get 409 key-rotated, one with the current key must pass, and register() must see the key.
const SCRIPT = `
  const fs = require('node:fs'), os = require('node:os'), path = require('node:path')
  process.env.NODE_ENV = 'production'
  const core = require('next-skew-guard'); require('next-skew-guard')
  const ID = '60' + 'b'.repeat(40)
  const current = core.generateKey(), previous = core.generateKey()
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-faults-native-dist-'))
  fs.mkdirSync(path.join(dist, 'server'))
  fs.writeFileSync(path.join(dist, 'BUILD_ID'), 'b1')
  fs.writeFileSync(path.join(dist, 'server', 'server-reference-manifest.json'),
    JSON.stringify({ node: { [ID]: { workers: {}, exportedName: '$$RSC_SERVER_ACTION_0' } }, edge: {}, encryptionKey: current }))
  Object.assign(process.env, { __SKEW_GUARD_DIST_DIR: dist, NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: current, SKEW_GUARD_PREVIOUS_KEYS: previous, NEXT_RUNTIME: 'nodejs' })
  const guard = require('./dist/proxy/index.js').skewGuard()
  const call = async (key) => {
    const form = new FormData()
    form.set('1', JSON.stringify(new core.Keyring({ current: key }).sealSync(ID, '0:["x"]\\n')))
    form.set('0', '["$@1"]')
    const r = new Response(form), body = await r.arrayBuffer()
    const res = await guard(new Request('http://127.0.0.1/', { method: 'POST', body,
      headers: { 'next-action': ID, 'content-type': r.headers.get('content-type'), 'content-length': String(body.byteLength) } }))
    return res.headers.get('x-skew-guard') ?? (res.headers.get('x-middleware-next') ? 'passed' : String(res.status))
  }
  ;(async () => {
    console.info = () => {}
    const report = await require('./dist/instrumentation/index.js').register()
    console.log(JSON.stringify({ backend: core.backend, current: await call(current), previous: await call(previous),
      kcv: report.runtimeKeyCheckValue === core.keyCheckValue(current), problems: report.problems }))
  })()`

function run(env = {}, preload = []) {
  const args = [...preload.flatMap((p) => ['--require', p]), '-e', SCRIPT]
  return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } })
}

function assertFallback(r, what) {
  assert.equal(r.status, 0, `${what}: exit ${r.status} ${r.signal ?? ''}\n${r.stderr}`)
  assert.deepEqual(JSON.parse(r.stdout), { backend: 'js', current: 'passed', previous: 'key-rotated', kcv: true, problems: [] }, what)
  assert.equal((r.stderr.match(/NEXT_SKEW_GUARD_NATIVE_UNAVAILABLE/g) ?? []).length, 1, r.stderr)
  assert.match(r.stderr, /using the JS backend \(node:crypto\)/)
}

test('control: with the binary the same script runs on the native backend, without a warning', () => {
  const r = run()
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), { backend: 'native', current: 'passed', previous: 'key-rotated', kcv: true, problems: [] })
  assert.doesNotMatch(r.stderr, /NATIVE_UNAVAILABLE/)
})

test('a file that is not a shared library (garbage, or empty) in place of the binary: JS fallback, one warning', () => {
  const garbage = path.join(work, 'garbage.node')
  fs.writeFileSync(garbage, Buffer.from('this is not an ELF file, just bytes a broken download left behind\n'.repeat(64)))
  assertFallback(run({ NAPI_RS_NATIVE_LIBRARY_PATH: garbage }), 'garbage')
  const empty = path.join(work, 'empty.node')
  fs.writeFileSync(empty, '')
  assertFallback(run({ NAPI_RS_NATIVE_LIBRARY_PATH: empty }), 'empty')
})

test('the native package itself not installed (optional dependencies skipped): JS fallback, one warning', () => {
  const hide = path.join(work, 'hide-native.cjs')
  fs.writeFileSync(
    hide,
    `const Module = require('node:module')
     const resolve = Module._resolveFilename
     Module._resolveFilename = function (request, ...rest) {
       if (request === 'next-skew-guard-native' || request.startsWith('next-skew-guard-native/')) {
         throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' })
       }
       return resolve.call(this, request, ...rest)
     }`,
  )
  assertFallback(run({}, [hide]), 'not installed')
})

test("a binary that loads but is not this version's (functions missing): JS fallback, one warning", () => {
  const stale = path.join(work, 'stale.js')
  fs.writeFileSync(stale, 'module.exports = { generateKey() { return "" } }')
  assertFallback(run({ NAPI_RS_NATIVE_LIBRARY_PATH: stale }), 'stale')
})

test('a truncated binary (an interrupted install or copy): JS fallback, one warning (checked before dlopen, which would die with SIGBUS)', () => {
  const truncated = path.join(work, 'truncated.node')
  const bytes = fs.readFileSync(path.join(root, 'native', binary))
  fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)))
  assertFallback(run({ NAPI_RS_NATIVE_LIBRARY_PATH: truncated }), 'truncated')
})
