// The package as users load it: CommonJS and ESM, export conditions, shipped
// types, and the one-warning fallback when the native binary cannot load.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFileSync, spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')

function node(args, env = {}) {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } })
  assert.equal(r.status, 0, r.stderr)
  return r
}

test('CommonJS and ESM both load the package by name with named exports', () => {
  const cjs = node(['-e', "const m = require('next-skew-guard'); console.log(m.backend, typeof m.Keyring, typeof m.parseKey)"])
  assert.equal(cjs.stdout.trim(), 'native function function')
  const esm = node([
    '--input-type=module',
    '-e',
    "import { backend, Keyring, generateKey, SkewGuardError } from 'next-skew-guard'; console.log(backend, typeof Keyring, generateKey().length, typeof SkewGuardError)",
  ])
  assert.equal(esm.stdout.trim(), 'native function 44 function')
})

test('edge export conditions resolve to the WebCrypto backend', () => {
  for (const condition of ['edge-light', 'workerd', 'worker', 'browser']) {
    const r = node([
      `--conditions=${condition}`,
      '-e',
      "const m = require('next-skew-guard'); const k = new m.Keyring({ current: m.generateKey() }); try { k.verifySync('', 'a'.repeat(42)) } catch (e) { console.log(m.backend, e.code) }",
    ])
    assert.equal(r.stdout.trim(), 'js ERR_SYNC_UNAVAILABLE', condition)
  }
})

test('without a loadable binary, Node falls back to the JS backend with exactly one warning', () => {
  const script = `
    const m = require('next-skew-guard'); require('next-skew-guard');
    const k = new m.Keyring({ current: 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=' });
    const id = '60c6dd4c8b146d5c3453cdc7c1eb87f87a63a6a732';
    console.log(m.backend, k.verifySync(k.sealSync(id, '0:[]\\n'), id).status);`
  const r = node(['-e', script], { NAPI_RS_NATIVE_LIBRARY_PATH: path.join(root, 'native', 'no-such-binary.node') })
  assert.equal(r.stdout.trim(), 'js current')
  const warnings = r.stderr.match(/NEXT_SKEW_GUARD_NATIVE_UNAVAILABLE/g) ?? []
  assert.equal(warnings.length, 1, r.stderr)
  assert.match(r.stderr, /using the JS backend/)
  const chosen = node(['-e', script], { NEXT_SKEW_GUARD_BACKEND: 'js' })
  assert.equal(chosen.stdout.trim(), 'js current')
  assert.equal(chosen.stderr, '')
})

test('the shipped type declarations describe the API', () => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  execFileSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')], { cwd: root, stdio: 'pipe' })
})
