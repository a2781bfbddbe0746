// The load row: the example app (examples/next-app) on a real `next start` (Next.js 16), guarded as
// the README integrates it, against the same app as plain Next.js (applyPlainOverlay: no
// withSkewGuard, no proxy, no instrumentation), both taking closure Server Action calls with
// autocannon at concurrency 32. Each call carries sealed bound arguments, so the guarded server
// verifies a payload on every request. Rounds alternate plain, guarded, guarded, plain, … so drift
// in the machine's load hits both alike.
//
// Work copy: prepareApp({ name: 'bench' }) (os.tmpdir()/nsg-e2e/next-16/bench), never the e2e
// suite's or the demo's. Both servers listen on 127.0.0.1 and are stopped by their PID.
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { createRequire } from 'node:module'

import { loadPage } from '../../scripts/e2e/http.mjs'
import { startServer } from '../../scripts/e2e/server.mjs'
import { EXAMPLE, applyPlainOverlay, build, prepareApp, resetSources } from '../../scripts/e2e/setup.mjs'
import { median } from '../lib/measure.mjs'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon')
const { generateKey } = require('../..')

export const CONNECTIONS = 32
export const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 20)
export const ROUNDS = Number(process.env.BENCH_LOAD_ROUNDS ?? 2)
const WARMUP_SECONDS = 3
const BOUNDARY = '----nsg-bench-boundary'

/** A closure call as React's client sends it: multipart, field `1` the payload, `0` the arguments. */
function closureRequest(server, closureId, payload, extraHeaders) {
  const part = (name, value) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  return {
    url: `${server.url}/`,
    method: 'POST',
    headers: {
      'next-action': closureId,
      accept: 'text/x-component',
      'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
      ...extraHeaders,
    },
    body: part('1', JSON.stringify(payload)) + part('0', JSON.stringify(['$@1'])) + `--${BOUNDARY}--\r\n`,
  }
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

/** One autocannon run; rejects when any answer is not a 2xx or a request fails. */
async function hammer(request, seconds) {
  const r = await autocannon({ ...request, connections: CONNECTIONS, duration: seconds })
  if (r.non2xx || r.errors || r.timeouts) {
    throw new Error(`${request.url}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`)
  }
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total }
}

/**
 * Two more plain variants locate the guard's cost: the plain app plus a `proxy.ts` that only
 * returns `NextResponse.next()` (what Next.js's proxy machinery costs by itself), and one whose
 * proxy also reads the body of Server Action calls, as any payload check must.
 */
const PROXIES = {
  'noop-proxy': `import { NextResponse } from 'next/server'

export function proxy() {
  return NextResponse.next()
}
`,
  'body-proxy': `import { NextResponse, type NextRequest } from 'next/server'

export async function proxy(request: NextRequest) {
  if (request.method === 'POST' && request.headers.get('next-action')) await request.clone().text()
  return NextResponse.next()
}
`,
}
const MATCHER = `
export const config = { matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'] }
`

/**
 * Resolves `{ plain, guarded, throughputRatio, addedMedianLatencyMs, variants, … }`; with
 * BENCH_LOAD_PROXIES=0 only plain and guarded are built and measured.
 */
export async function measureLoad({ log = console.error } = {}) {
  const run = randomBytes(3).toString('hex')
  const key = generateKey()
  const app = await prepareApp({ major: 16, name: 'bench' })
  const servers = []
  const variants = {}
  const serve = async (name, b, headers = {}) => {
    const server = await startServer({ app, build: b, key, label: `bench ${name}` })
    servers.push(server)
    const closure = b.actions.readNote
    const { payload } = await loadPage(server.url, closure)
    const request = closureRequest(server, closure, payload, headers)
    const check = await fetch(request.url, request)
    const body = await check.text()
    if (check.status !== 200 || !body.includes('the server sealed')) {
      throw new Error(`${name}: the closure call answered ${check.status}: ${body.slice(0, 300)}`)
    }
    variants[name] = request
  }
  try {
    // Each variant is started right after its build: next start reads next.config.mjs when it
    // starts, the rest comes from its build directory, so the next overlay cannot affect it.
    resetSources(app)
    const guardedBuild = await build(app, { name: 'bench-guarded', distDir: '.next-guarded', buildId: `bench-guarded-${run}`, key })
    await serve('guarded', guardedBuild, { 'x-skew-guard-build': guardedBuild.buildId })
    applyPlainOverlay(app)
    const built = ['.next-guarded']
    hideFromTypeCheck(app, built)
    await serve('plain', await build(app, { name: 'bench-plain', distDir: '.next-plain', buildId: `bench-plain-${run}`, key }))
    built.push('.next-plain')
    if (process.env.BENCH_LOAD_PROXIES !== '0') {
      for (const [name, source] of Object.entries(PROXIES)) {
        fs.writeFileSync(path.join(app.dir, 'proxy.ts'), source + MATCHER)
        hideFromTypeCheck(app, built)
        await serve(name, await build(app, { name: `bench-${name}`, distDir: `.next-${name}`, buildId: `bench-${name}-${run}`, key }))
        built.push(`.next-${name}`)
      }
    }
    const names = Object.keys(variants)
    for (const name of names) {
      log(`  load: warm-up ${name} (${WARMUP_SECONDS} s)…`)
      await hammer(variants[name], WARMUP_SECONDS)
    }
    const results = Object.fromEntries(names.map((n) => [n, []]))
    for (let r = 0; r < ROUNDS; r++) {
      // plain, guarded, … then … guarded, plain: drift in the machine's load hits all alike.
      const order = r % 2 === 0 ? [...names].reverse() : names
      for (const name of order) {
        log(`  load: round ${r + 1}/${ROUNDS}, ${name}, ${CONNECTIONS} connections, ${SECONDS} s…`)
        results[name].push(await hammer(variants[name], SECONDS))
      }
    }
    const summary = (list) => ({
      rps: median(list.map((x) => x.rps)),
      p50Ms: median(list.map((x) => x.p50)),
      p99Ms: median(list.map((x) => x.p99)),
      requests: list.reduce((n, x) => n + x.total, 0),
    })
    const all = Object.fromEntries(names.map((n) => [n, summary(results[n])]))
    return {
      nextVersion: require(`${app.dir}/node_modules/next/package.json`).version,
      connections: CONNECTIONS,
      seconds: SECONDS,
      rounds: ROUNDS,
      plain: all.plain,
      guarded: all.guarded,
      throughputRatio: all.guarded.rps / all.plain.rps,
      addedMedianLatencyMs: all.guarded.p50Ms - all.plain.p50Ms,
      variants: all,
      perRound: results,
    }
  } finally {
    for (const s of servers) await s.stop().catch(() => {})
  }
}
