#!/usr/bin/env node
// `npm test`: everything a fresh clone needs, then every suite.
//   1. install dependencies when node_modules is missing or stale (npm ci)
//   2. build the native module in release mode (regenerates native/index.js, native/index.d.ts)
//   3. compile the TypeScript layer
//   4. cargo test (unit + property tests) and the node:test suites (unit, fuzz, faults, the load
//      run and the end-to-end suites on real Next.js 14 / 15 / 16 in Chromium)
//   5. docs/compatibility.md, from what the end-to-end suites of this run observed
//      (scripts/e2e/compatibility-doc.mjs);
//   6. the secret scan: the whole run's output and every e2e server/build log, searched for the
//      test keys (scripts/test-log.mjs wraps this script to tee its output; scan-secrets.mjs)
// Each step prints what it does; the first failure stops the run with its exit code.
//
// Nothing is left behind, also when the run is interrupted or a test process is killed: the suites
// get a temporary directory of the run's own (TMPDIR) that goes at the end, the caches they share
// with later runs (e2e work copies, the reference Next.js installs, the proxies) are named
// explicitly outside it, and every server, proxy or build they start is recorded there
// (scripts/child-registry.mjs), so the run stops what a killed test process could not. A run that
// was killed outright is cleaned up by the next one.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { killRecorded } from './child-registry.mjs'
import { runScratch } from './scratch.mjs'
import { runLogged } from './test-log.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
// Run this script again under the logger, then scan what it printed (NSG_TEST_LOG marks the inner run).
if (!process.env.NSG_TEST_LOG) {
  process.exit(await runLogged(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { cwd: root }))
}
const env = { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' }
const npx = (bin) => join(root, 'node_modules', '.bin', bin)

// The run's own scratch space, and what earlier runs that were killed outright left.
const TMP = tmpdir()
const scratch = runScratch('nsg-test-run-', (dir) => {
  const killed = killRecorded(join(dir, 'pids'))
  if (killed) console.log(`stopped ${killed} process group(s) an interrupted earlier run left running`)
})
mkdirSync(join(scratch, 'tmp'))
const testEnv = {
  ...env,
  TMPDIR: join(scratch, 'tmp'),
  NSG_PID_DIR: join(scratch, 'pids'),
  // Names this run, so that its suites share the builds they have in common (scripts/e2e/shared-builds.mjs).
  NSG_RUN_ID: `run-${process.pid}-${Date.now().toString(36)}`,
  // Caches shared with later runs stay in the machine's temporary directory.
  NSG_E2E_ROOT: process.env.NSG_E2E_ROOT || join(TMP, 'nsg-e2e'),
  NSG_NEXT_VECTORS_DIR: process.env.NSG_NEXT_VECTORS_DIR || join(TMP, 'nsg-next-vectors'),
  NSG_PROXY_CACHE: process.env.NSG_PROXY_CACHE || join(TMP, 'nsg-proxies'),
}

/** Stops whatever the suites still have running and removes the run's scratch space. */
function cleanup() {
  const left = killRecorded(join(scratch, 'pids'))
  if (left) console.error(`! stopped ${left} process group(s) the suites left running`)
  rmSync(scratch, { recursive: true, force: true })
}

function run(title, command, args, runEnv = env) {
  console.log(`\n▶ ${title}: ${[command, ...args].join(' ')}`)
  const started = Date.now()
  const result = spawnSync(command, args, { cwd: root, env: runEnv, stdio: 'inherit' })
  if (result.error) {
    console.error(`✗ ${title}: could not start ${command} (${result.error.message})`)
    process.exit(1)
  }
  if (result.status !== 0) {
    console.error(`✗ ${title} failed (exit ${result.status ?? result.signal})`)
    process.exit(result.status ?? 1)
  }
  console.log(`✓ ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
}

const installed = join(root, 'node_modules', '.package-lock.json')
const stale = !existsSync(installed) || statSync(installed).mtimeMs < statSync(join(root, 'package-lock.json')).mtimeMs
if (stale) run('install dependencies', 'npm', ['ci', '--no-audit', '--no-fund'])

// The native core is Rust: say how to get the toolchain instead of failing inside napi's build.
if (spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.error(
    '✗ npm test builds the native core from Rust source and needs a Rust toolchain (cargo), which is not installed.\n' +
      '  Install it from https://rustup.rs (curl --proto =https --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y),\n' +
      '  open a new shell (or `source "$HOME/.cargo/env"`), then run npm test again.',
  )
  process.exit(1)
}
run('build native module (release)', 'npm', ['run', '--silent', 'build:native'])
run('compile TypeScript', npx('tsc'), ['-p', 'tsconfig.json'])
run('compile TypeScript (ES build of the client entries)', npx('tsc'), ['-p', 'tsconfig.esm.json'])
// Next.js 14 and 15 (16 is a devDependency) for the tests that run Next.js's own client code.
run('install reference Next.js versions', process.execPath, ['scripts/gen-vectors.mjs', '--install-only'])
run('Rust tests', 'cargo', ['test', '--profile', 'test-opt'])
// The preload records the keys the tests generate, for the scan; spec output (stdout is a pipe here).
// In a process group of its own, so an interrupt stops the runner and every test process with it.
console.log('\n▶ Node tests: node --test __test__/')
const started = Date.now()
// NSG_TEST_ONLY=a,b runs only those test files (when working on one suite).
const suites = process.env.NSG_TEST_ONLY ? process.env.NSG_TEST_ONLY.split(',') : ['__test__/']
const tests = spawn(process.execPath, ['--import', './scripts/test-log.mjs', '--test', '--test-reporter=spec', ...suites], {
  cwd: root,
  env: testEnv,
  stdio: 'inherit',
  detached: true,
})
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n✗ interrupted (${signal}): stopping the tests, their servers and proxies`)
    try {
      process.kill(-tests.pid, 'SIGKILL')
    } catch {
      // gone already
    }
    cleanup()
    process.exit(130)
  })
}
const code = await new Promise((resolve) => tests.on('close', (c, signal) => resolve(c ?? (signal ? 1 : 0))))
cleanup()
if (code !== 0) {
  console.error(`✗ Node tests failed (exit ${code})`)
  process.exit(code)
}
console.log(`✓ Node tests (${((Date.now() - started) / 1000).toFixed(1)} s)`)
// A full run must have observed every Next.js version of the matrix; a partial one leaves the doc alone.
const partial =
  process.env.NSG_TEST_ONLY || process.env.NSG_SKIP_E2E === '1' || process.env.NSG_E2E_VERSIONS || process.env.NSG_ROUTED_VERSIONS
const docArgs = ['scripts/e2e/compatibility-doc.mjs', '--since', String(started), ...(partial ? [] : ['--require'])]
run('docs/compatibility.md from the observations', process.execPath, docArgs, { ...env, NSG_E2E_ROOT: testEnv.NSG_E2E_ROOT })
