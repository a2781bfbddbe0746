#!/usr/bin/env node
// `npm run demo`: the example app (examples/next-app) on a real Next.js 16.4.6, deployed twice on the
// same port while a tab of the first deploy stays open — once as plain Next.js, once with
// next-skew-guard — and a table of what the user of that old tab saw, click by click.
//
//   1. setup as `npm test` does, when needed: npm ci, npm run build (native core + TypeScript),
//      Chromium from apt-get;
//   2. the example built four times: plain v1/v2 (examples/next-app/plain/: no withSkewGuard, no
//      proxy, no instrumentation, no <SkewGuard />, actions called directly) and guarded v1/v2 (the
//      example as the README integrates it; v2/ renames `greet` and changes `shout`);
//   3. per variant: `next start` v1, tabs opened in headless Chromium, v1 stopped and v2 started on
//      the same port, then in the old tabs: the renamed action, the changed one, the inline closure,
//      the form; then a restart with a rotated key and the closure again;
//   4. the table (every cell from what the run observed) and the guard's skew counters.
//
// Reuses the end-to-end harness (scripts/e2e/): the work copy lives in os.tmpdir()/nsg-e2e/next-16/demo
// (Next.js installed once, then cached). Every server is stopped by PID, also on failure and Ctrl-C.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'

import { launchChromium, openTab, waitHydrated } from './e2e/browser.mjs'
import { skewStats } from './e2e/http.mjs'
import { progress, setProgressPrefix, step } from './e2e/log.mjs'
import { freePort, startServer, waitFor } from './e2e/server.mjs'
import {
  ROOT,
  VERSIONS,
  applyPlainOverlay,
  applyV2Overlay,
  build,
  ensureChromium,
  prepareApp,
  resetSources,
} from './e2e/setup.mjs'

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
// 2./3. One variant: build v1 and v2, serve v1, open old tabs, deploy v2 on the same port, click.

/** What the user does in an old tab. `output`: where the page shows the answer. */
const CLICKS = [
  { id: 'renamed', label: 'Say hello (greet renamed in v2)', button: '#say-hello', output: '#say-hello-result' },
  { id: 'changed', label: 'Shout (shout changed in v2)', button: '#shout', output: '#shout-result' },
  { id: 'closure', label: 'Read note (inline closure)', button: '#read-note', output: '#read-note-result' },
  { id: 'form', label: 'Save (form action)', button: '#note-submit', output: '#saved-note', fill: 'from the old tab' },
]
const ROTATED = { id: 'rotated', label: 'Read note after a key rotation', button: '#read-note', output: '#read-note-result' }

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** An old tab: the harness's recording tab plus what the user sees (uncaught errors, banner). */
async function oldTab(url, guard) {
  const tab = await openTab(browser, url, { guard })
  tab.guard = guard
  tab.uncaught = []
  tab.page.on('pageerror', (error) => tab.uncaught.push({ name: error.name || 'Error', message: error.message }))
  return tab
}

/**
 * Clicks `click.button` in `tab` and watches what follows: the action responses, uncaught errors,
 * document loads (a reload), the text the page shows (also the last text before a reload) and the
 * skew banner.
 */
async function observe(tab, click, builds, { settleMs = 2_000 } = {}) {
  const { page } = tab
  const before = { actions: tab.actions.length, loads: tab.loads, errors: tab.uncaught.length }
  const pageBuild = await page.locator('#page-build').textContent()
  if (click.fill) await page.fill('#note-input', click.fill)
  await page.click(click.button)
  let shown = ''
  const read = async () => {
    const text = await page.locator(click.output).textContent({ timeout: 500 }).catch(() => null)
    if (text) shown = text
  }
  const reacted = () => tab.actions.length > before.actions || tab.loads > before.loads || tab.uncaught.length > before.errors
  await waitFor(async () => (await read(), reacted()), 'a reaction', { timeoutMs: 10_000 }).catch(() => {})
  // The page's reaction to the answer: render, or reload (the guard reloads right after the answer).
  const settle = Date.now() + settleMs
  while (Date.now() < settle) {
    if (tab.loads === before.loads) await read()
    await sleep(100)
  }
  const reloaded = tab.loads > before.loads
  if (reloaded) {
    await page.waitForLoadState('load')
    await waitHydrated(page, '#read-note', { guard: tab.guard })
  }
  const nowBuild = await page.locator('#page-build').textContent()
  const banner = (await page.locator('#skew-banner').count()) ? await page.locator('#skew-banner').getAttribute('data-kind') : null
  const name = (id) => builds.get(id) ?? id
  let shownText = reloaded ? shown : ((await page.locator(click.output).textContent().catch(() => '')) ?? '')
  for (const [id, label] of builds) shownText = shownText.replaceAll(id, label)
  return {
    responses: tab.actions.slice(before.actions),
    errors: tab.uncaught.slice(before.errors),
    reloaded,
    shown: shownText,
    pageBefore: name(pageBuild),
    pageAfter: name(nowBuild),
    banner,
  }
}

/**
 * Would the user click again? Yes after a reload, an error, or an empty screen; no when the page
 * shows an answer (also the guard's "it ran on build v2: …", which says the action ran).
 */
function worked(attempt, click) {
  if (attempt.errors.length || attempt.reloaded) return false
  const last = attempt.responses.at(-1)
  if (!last || last.status !== 200) return false
  return click.id === 'form' ? attempt.shown === click.fill : attempt.shown !== ''
}

async function clickAndRetry(tab, click, builds) {
  const first = await observe(tab, click, builds)
  const retry = worked(first, click) ? null : await observe(tab, click, builds)
  progress(`  ${click.label}: ${describe(first)}${retry ? ` | again: ${describe(retry)}` : ''}`)
  return { first, retry }
}

async function runVariant(app, mode, keys) {
  const guard = mode === 'guard'
  const title = guard ? 'with next-skew-guard' : 'plain Next.js'
  progress(`── ${title} ──`)
  resetSources(app)
  if (!guard) applyPlainOverlay(app, 'v1')
  const v1 = await build(app, { name: `${mode}-v1`, distDir: `.next-${mode}-v1`, buildId: `${mode}-v1-${RUN}`, key: keys.k1 })
  if (guard) applyV2Overlay(app)
  else applyPlainOverlay(app, 'v2')
  const v2 = await build(app, { name: `${mode}-v2`, distDir: `.next-${mode}-v2`, buildId: `${mode}-v2-${RUN}`, key: keys.k1 })
  assertVariant(app, mode, v1, v2)
  const builds = new Map([
    [v1.buildId, 'v1'],
    [v2.buildId, 'v2'],
  ])

  const port = await freePort()
  const results = {}
  let server = await serve({ app, build: v1, key: keys.k1, port, label: `${mode} v1` })
  // Before the deploy, in a tab of its own (the old tabs stay untouched): what v1 answers.
  const baseline = {}
  await step('before the deploy: the buttons in a v1 tab', async () => {
    const tab = await oldTab(server.url, guard)
    for (const click of CLICKS.filter((c) => !c.fill)) {
      const a = await observe(tab, click, builds, { settleMs: 300 })
      baseline[click.id] = a.errors.length ? `${a.errors[0].name} thrown` : a.shown
      progress(`  ${click.label}: ${describe(a)}`)
    }
    await tab.close()
  })
  const tabs = {}
  await step(`opening ${CLICKS.length} tabs of v1 in Chromium (one per click, each its own session)`, async () => {
    for (const click of CLICKS) tabs[click.id] = await oldTab(server.url, guard)
  })
  await step(`deploying v2 on the same port :${port} (stop v1, start v2)`, async () => {
    await stop(server)
    server = await serve({ app, build: v2, key: keys.k1, port, label: `${mode} v2` })
  })
  progress('clicking in the old v1 tabs:')
  for (const click of CLICKS) results[click.id] = await clickAndRetry(tabs[click.id], click, builds)
  const stats = { v2: guard ? await skewStats(server.url) : null }
  const nextLog = { v2: countNextReports(server.output()) }
  results.baseline = baseline
  for (const tab of Object.values(tabs)) await tab.close()

  // A key rotation: the same v2 build restarted with a new runtime key. The guarded server knows
  // the old one as previous (SKEW_GUARD_PREVIOUS_KEYS, the guard's setting); plain Next.js has no
  // such setting.
  const tab = await oldTab(server.url, guard)
  builds.set(v2.buildId, 'v2')
  await step('rotating the key: restarting v2 with a new NEXT_SERVER_ACTIONS_ENCRYPTION_KEY', async () => {
    await stop(server)
    server = await serve({
      app,
      build: v2,
      key: keys.k2,
      ...(guard ? { previousKeys: [keys.k1] } : {}),
      port,
      label: `${mode} v2, new key`,
    })
  })
  progress('clicking in the tab opened before the rotation:')
  results.rotated = await clickAndRetry(tab, ROTATED, builds)
  stats.rotated = guard ? await skewStats(server.url) : null
  nextLog.rotated = countNextReports(server.output())
  await tab.close()
  await stop(server)
  return { results, stats, nextLog }
}

/** Next.js's own server log lines about skew (what an operator of plain Next.js gets). */
function countNextReports(output) {
  return {
    notFound: (output.match(/Failed to find Server Action/g) ?? []).length,
    decrypt: (output.match(/Error \[OperationError\]/g) ?? []).length,
  }
}

/** The builds are what the table claims: same action IDs where expected; guard code only in the guarded build. */
function assertVariant(app, mode, v1, v2) {
  const fail = (why) => {
    throw new Error(`${mode} builds: ${why}`)
  }
  if (v1.actions.shout !== v2.actions.shout) fail('shout changed its ID')
  if (v1.actions.readNote !== v2.actions.readNote) fail('the closure changed its ID')
  if (!v1.actions.greet || Object.values(v2.actions).includes(v1.actions.greet)) fail('v2 still knows greet')
  const chunks = path.join(app.dir, v1.distDir, 'static', 'chunks')
  const client = fs
    .readdirSync(chunks, { recursive: true })
    .filter((f) => f.endsWith('.js'))
    .some((f) => fs.readFileSync(path.join(chunks, f), 'utf8').includes('x-skew-guard-build'))
  if (client !== (mode === 'guard')) fail(client ? 'the plain build ships the client guard' : 'the guarded build has no client guard')
}

// ---------------------------------------------------------------------------------------------
// 4. The table: every cell from an observation.

function describe(a) {
  const parts = []
  const r = a.responses[0]
  if (!r) parts.push('no request')
  else parts.push(`HTTP ${r.status}${r.guard ? ` (x-skew-guard: ${r.guard})` : ''}`)
  for (const e of a.errors.slice(0, 1)) {
    // A bare Error says little by its name: add the start of its message.
    const message = e.message.split('\n')[0].replace(/^(Minified React error #\d+);.*$/, '$1')
    parts.push(e.name === 'Error' ? `Error thrown ("${message.length > 48 ? `${message.slice(0, 48)}…` : message}")` : `${e.name} thrown`)
  }
  if (a.reloaded) {
    if (a.shown) parts.push(`showed "${a.shown}"`)
    parts.push(`page reloaded itself (${a.pageBefore} → ${a.pageAfter})`)
  } else if (a.shown) {
    parts.push(`shows "${a.shown}"`)
  } else if (!a.errors.length) {
    parts.push('nothing on screen, no error')
  } else {
    parts.push('nothing on screen')
  }
  if (a.banner) parts.push(`banner (${a.banner})`)
  return parts.join(', ')
}

function cell({ first, retry }) {
  return retry ? `${describe(first)}; clicked again: ${describe(retry)}` : describe(first)
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

function counters(stats) {
  const kinds = Object.entries(stats.byKind).filter(([, n]) => n > 0)
  return `${stats.total} event${stats.total === 1 ? '' : 's'}${kinds.length ? ` (${kinds.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`
}

function report(plain, guarded) {
  const rows = [['click in the old tab', 'plain Next.js', 'with next-skew-guard']]
  for (const click of [...CLICKS, ROTATED]) rows.push([click.label, cell(plain.results[click.id]), cell(guarded.results[click.id])])
  console.log(`\nWhat the user of an old tab sees after v2 is deployed on the same port (Next.js ${VERSIONS.next}, headless Chromium)`)
  console.log(`(last row: the tab is a fresh v2 tab, then v2 restarts with a new NEXT_SERVER_ACTIONS_ENCRYPTION_KEY)\n`)
  console.log(table(rows, [24, 46, 46]))
  const before = (r) => CLICKS.filter((c) => r.baseline[c.id] !== undefined).map((c) => `${c.label.split(' (')[0]} → "${r.baseline[c.id]}"`).join(', ')
  console.log('\nThe same buttons in a v1 tab before the deploy')
  console.log(`  plain Next.js:        ${before(plain.results)}`)
  console.log(`  with next-skew-guard: ${before(guarded.results)}`)
  console.log('\nSkew seen on the server')
  const logs = (n) => `${n.notFound} "Failed to find Server Action", ${n.decrypt} "Error [OperationError]"`
  console.log(`  plain Next.js:        no counter; its log: ${logs(plain.nextLog.v2)} (v2); ${logs(plain.nextLog.rotated)} (v2, new key)`)
  console.log(`  with next-skew-guard: GET /api/skew-stats on v2: ${counters(guarded.stats.v2)}`)
  console.log(`                        on v2 with the new key:   ${counters(guarded.stats.rotated)}`)
}

// ---------------------------------------------------------------------------------------------

async function main() {
  console.log(`next-skew-guard demo: one Next.js ${VERSIONS.next} app, deployed twice while a tab stays open,`)
  console.log('first as plain Next.js, then with next-skew-guard.\n')
  await setup()
  const require = createRequire(import.meta.url)
  const { generateKey } = require('next-skew-guard')
  const keys = { k1: generateKey(), k2: generateKey() }
  const app = await prepareApp({ major: 16, name: 'demo' })
  logs = app.logs
  browser = await step('launching Chromium', () => launchChromium(undefined, { handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false }))
  const plain = await runVariant(app, 'plain', keys)
  const guarded = await runVariant(app, 'guard', keys)
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
