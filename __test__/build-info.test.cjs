// What the Node-side guard believes about the build it serves: the build on disk, found where
// Next.js finds it.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const entry = path.join(__dirname, '..', 'dist', 'server', 'build-info.js')

/** Runs `script` in a fresh process (the build info is cached per process); returns stdout and stderr. */
function child(script, { cwd, env = {}, argv = [] }) {
  const clean = { ...process.env }
  for (const name of ['SKEW_GUARD_BUILD_ID', '__SKEW_GUARD_DIST_DIR', '__NEXT_PRIVATE_STANDALONE_CONFIG']) delete clean[name]
  const r = spawnSync(process.execPath, ['-e', script, ...argv], { cwd, encoding: 'utf8', env: { ...clean, ...env } })
  assert.equal(r.status, 0, r.stderr)
  return { out: r.stdout.trim(), err: r.stderr }
}

function withProject(fn) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-build-info-'))
  try {
    fs.mkdirSync(path.join(root, 'apps', 'web', '.next'), { recursive: true })
    fs.writeFileSync(path.join(root, 'apps', 'web', '.next', 'BUILD_ID'), 'web-build\n')
    return fn(root)
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
}

const PRINT = `const b = require(${JSON.stringify(entry)}); console.log(JSON.stringify([b.distDir(), b.readBuildId(), b.readBuildId()]))`

test('a leftover runtime SKEW_GUARD_BUILD_ID never overrides the build on disk; one warning says so', () =>
  withProject((root) => {
    const dist = path.join(root, 'apps', 'web', '.next')
    const { out, err } = child(PRINT, { cwd: root, env: { __SKEW_GUARD_DIST_DIR: dist, SKEW_GUARD_BUILD_ID: 'other-build' } })
    assert.deepEqual(JSON.parse(out), [dist, 'web-build', 'web-build'])
    assert.equal(err.match(/disagrees with the build being served/g)?.length, 1, err)
    // Without a build on disk the variable is all there is.
    const none = child(PRINT, { cwd: root, env: { SKEW_GUARD_BUILD_ID: 'other-build' } })
    assert.deepEqual(JSON.parse(none.out), [path.join(root, '.next'), 'other-build', 'other-build'])
    assert.equal(none.err, '')
  }))

test('`next start apps/web` from a monorepo root: the project directory of the command line, not the working directory', () =>
  withProject((root) => {
    // The guard runs inside the `next start` process: argv is Next.js's own command line.
    const script = `process.argv = [process.execPath, ${JSON.stringify(path.join(root, 'node_modules', '.bin', 'next'))}, 'start', 'apps/web', '-p', '3000']; ${PRINT}`
    const { out } = child(script, { cwd: root })
    assert.deepEqual(JSON.parse(out), [path.join(root, 'apps', 'web', '.next'), 'web-build', 'web-build'])
  }))

test('standalone server.js: the distDir of the config it carries, relative to its own directory', () =>
  withProject((root) => {
    const cwd = path.join(root, 'apps', 'web')
    const { out } = child(PRINT, { cwd, env: { __NEXT_PRIVATE_STANDALONE_CONFIG: JSON.stringify({ distDir: './.next' }) } })
    assert.deepEqual(JSON.parse(out), [path.join(cwd, '.next'), 'web-build', 'web-build'])
  }))
