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
import { createRequire } from 'node:module'

import { loadPage } from '../../scripts/e2e/http.mjs'
import { startServer } from '../../scripts/e2e/server.mjs'
import { applyPlainOverlay, build, prepareApp, resetSources } from '../../scripts/e2e/setup.mjs'
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

/** One autocannon run; rejects when any answer is not a 2xx or a request fails. */
async function hammer(request, seconds) {
  const r = await autocannon({ ...request, connections: CONNECTIONS, duration: seconds })
  if (r.non2xx || r.errors || r.timeouts) {
    throw new Error(`${request.url}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`)
  }
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total }
}

/** Resolves `{ plain, guarded, throughputRatio, addedMedianLatencyMs, rounds }`. */
export async function measureLoad({ log = console.error } = {}) {
  const run = randomBytes(3).toString('hex')
  const key = generateKey()
  const app = await prepareApp({ major: 16, name: 'bench' })
  const servers = []
  try {
    // The guarded build first, served before the plain overlay replaces its sources (next start
    // reads next.config.mjs when it starts; the rest comes from the build directory).
    resetSources(app)
    const guardedBuild = await build(app, { name: 'bench-guarded', distDir: '.next-guarded', buildId: `bench-guarded-${run}`, key })
    const guarded = await startServer({ app, build: guardedBuild, key, label: 'bench guarded' })
    servers.push(guarded)
    applyPlainOverlay(app)
    const plainBuild = await build(app, { name: 'bench-plain', distDir: '.next-plain', buildId: `bench-plain-${run}`, key })
    const plain = await startServer({ app, build: plainBuild, key, label: 'bench plain' })
    servers.push(plain)

    const requests = {}
    for (const [name, server, b, headers] of [
      ['guarded', guarded, guardedBuild, { 'x-skew-guard-build': guardedBuild.buildId }],
      ['plain', plain, plainBuild, {}],
    ]) {
      const closure = b.actions.readNote
      const { payload } = await loadPage(server.url, closure)
      requests[name] = closureRequest(server, closure, payload, headers)
      const check = await fetch(requests[name].url, requests[name])
      const body = await check.text()
      if (check.status !== 200 || !body.includes('the server sealed')) {
        throw new Error(`${name}: the closure call answered ${check.status}: ${body.slice(0, 300)}`)
      }
    }
    for (const name of ['plain', 'guarded']) {
      log(`  load: warm-up ${name} (${WARMUP_SECONDS} s)…`)
      await hammer(requests[name], WARMUP_SECONDS)
    }
    const results = { plain: [], guarded: [] }
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? ['plain', 'guarded'] : ['guarded', 'plain']
      for (const name of order) {
        log(`  load: round ${r + 1}/${ROUNDS}, ${name}, ${CONNECTIONS} connections, ${SECONDS} s…`)
        results[name].push(await hammer(requests[name], SECONDS))
      }
    }
    const summary = (list) => ({
      rps: median(list.map((x) => x.rps)),
      p50Ms: median(list.map((x) => x.p50)),
      p99Ms: median(list.map((x) => x.p99)),
      requests: list.reduce((n, x) => n + x.total, 0),
    })
    const p = summary(results.plain)
    const g = summary(results.guarded)
    return {
      nextVersion: require(`${app.dir}/node_modules/next/package.json`).version,
      connections: CONNECTIONS,
      seconds: SECONDS,
      rounds: ROUNDS,
      plain: p,
      guarded: g,
      throughputRatio: g.rps / p.rps,
      addedMedianLatencyMs: g.p50Ms - p.p50Ms,
      perRound: results,
    }
  } finally {
    for (const s of servers) await s.stop().catch(() => {})
  }
}
