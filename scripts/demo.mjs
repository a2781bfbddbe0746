#!/usr/bin/env node
// `npm run demo`: the example app (examples/next-app) on a real Next.js 16, deployed twice while a
// tab of the first deploy stays open — as plain Next.js, with next-skew-guard, and with
// next-skew-guard plus version-locked routing through nginx — and a table of what the user of that
// old tab saw, click by click.
//
//   1. setup as `npm test` does, when needed: npm ci, npm run build (native core + TypeScript; on a
//      machine without a Rust toolchain only the TypeScript, and the demo runs on the JavaScript
//      backend), Chromium from apt-get;
//   2. the example built four times: plain v1/v2 (examples/next-app/plain/: no withSkewGuard, no
//      proxy, no instrumentation, no <SkewGuard />, actions called directly) and guarded v1/v2 (the
//      example as the README integrates it; v2/ renames `greet` and changes `shout`);
//   3. per variant (scripts/e2e/scenario.mjs): `next start` v1, tabs opened in headless Chromium, v1
//      stopped and v2 started on the same port, then in the old tabs: the renamed action, the
//      changed one, the closure, the form, a form post without JavaScript; the guarded v2 again
//      under policy 'reject'; then restarts with a rotated key (the old one kept as previous) and
//      with another key (the old one dropped), and the closure after each;
//   4. routed (scripts/e2e/routed-scenario.mjs): the guarded builds side by side behind nginx
//      (installed with apt-get when missing), v2 promoted while old tabs of v1 are open, the same
//      clicks;
//   5. the table (every cell from what the run observed) and the guard's skew counters.
//
// The terminal gets a line per stage and the table; every step's output (npm, next build, the
// servers) goes to a log file whose path is printed first. Reuses the end-to-end harness
// (scripts/e2e/): the work copy lives in os.tmpdir()/nsg-e2e/next-16/demo (Next.js installed once,
// then cached). Every server and the proxy are stopped by PID, also on failure and Ctrl-C.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'

import { launchChromium } from './e2e/browser.mjs'
import { progress, setProgressFile, setProgressPrefix, step } from './e2e/log.mjs'
import { runRoutedVariant } from './e2e/routed-scenario.mjs'
import { CLICKS, counters, rows, runVariant } from './e2e/scenario.mjs'
import { startServer } from './e2e/server.mjs'
import { ROOT, VERSIONS, ensureChromium, prepareApp, workDir } from './e2e/setup.mjs'

setProgressPrefix('demo')
const started = Date.now()
const RUN = randomBytes(3).toString('hex')
const LOG = path.join(workDir(16), 'demo.log')
const seconds = (t0) => `${((Date.now() - t0) / 1000).toFixed(0)} s`

// ---------------------------------------------------------------------------------------------
// Cleanup: servers, the proxy and the browser, on success, failure and Ctrl-C.

const running = new Set()
let browser = null
let cleaning = null
let interrupted = false

function cleanup() {
  cleaning ??= (async () => {
    await browser?.close().catch(() => {})
    browser = null
    await Promise.all([...running].map((r) => r.stop().catch(() => {})))
    running.clear()
  })()
  return cleaning
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (interrupted) return
    interrupted = true
    console.error(`\n✗ demo interrupted (${signal}): stopping servers, the proxy and the browser…`)
    cleanup().finally(() => process.exit(130))
  })
}

const ctx = {
  run: RUN,
  async serve(options) {
    const server = await startServer(options)
    running.add(server)
    return server
  },
  own(resource) {
    running.add(resource)
  },
  async stop(resource) {
    await resource.stop()
    running.delete(resource)
  },
}
ctx.release = ctx.stop

// ---------------------------------------------------------------------------------------------
// 1. Setup, as `npm test` does it; the commands' output goes to the log.

function sh(title, command, args) {
  progress(`${title}: ${[command, ...args].join(' ')}`)
  const out = fs.openSync(LOG, 'a')
  try {
    const result = spawnSync(command, args, {
      cwd: ROOT,
      stdio: ['ignore', out, out],
      env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
    })
    if (result.error) throw new Error(`${title}: could not start ${command} (${result.error.message})`)
    if (result.status !== 0) throw new Error(`${title} failed (exit ${result.status ?? result.signal}); its output is in ${LOG}`)
  } finally {
    fs.closeSync(out)
  }
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

/** Why the native module needs building, or null when native/*.node is newer than the Rust sources. */
function nativeReason() {
  const binaries = fs.readdirSync(path.join(ROOT, 'native')).filter((f) => f.endsWith('.node'))
  if (binaries.length === 0) return 'native/*.node is missing'
  const rust = newest(['src', 'build.rs', 'Cargo.toml', 'Cargo.lock'])
  if (binaries.some((f) => mtime(path.join(ROOT, 'native', f)) < rust)) return 'the Rust sources are newer than native/*.node'
  return null
}

/** Why dist/ needs compiling, or null when every lib/ source has a dist/ output no older than it. */
function typescriptReason() {
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

/** Installs and builds what is missing; resolves the backend the demo runs on ('native' or 'js'). */
async function setup() {
  const lock = path.join(ROOT, 'node_modules', '.package-lock.json')
  if (!fs.existsSync(lock) || mtime(lock) < mtime(path.join(ROOT, 'package-lock.json'))) {
    sh('installing dependencies (node_modules missing or older than package-lock.json)', 'npm', ['ci', '--no-audit', '--no-fund'])
  }
  let backend = 'native'
  const native = nativeReason()
  const cargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0
  if (native && cargo) {
    sh(`building the native core (${native})`, 'npm', ['run', 'build:native'])
  } else if (native && fs.readdirSync(path.join(ROOT, 'native')).every((f) => !f.endsWith('.node'))) {
    backend = 'js'
  }
  const ts = typescriptReason()
  if (ts) sh(`compiling the TypeScript (${ts})`, 'npm', ['run', 'build:ts'])
  await ensureChromium()
  return { backend, cargo }
}

// ---------------------------------------------------------------------------------------------
// 2.–4. The deploy story per variant: scripts/e2e/scenario.mjs, routed-scenario.mjs. 5. The table.

function table(rows, widths) {
  const out = []
  const sep = widths.map((w) => '─'.repeat(w + 2)).join('┼')
  for (const [i, row] of rows.entries()) {
    const cells = row.map((text, c) => wrap(text, widths[c]))
    const height = Math.max(...cells.map((c) => c.length))
    for (let l = 0; l < height; l++)
      out.push(
        cells
          .map((c, j) => ` ${(c[l] ?? '').padEnd(widths[j])} `)
          .join('│')
          .trimEnd(),
      )
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

/** Column widths for the terminal (at least 26 per result column; 160 columns when not a terminal). */
function widths(columns) {
  const label = 20
  const each = Math.max(26, Math.floor(((process.stdout.columns || 160) - label - 3 * columns - 2) / columns))
  return [label, ...Array(columns).fill(each)]
}

function report(plain, guarded, routed) {
  console.log(
    `\nWhat the user of a tab opened before the deploy sees after v2 is deployed (Next.js ${VERSIONS.next}, headless Chromium):\n`,
  )
  const head = ['in the old tab', 'plain Next.js', 'with next-skew-guard', ...(routed ? [`guarded + routed (${routed.proxy})`] : [])]
  console.log(table([head, ...rows(plain, guarded, routed)], widths(head.length - 1)))
  const before = CLICKS.filter((c) => guarded.results.baseline[c.id] !== undefined)
    .map((c) => `${c.id} → "${guarded.results.baseline[c.id].shown}"`)
    .join(', ')
  console.log(`\nIn a v1 tab before the deploy: ${before}.`)
  const logs = (n) => `${n.notFound} "Failed to find Server Action", ${n.decrypt} decryption errors`
  console.log(`Plain Next.js's own log: ${logs(plain.nextLog.v2)} after the deploy; ${logs(plain.nextLog.rotated)} after the key rotation.`)
  console.log(
    `The guard's counters (GET /api/skew-stats): ${counters(guarded.stats.v2)} after the deploy; ` +
      `${counters(guarded.stats.rotated)} after the key rotation; ${counters(guarded.stats.keyChanged)} after the key change.`,
  )
}

// ---------------------------------------------------------------------------------------------

async function main() {
  fs.mkdirSync(path.dirname(LOG), { recursive: true })
  fs.writeFileSync(LOG, '')
  setProgressFile(LOG)
  console.log(`next-skew-guard demo: one Next.js ${VERSIONS.next} app deployed twice while tabs of the first deploy stay open.`)
  console.log(`Every step's output goes to ${LOG}.`)
  let t0 = Date.now()
  const { backend, cargo } = await setup()
  if (backend === 'js') {
    console.log(
      `Note: no Rust toolchain (cargo)${cargo ? '' : ' on this machine'}, so no native core: the demo runs on next-skew-guard's JavaScript backend ` +
        '(the same checks, slower). Install Rust from https://rustup.rs and run the demo again for the native core.',
    )
  }
  // Chosen explicitly (here, in the builds and in the servers), the JS backend prints no warning.
  if (backend === 'js') process.env.NEXT_SKEW_GUARD_BACKEND = 'js'
  const { generateKey } = createRequire(import.meta.url)('next-skew-guard')
  const keys = { k1: generateKey(), k2: generateKey(), k3: generateKey() }
  const app = await prepareApp({ major: 16, name: 'demo', backend })
  browser = await step('launching Chromium', () =>
    launchChromium(undefined, { handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false }),
  )
  ctx.browser = browser
  console.log(`✓ setup (${backend} core, Next.js ${VERSIONS.next}, Chromium): ${seconds(t0)}`)
  t0 = Date.now()
  const plain = await runVariant(app, 'plain', keys, ctx)
  console.log(`✓ plain Next.js: v1 and v2 built, v2 deployed over v1, the old tabs clicked: ${seconds(t0)}`)
  t0 = Date.now()
  const guarded = await runVariant(app, 'guard', keys, ctx)
  console.log(`✓ with next-skew-guard: the same, then policy 'reject' and two key changes: ${seconds(t0)}`)
  t0 = Date.now()
  const routed = await runRoutedVariant(app, guarded, keys, ctx)
  console.log(`✓ guarded + routed: v1 and v2 side by side behind ${routed.proxy}, v2 promoted, the old tabs clicked: ${seconds(t0)}`)
  await cleanup()
  report(plain, guarded, routed)
  console.log('\nLook at the first rows: plain Next.js throws or shows nothing where the guard reloads once and the')
  console.log('second click works; with routing the old tab keeps working on v1 and never reloads.')
  console.log(`✓ demo done in ${seconds(started)}; every server stopped. Log: ${LOG}`)
  // Nothing is left to wait for (idle HTTP keep-alive sockets would hold the event loop for seconds).
  process.exit(0)
}

main().catch(async (error) => {
  if (interrupted) return // the signal handler stops everything and exits 130
  console.error(`\n✗ demo failed: ${error instanceof Error ? error.message : error}`)
  await cleanup()
  console.error(`every server stopped; every step's output: ${LOG}`)
  process.exit(1)
})
