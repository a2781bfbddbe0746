#!/usr/bin/env node
// `npm run test:unit`: the fast loop while developing. Compiles the TypeScript and runs every
// node:test suite except the ones that build or serve real Next.js apps, drive Chromium, start
// real proxies or put load on a server (e2e-*, deployments-next, -proxies, -compose, -k8s-docs, proxy-nextjs, load).
// Installs dependencies and builds the native module only when they are missing; the Rust tests
// run with `cargo test --profile test-opt`, and everything together with `npm test`.
// Like `npm test`, the suites get a temporary directory of the run's own (TMPDIR), removed at the
// end, also on Ctrl-C; one a killed run left is removed by the next run.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { runScratch } from './scratch.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const SLOW = /^(e2e-|deployments-next\.|deployments-proxies\.|deployments-compose|deployments-k8s-docs|load\.|proxy-nextjs\.)/

const TMP = tmpdir()
const scratch = runScratch('nsg-unit-run-')
const cleanup = () => rmSync(scratch, { recursive: true, force: true })
process.on('exit', cleanup)
process.on('SIGINT', () => process.exit(130))
process.on('SIGTERM', () => process.exit(143))

function run(title, command, args, env = process.env) {
  console.log(`▶ ${title}`)
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' })
  if (result.status !== 0) {
    console.error(`✗ ${title} failed (exit ${result.status ?? result.signal})`)
    process.exit(result.status ?? 1)
  }
}

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) run('install dependencies', 'npm', ['ci', '--no-audit', '--no-fund'])
if (!readdirSync(join(root, 'native')).some((f) => f.endsWith('.node')))
  run('build native module', 'npm', ['run', '--silent', 'build:native'])
run('compile TypeScript', process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'])
run('compile TypeScript (ES build of the client entries)', process.execPath, [
  join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
  '-p',
  'tsconfig.esm.json',
])
const files = readdirSync(join(root, '__test__'))
  .filter((f) => /\.test\.(c|m)?js$/.test(f) && !SLOW.test(f))
  .map((f) => join('__test__', f))
run('unit tests', process.execPath, ['--test', '--test-concurrency=2', ...files], {
  ...process.env,
  NSG_SKIP_E2E: '1',
  TMPDIR: scratch,
  // Caches shared with other runs stay in the machine's temporary directory, as in `npm test`.
  NSG_E2E_ROOT: process.env.NSG_E2E_ROOT || join(TMP, 'nsg-e2e'),
  NSG_NEXT_VECTORS_DIR: process.env.NSG_NEXT_VECTORS_DIR || join(TMP, 'nsg-next-vectors'),
  NSG_PROXY_CACHE: process.env.NSG_PROXY_CACHE || join(TMP, 'nsg-proxies'),
})
