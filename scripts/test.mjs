#!/usr/bin/env node
// `npm test`: everything a fresh clone needs, then every suite.
//   1. install dependencies when node_modules is missing or stale (npm ci)
//   2. build the native module in release mode (regenerates native/index.js, native/index.d.ts)
//   3. compile the TypeScript layer
//   4. cargo test (unit + property tests) and the node:test suites (unit, fuzz, faults, the load
//      run and the end-to-end suites on real Next.js 14 / 15 / 16 in Chromium)
//   5. the secret scan: the whole run's output and every e2e server/build log, searched for the
//      test keys (scripts/test-log.mjs wraps this script to tee its output; scan-secrets.mjs)
// Each step prints what it does; the first failure stops the run with its exit code.
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { runLogged } from './test-log.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
// Run this script again under the logger, then scan what it printed (NSG_TEST_LOG marks the inner run).
if (!process.env.NSG_TEST_LOG) {
  process.exit(await runLogged(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { cwd: root }))
}
const env = { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' }
const npx = (bin) => join(root, 'node_modules', '.bin', bin)

function run(title, command, args) {
  console.log(`\n▶ ${title}: ${[command, ...args].join(' ')}`)
  const started = Date.now()
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' })
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
// Next.js 14 and 15 (16 is a devDependency) for the tests that run Next.js's own client code.
run('install reference Next.js versions', process.execPath, ['scripts/gen-vectors.mjs', '--install-only'])
run('Rust tests', 'cargo', ['test', '--release'])
// The preload records the keys the tests generate, for the scan; spec output (stdout is a pipe here).
run('Node tests', process.execPath, ['--import', './scripts/test-log.mjs', '--test', '--test-reporter=spec', '__test__/'])
