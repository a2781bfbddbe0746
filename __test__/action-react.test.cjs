// useSafeAction with real React: 19 (the repo's devDependency) and 18.3 (the
// copy installed with next 14.2.35 by `npm run vectors`; skipped when absent).
// Each React version runs in its own child process (scripts/next-harness/react-hooks.cjs),
// rendering through react-dom/client into a minimal DOM stand-in; the hook is the compiled
// dist/action/hooks.js.
'use strict'

const path = require('node:path')
const os = require('node:os')
const fs = require('node:fs')

const root = path.join(__dirname, '..')

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')

const vectorsDir = process.env.NSG_NEXT_VECTORS_DIR || path.join(os.tmpdir(), 'nsg-next-vectors')
const reacts = [
  { label: 'React 19', modules: path.join(root, 'node_modules'), expect: /^19\./ },
  { label: 'React 18', modules: path.join(vectorsDir, 'next-14.2.35/node_modules'), expect: /^18\./ },
]
const SCENARIOS = [
  'idle, executing, success',
  'version skew: status error, VERSION_SKEW result, onSkew called',
  "the action's own failure: status error, requiresRefresh false",
  'only the latest call updates the state',
  'reset: back to idle, an in-flight call no longer lands',
  'execute and reset are stable across renders; the latest options are used',
  'redirect() from the action is rethrown in render for Next.js boundaries; execute rejects, handled',
  'bad options throw during render',
  'no state update after unmount',
]

const runs = new Map()
function run(react) {
  if (!runs.has(react.modules)) {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/next-harness/react-hooks.cjs')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NSG_ACTION_REACT: react.modules, NODE_ENV: 'development' },
      timeout: 120_000,
    })
    assert.equal(r.status, 0, r.stderr)
    runs.set(react.modules, JSON.parse(r.stdout))
  }
  return runs.get(react.modules)
}

for (const react of reacts) {
  const present =
    fs.existsSync(path.join(react.modules, 'react/package.json')) && fs.existsSync(path.join(react.modules, 'react-dom/package.json'))
  const skip = present ? false : `${react.label} not installed (run \`npm run vectors\` or set NSG_NEXT_VECTORS_DIR)`
  test(`${react.label}: the version under test`, { skip }, () => {
    assert.match(run(react).version, react.expect)
  })
  for (const name of SCENARIOS) {
    test(`${react.label}: useSafeAction ${name}`, { skip }, () => {
      assert.equal(run(react).results[name], 'ok')
    })
  }
}

test('the index (and createSafeAction) loads without React installed; the hook needs it only when it runs', () => {
  const script = `
    const Module = require('module')
    const resolve = Module._resolveFilename
    Module._resolveFilename = function (request, ...rest) {
      if (request === 'react') { const e = new Error("Cannot find module 'react'"); e.code = 'MODULE_NOT_FOUND'; throw e }
      return resolve.call(this, request, ...rest)
    }
    const a = require(${JSON.stringify(path.join(root, 'dist/action/index.js'))})
    a.createSafeAction(async () => 1, { buildId: 'b' })().then((r) => {
      let hook = 'no error'
      try { a.useSafeAction(async () => r) } catch (e) { hook = e.code }
      console.log(JSON.stringify([r.success, typeof a.useSafeAction, hook]))
    })`
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), '[true,"function","MODULE_NOT_FOUND"]')
})
