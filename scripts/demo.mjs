#!/usr/bin/env node
// `npm run demo`: the example app (examples/next-app) on a real Next.js 16, deployed twice on the
// same port while a tab of the first deploy stays open — once as plain Next.js, once with
// next-skew-guard — and a table of what the user of that old tab saw, click by click.
//
//   1. setup as `npm test` does, when needed: npm ci, npm run build (native core + TypeScript),
//      Chromium from apt-get;
//   2. the example built four times: plain v1/v2 (examples/next-app/plain/: no withSkewGuard, no
//      proxy, no instrumentation, no <SkewGuard />, actions called directly) and guarded v1/v2 (the
//      example as the README integrates it; v2/ renames `greet` and changes `shout`);
//   3. per variant (scripts/e2e/scenario.mjs): `next start` v1, tabs opened in headless Chromium, v1
//      stopped and v2 started on the same port, then in the old tabs: the renamed action, the
//      changed one, the inline closure, the form, a form post without JavaScript; the guarded v2
//      again under policy 'reject'; then restarts with a rotated key (the old one kept as previous)
//      and with another key (the old one dropped), and the closure after each;
//   4. the table (every cell from what the run observed) and the guard's skew counters.
//
// Reuses the end-to-end harness (scripts/e2e/): the work copy lives in os.tmpdir()/nsg-e2e/next-16/demo
// (Next.js installed once, then cached). Every server is stopped by PID, also on failure and Ctrl-C.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'

import { launchChromium } from './e2e/browser.mjs'
import { progress, setProgressPrefix, step } from './e2e/log.mjs'
import { CLICKS, counters, rows, runVariant } from './e2e/scenario.mjs'
import { startServer } from './e2e/server.mjs'
import { ROOT, VERSIONS, ensureChromium, prepareApp } from './e2e/setup.mjs'

setProgressPrefix('demo')
const started = Date.now()
const RUN = randomBytes(3).toString('hex')

// ---------------------------------------------------------------------------------------------
// Cleanup: servers and the browser, on success, failure and Ctrl-C.

const servers = new Set()
let browser = null
let cleaning = null
let logs = null
let interrupted = false

function cleanup() {
  cleaning ??= (async () => {
    await browser?.close().catch(() => {})
    browser = null
    await Promise.all([...servers].map((server) => server.stop().catch(() => {})))
    servers.clear()
  })()
  return cleaning
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (interrupted) return
    interrupted = true
    console.error(`\n✗ demo interrupted (${signal}): stopping servers and the browser…`)
    cleanup().finally(() => process.exit(130))
  })
}

async function serve(options) {
  const server = await startServer(options)
  servers.add(server)
  return server
}

async function stop(server) {
  await server.stop()
  servers.delete(server)
}

// ---------------------------------------------------------------------------------------------
// 1. Setup, as `npm test` does it.

function sh(title, command, args) {
  progress(`${title}: ${[command, ...args].join(' ')}`)
  const t0 = Date.now()
  const result = spawnSync(command, args, {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
  })
  if (result.error) throw new Error(`${title}: could not start ${command} (${result.error.message})`)
  if (result.status !== 0) throw new Error(`${title} failed (exit ${result.status ?? result.signal})`)
  progress(`${title}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}

const mtime = (file) => fs.statSync(file).mtimeMs

/** Newest mtime of the files under `paths` (files or directories, relative to the repo). */
function newest(paths) {
  let max = 0
  const visit = (file) => {
    const stat = fs.statSync(file)
    if (stat.isDirectory()) for (const entry of fs.readdirSync(file)) visit(path.join(file, entry))
    else max = Math.max(max, stat.mtimeMs)
  }
  for (const p of paths) if (fs.existsSync(path.join(ROOT, p))) visit(path.join(ROOT, p))
  return max
}

/** Why `npm run build` is needed, or null when native/*.node and dist/ are newer than their sources. */
function buildReason() {
  const binaries = fs.readdirSync(path.join(ROOT, 'native')).filter((f) => f.endsWith('.node'))
  if (binaries.length === 0) return 'native/*.node is missing'
  const rust = newest(['src', 'build.rs', 'Cargo.toml', 'Cargo.lock'])
  if (binaries.some((f) => mtime(path.join(ROOT, 'native', f)) < rust)) return 'the Rust sources are newer than native/*.node'
  // Every lib/ source has its dist/ output (tsc writes them all on every run), no older than it.
  const tsconfig = mtime(path.join(ROOT, 'tsconfig.json'))
  const lib = path.join(ROOT, 'lib')
  const sources = fs.readdirSync(lib, { recursive: true }).filter((f) => /\.(tsx?|json)$/.test(f) && !f.endsWith('.d.ts'))
  for (const rel of sources) {
    const out = path.join(ROOT, 'dist', rel.replace(/\.tsx?$/, '.js'))
    if (!fs.existsSync(out)) return `dist/ is missing ${path.relative(ROOT, out)}`
    if (mtime(out) < Math.max(mtime(path.join(lib, rel)), tsconfig)) return `lib/${rel} is newer than its dist/ output`
  }
  return null
}

async function setup() {
  const lock = path.join(ROOT, 'node_modules', '.package-lock.json')
  if (!fs.existsSync(lock) || mtime(lock) < mtime(path.join(ROOT, 'package-lock.json'))) {
    sh('installing dependencies (node_modules missing or older than package-lock.json)', 'npm', ['ci', '--no-audit', '--no-fund'])
  } else {
    progress('dependencies: installed')
  }
  const reason = buildReason()
  if (reason) sh(`building next-skew-guard (${reason})`, 'npm', ['run', 'build'])
  else progress('next-skew-guard: native/*.node and dist/ are up to date')
  await ensureChromium()
  progress('Chromium: /usr/bin/chromium')
}

// ---------------------------------------------------------------------------------------------
// 2./3. The deploy story per variant: scripts/e2e/scenario.mjs. 4. The table.

function table(rows, widths) {
  const out = []
  const sep = widths.map((w) => '─'.repeat(w + 2)).join('┼')
  for (const [i, row] of rows.entries()) {
    const cells = row.map((text, c) => wrap(text, widths[c]))
    const height = Math.max(...cells.map((c) => c.length))
    for (let l = 0; l < height; l++) out.push(cells.map((c, j) => ` ${(c[l] ?? '').padEnd(widths[j])} `).join('│').trimEnd())
    if (i < rows.length - 1) out.push(sep)
  }
  return out.join('\n')
}

function wrap(text, width) {
  const lines = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line ? `${line} ${word}` : word
    }
  }
  if (line) lines.push(line)
  return lines
}

function report(plain, guarded) {
  console.log(`\nWhat the user of an old tab sees after v2 is deployed on the same port (Next.js ${VERSIONS.next}, headless Chromium)`)
  console.log('(the key rows: a v2 tab, then v2 restarts with a new NEXT_SERVER_ACTIONS_ENCRYPTION_KEY)\n')
  console.log(table([['click in the old tab', 'plain Next.js', 'with next-skew-guard'], ...rows(plain, guarded)], [24, 46, 46]))
  const before = (r) =>
    CLICKS.filter((c) => r.baseline[c.id] !== undefined)
      .map((c) => `${c.label.split(' (')[0]} → "${r.baseline[c.id].shown}"`)
      .join(', ')
  console.log('\nThe same buttons in a v1 tab before the deploy')
  console.log(`  plain Next.js:        ${before(plain.results)}`)
  console.log(`  with next-skew-guard: ${before(guarded.results)}`)
  console.log('\nSkew seen on the server')
  const logs = (n) => `${n.notFound} "Failed to find Server Action", ${n.decrypt} decryption errors`
  console.log(`  plain Next.js:        no counter; its log: ${logs(plain.nextLog.v2)} (v2); ${logs(plain.nextLog.rotated)} (new key)`)
  console.log(`  with next-skew-guard: GET /api/skew-stats on v2: ${counters(guarded.stats.v2)}`)
  console.log(`                        after the key rotation:   ${counters(guarded.stats.rotated)}`)
  console.log(`                        after the key change:     ${counters(guarded.stats.keyChanged)}`)
}

// ---------------------------------------------------------------------------------------------

async function main() {
  console.log(`next-skew-guard demo: one Next.js ${VERSIONS.next} app, deployed twice while a tab stays open,`)
  console.log('first as plain Next.js, then with next-skew-guard.\n')
  await setup()
  const require = createRequire(import.meta.url)
  const { generateKey } = require('next-skew-guard')
  const keys = { k1: generateKey(), k2: generateKey(), k3: generateKey() }
  const app = await prepareApp({ major: 16, name: 'demo' })
  logs = app.logs
  browser = await step('launching Chromium', () => launchChromium(undefined, { handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false }))
  const ctx = { browser, serve, stop, run: RUN }
  const plain = await runVariant(app, 'plain', keys, ctx)
  const guarded = await runVariant(app, 'guard', keys, ctx)
  await cleanup()
  report(plain, guarded)
  console.log(`\n✓ demo done in ${((Date.now() - started) / 1000).toFixed(0)} s; every server stopped. Logs: ${app.logs}`)
  // Nothing is left to wait for (idle HTTP keep-alive sockets would hold the event loop for seconds).
  process.exit(0)
}

main().catch(async (error) => {
  if (interrupted) return // the signal handler stops everything and exits 130
  console.error(`\n✗ demo failed: ${error instanceof Error ? error.message : error}`)
  await cleanup()
  console.error(`every server stopped${logs ? `; build and server logs: ${logs}` : ''}`)
  process.exit(1)
})
