// The load rows: the example app (examples/next-app) on a real `next start` (Next.js 16) under
// autocannon at concurrency 64, one build per variant, every variant measured once per round,
// each next to its baseline (interleaved; the order reversed every other round), and every ratio
// the median of the per-round ratios:
//
//   app      the example as the README integrates it (withSkewGuard, instrumentation, <SkewGuard />,
//            safe actions) without proxy.ts: what Next.js costs with no proxy at all
//   empty    + a proxy.ts that returns NextResponse.next(), with the recipe's matcher
//   body     + a proxy.ts that also reads every action body through a clone (what a naive check does)
//   guarded  + proxy.ts = skewGuard() with the recipe's matcher (docs/performance.md), started twice:
//            without previous keys (guarded-0) and with one (guarded-1)
//   plain    the example without any next-skew-guard touch point (applyPlainOverlay), for reference
//
// Requests: the load run's action mix (scripts/load/mix.mjs: valid calls and closures, unknown IDs,
// stale builds, previous-key and unknown-key closures, malformed bodies), the closure call alone,
// and page GETs (a browser's document request for `/`). The server's own CPU time per request comes
// from /proc (every process of its group), so what Next.js itself spends is visible next to the
// guard's share. Every answer of the guarded variants is classified as the load run classifies it.
//
// Work copy: prepareApp({ name: 'bench' }) (os.tmpdir()/nsg-e2e/next-16/bench), never the e2e
// suite's. Servers listen on 127.0.0.1 and are stopped by their PID.
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'

import { loadPage } from '../../scripts/e2e/http.mjs'
import { startServer } from '../../scripts/e2e/server.mjs'
import { EXAMPLE, applyPlainOverlay, build, prepareApp, resetSources } from '../../scripts/e2e/setup.mjs'
import { requestKinds } from '../../scripts/load/mix.mjs'
import { median } from '../lib/measure.mjs'
import { recipeConfig } from '../lib/recipe.mjs'
import { GUARD_ONLY_LAYOUT, measureFirstLoad } from './client.mjs'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon')
const { generateKey, Keyring } = require('../..')

export const CONNECTIONS = 64
export const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 4)
export const ROUNDS = Number(process.env.BENCH_LOAD_ROUNDS ?? 12)
const WARMUP_SECONDS = 3
const CLOCK_TICK_MS = 10 // USER_HZ = 100 on Linux

/** Measured next to each other in every round: a baseline first, then what is compared with it. */
const GROUPS = [
  ['empty', 'guarded-0', 'guarded-1', 'body'],
  ['empty closure', 'guarded-0 closure'],
  ['app GET', 'guarded-0 GET', 'plain GET'],
  ['app', 'plain'],
]

/** The ratios reported (throughput of the first over the second, per round, then the median). */
export const PAIRS = [
  ['empty', 'app'],
  ['body', 'empty'],
  ['guarded-0', 'empty'],
  ['guarded-1', 'empty'],
  ['plain', 'app'],
  ['guarded-0 closure', 'empty closure'],
  ['guarded-0 GET', 'app GET'],
  ['plain GET', 'app GET'],
]

/** proxy.ts of each proxied variant; the recipe's matcher is appended to each. */
const PROXIES = {
  empty: `import { NextResponse } from 'next/server'

export function proxy() {
  return NextResponse.next()
}
`,
  body: `import { NextResponse, type NextRequest } from 'next/server'

export async function proxy(request: NextRequest) {
  await request.clone().text()
  return NextResponse.next()
}
`,
  guarded: `import { skewGuard } from 'next-skew-guard/proxy'

export const proxy = skewGuard()
`,
}

/**
 * Each build writes route types for its own sources and adds its directory to tsconfig.json; the
 * next variant's build would type-check them and fail. Put the example's tsconfig back, with the
 * earlier build directories excluded.
 */
function hideFromTypeCheck(app, distDirs) {
  const tsconfig = JSON.parse(fs.readFileSync(path.join(EXAMPLE, 'tsconfig.json'), 'utf8'))
  tsconfig.exclude = [...(tsconfig.exclude ?? []), ...distDirs]
  fs.writeFileSync(path.join(app.dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`)
}

/** CPU time (ms) of every process in the group led by `pid` (the server and any workers). */
function groupCpuMs(pid) {
  let ticks = 0
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    // Fields after the command name (which may hold spaces): state is field 3, pgrp 5, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[2]) === pid) ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks * CLOCK_TICK_MS
}

/** One autocannon run; `classify(status, headers, body, variant)` → label or null for unexpected answers. */
function hammer(target, seconds) {
  const tally = new Map()
  const requests = target.requests.map(({ classify, variant, ...request }) => ({
    ...request,
    ...(classify
      ? {
          onResponse(status, body, _context, headers) {
            const label = classify(status, headers, body, variant) ?? `UNEXPECTED ${status} ${headers['x-skew-guard'] ?? ''}`.trim()
            const key = `${variant}: ${label}`
            tally.set(key, (tally.get(key) ?? 0) + 1)
          },
        }
      : {}),
  }))
  const cpuBefore = groupCpuMs(target.server.pid)
  return new Promise((resolve, reject) => {
    autocannon({ url: target.server.url, connections: CONNECTIONS, duration: seconds, requests, timeout: 30 }, (error, r) => {
      if (error) return reject(error)
      const cpuMs = groupCpuMs(target.server.pid) - cpuBefore
      if (r.errors || r.timeouts) return reject(new Error(`${target.name}: ${r.errors} errors, ${r.timeouts} timeouts`))
      resolve({
        rps: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        total: r.requests.total,
        cpuMsPerRequest: cpuMs / r.requests.total,
        answers: Object.fromEntries(tally),
      })
    })
  })
}

/** The load run's mix against one server, each request with its expected answer where the guard runs. */
async function actionMix(server, b, { guard, previousKey, keys }) {
  const closure = b.actions.readNote
  const page = await loadPage(server.url, closure)
  const { rows } = new Keyring({ current: keys.current }).openSync(page.payload, closure)
  const payloads = {
    current: page.payload,
    previous: new Keyring({ current: keys.previous }).sealSync(closure, rows),
    foreign: new Keyring({ current: generateKey() }).sealSync(closure, rows),
  }
  // The deploy before this one: an old page's build and its renamed action (an ID no build has).
  const v1 = { buildId: 'bench-previous-deploy', actions: { greet: `7f${randomBytes(20).toString('hex')}` } }
  const kinds = requestKinds({ v1, v2: b, payloads })
  return kinds.flatMap(({ kind, requests, expect }) =>
    requests.map(({ variant, method, path: p, headers, body }) => {
      let classify = null
      if (guard) {
        if (kind === 'malformed') classify = (status, h) => (status === 500 && !h['x-skew-guard'] ? `${status} Next.js refused` : null)
        else if (kind === 'previous-key closure' && !previousKey) {
          // Without previous keys that key is one the server never had: Next.js's 500, marked.
          classify = (status, h) => (status === 500 && h['x-skew-guard'] === 'unknown-key' ? '500 marked unknown-key' : null)
        } else classify = expect
      }
      return { kind, variant: `${kind} / ${variant}`, method, path: p, headers, body, classify }
    }),
  )
}

/** A browser's document request for the page. */
const PAGE_GET = [
  {
    variant: 'GET /',
    method: 'GET',
    path: '/',
    headers: {
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'sec-fetch-dest': 'document',
      'sec-fetch-mode': 'navigate',
    },
  },
]

/**
 * Builds every variant, measures them in interleaved rounds, and resolves
 * `{ nextVersion, connections, seconds, rounds, variants: { name: summary }, perRound, client }`.
 * BENCH_SKIP_CLIENT=1 leaves out the client-share build.
 */
export async function measureLoad({ log = console.error } = {}) {
  const run = randomBytes(3).toString('hex')
  const keys = { current: generateKey(), previous: generateKey() }
  const app = await prepareApp({ major: 16, name: 'bench' })
  const servers = []
  const built = []
  const serve = async (name, b, options = {}) => {
    const server = await startServer({ app, build: b, key: keys.current, label: `bench ${name}`, ...options })
    servers.push(server)
    return server
  }
  const buildVariant = async (name) => {
    hideFromTypeCheck(app, built)
    const b = await build(app, { name: `bench-${name}`, distDir: `.next-${name}`, buildId: `bench-${name}-${run}`, key: keys.current })
    built.push(`.next-${name}`)
    return b
  }
  const noHealth = { readyPath: '/', expectBuildId: null }
  const targets = []
  const target = (name, server, requests, extra = {}) => targets.push({ name, server, requests, ...extra })
  try {
    // Each variant is started right after its build: next start reads next.config.mjs when it
    // starts, the rest comes from its build directory, so the next overlay cannot affect it.
    resetSources(app)
    fs.rmSync(path.join(app.dir, 'proxy.ts'), { force: true })
    const appBuild = await buildVariant('app')
    const appServer = await serve('app', appBuild, noHealth)
    const mixOf = (server, b, options) => actionMix(server, b, { keys, ...options })
    target('app', appServer, await mixOf(appServer, appBuild, {}))
    target('app GET', appServer, PAGE_GET)

    const proxied = {}
    for (const name of ['empty', 'body', 'guarded']) {
      fs.writeFileSync(path.join(app.dir, 'proxy.ts'), `${PROXIES[name]}\nexport const config = ${recipeConfig()}\n`)
      proxied[name] = await buildVariant(name)
      if (name !== 'guarded') {
        const server = await serve(name, proxied[name], noHealth)
        target(name, server, await mixOf(server, proxied[name], {}))
        if (name === 'empty')
          target(
            'empty closure',
            server,
            (await mixOf(server, proxied[name], {})).filter((r) => r.kind === 'valid closure'),
          )
      }
    }
    const guarded0 = await serve('guarded-0', proxied.guarded)
    const guarded1 = await serve('guarded-1', proxied.guarded, { previousKeys: [keys.previous] })
    target('guarded-0', guarded0, await mixOf(guarded0, proxied.guarded, { guard: true, previousKey: false }))
    target('guarded-1', guarded1, await mixOf(guarded1, proxied.guarded, { guard: true, previousKey: true }))
    target(
      'guarded-0 closure',
      guarded0,
      (await mixOf(guarded0, proxied.guarded, { guard: true })).filter((r) => r.kind === 'valid closure'),
    )
    target(
      'guarded-0 GET',
      guarded0,
      PAGE_GET.map((r) => ({ ...r, classify: (status, h) => (status === 200 && !h['x-build-id'] ? '200, proxy not run' : null) })),
    )

    const client = process.env.BENCH_SKIP_CLIENT === '1' ? null : { example: await measureFirstLoad(appServer.url) }

    applyPlainOverlay(app)
    const plainBuild = await buildVariant('plain')
    const plainServer = await serve('plain', plainBuild, noHealth)
    target('plain', plainServer, await mixOf(plainServer, plainBuild, {}))
    target('plain GET', plainServer, PAGE_GET)
    if (client) {
      client.plain = await measureFirstLoad(plainServer.url)
      // <SkewGuard /> alone: plain Next.js with it in the layout, and withSkewGuard (cases/client.mjs).
      fs.writeFileSync(path.join(app.dir, 'app', 'layout.tsx'), GUARD_ONLY_LAYOUT)
      fs.copyFileSync(path.join(EXAMPLE, 'next.config.mjs'), path.join(app.dir, 'next.config.mjs'))
      const guardOnly = await serve('guard-only', await buildVariant('guard-only'), noHealth)
      client.guardOnly = await measureFirstLoad(guardOnly.url)
      await guardOnly.stop()
    }

    for (const t of targets) {
      log(`  load: warm-up ${t.name} (${WARMUP_SECONDS} s)…`)
      await hammer(t, WARMUP_SECONDS)
    }
    const perRound = Object.fromEntries(targets.map((t) => [t.name, []]))
    const byName = Object.fromEntries(targets.map((t) => [t.name, t]))
    for (let r = 0; r < ROUNDS; r++) {
      // Each baseline runs right next to what it is compared with, and every other round the
      // order is reversed: a burst of load from other work hits a pair alike, and the ratios are
      // taken per round before the median.
      const groups = r % 2 ? [...GROUPS].reverse().map((g) => [...g].reverse()) : GROUPS
      for (const name of groups.flat()) {
        log(`  load: round ${r + 1}/${ROUNDS}, ${name}, c=${CONNECTIONS}, ${SECONDS} s…`)
        perRound[name].push(await hammer(byName[name], SECONDS))
      }
    }
    const ratios = Object.fromEntries(
      PAIRS.map(([name, base]) => [`${name} / ${base}`, median(perRound[name].map((x, i) => x.rps / perRound[base][i].rps))]),
    )
    const variants = Object.fromEntries(
      Object.entries(perRound).map(([name, list]) => [
        name,
        {
          rps: median(list.map((x) => x.rps)),
          p50Ms: median(list.map((x) => x.p50)),
          p99Ms: median(list.map((x) => x.p99)),
          cpuMsPerRequest: median(list.map((x) => x.cpuMsPerRequest)),
          requests: list.reduce((n, x) => n + x.total, 0),
          answers: mergeAnswers(list.map((x) => x.answers)),
        },
      ]),
    )
    return {
      nextVersion: require(`${app.dir}/node_modules/next/package.json`).version,
      connections: CONNECTIONS,
      seconds: SECONDS,
      rounds: ROUNDS,
      variants,
      ratios,
      perRound,
      client,
    }
  } finally {
    for (const s of servers) await s.stop().catch(() => {})
  }
}

function mergeAnswers(list) {
  const out = {}
  for (const answers of list) for (const [k, n] of Object.entries(answers)) out[k] = (out[k] ?? 0) + n
  return out
}
