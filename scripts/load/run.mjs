// One load run against a guarded `next start` (Next.js 16): start the v2 server with a rotated key,
// make the closure payloads, check every request variant once, warm up, measure the server's idle
// RSS, send the mix with autocannon, check the server is alive and answers its health endpoint,
// measure the idle RSS again and compare the guard's own counters with what was sent.
// The server is stopped by its PID whatever happens.
import { createRequire } from 'node:module'

import { loadPage, skewStats } from '../e2e/http.mjs'
import { progress, step } from '../e2e/log.mjs'
import { startServer } from '../e2e/server.mjs'
import { settledRss } from './memory.mjs'
import { requestKinds } from './mix.mjs'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon')
const { generateKey, Keyring } = require('next-skew-guard')

/**
 * What Next.js 16.4.6 answers the malformed variants, which the guard lets through unmarked (they
 * are not skew, and the guard never refuses traffic for reasons of its own): a truncated multipart
 * body, a payload that is not base64 and arguments that are not JSON all make Next.js's decoding
 * throw inside the action handler, and it answers with its own 500 and an error digest row.
 */
const MALFORMED = {
  'truncated multipart': [500],
  'payload not base64': [500],
  'args not JSON': [500],
}

/** Guard counters each kind must move, per request sent (the cross-check of the classification). */
const COUNTED = {
  'unknown ID': 'unknown-action',
  'stale build': 'stale-build',
  'previous-key closure': 'key-rotated',
  'unknown-key closure': 'unknown-key',
}

function expectMalformed(status, headers, body, variant) {
  if (headers['x-skew-guard'] || !/^1:E\{"digest":/m.test(body)) return null
  return MALFORMED[variant]?.includes(status) ? `${status} Next.js refused (digest)` : null
}

/** The kinds with their expectation functions complete. */
function kindsFor(builds, payloads) {
  return requestKinds({ v1: builds.v1, v2: builds.v2, payloads }).map((k) => ({ ...k, expect: k.expect ?? expectMalformed }))
}

/** Sealed arguments of v2's inline closure under the runtime key, the previous key and a foreign key. */
async function makePayloads(server, builds) {
  const closure = builds.v2.actions.readNote
  const page = await loadPage(server.url, closure)
  const { rows, keyIndex } = new Keyring({ current: builds.keys.runtime }).openSync(page.payload, closure)
  if (keyIndex !== 0) throw new Error('the page was not sealed with the runtime key')
  return {
    current: page.payload,
    previous: new Keyring({ current: builds.keys.build }).sealSync(closure, rows),
    foreign: new Keyring({ current: generateKey() }).sealSync(closure, rows),
  }
}

/** Sends every variant once with fetch and returns the ones whose answer is not the expected one. */
async function probe(url, kinds) {
  const wrong = []
  for (const { kind, requests, expect } of kinds) {
    for (const r of requests) {
      const response = await fetch(url + r.path, { method: r.method, headers: r.headers, body: r.body, redirect: 'manual' })
      const body = await response.text()
      const headers = Object.fromEntries(response.headers)
      if (!expect(response.status, headers, body, r.variant)) {
        wrong.push({ kind, variant: r.variant, status: response.status, guard: headers['x-skew-guard'] ?? null, body: body.slice(0, 200) })
      }
    }
  }
  return wrong
}

/**
 * Sends `amount` requests of the mix over `connections` keep-alive connections (autocannon); every
 * answer is classified by the expectation of its kind. Resolves the tallies.
 */
function fire(url, kinds, { amount, connections }) {
  const table = new Map()
  const unexpected = []
  let answered = 0
  const tally = (kind, label) => {
    const row = table.get(kind) ?? new Map()
    row.set(label, (row.get(label) ?? 0) + 1)
    table.set(kind, row)
  }
  // One flat sequence; each connection walks it from the start, so the mix holds per connection.
  const requests = kinds.flatMap(({ kind, requests: variants, expect }) =>
    variants.map(({ variant, method, path, headers, body }) => ({
      method,
      path,
      headers,
      body,
      onResponse(status, responseBody, _context, responseHeaders) {
        answered++
        const label = expect(status, responseHeaders, responseBody, variant)
        if (label) tally(kind, `${variant}: ${label}`)
        else {
          tally(kind, `${variant}: UNEXPECTED ${status}${responseHeaders['x-skew-guard'] ? ` ${responseHeaders['x-skew-guard']}` : ''}`)
          if (unexpected.length < 10) unexpected.push({ kind, variant, status, body: String(responseBody).slice(0, 200) })
        }
      },
    })),
  )
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, connections, amount, requests, timeout: 30, bailout: 1000 }, (error, result) => {
      if (error) reject(error)
      else {
        const perKind = kinds.map(({ kind }) => ({ kind, answers: Object.fromEntries(table.get(kind) ?? []) }))
        resolve({ result, perKind, unexpected, answered })
      }
    })
    // Bounded: autocannon stops after `amount`; this is only a guard against a hung run.
    const guard = setTimeout(() => instance.stop(), 20 * 60_000)
    instance.on('done', () => clearTimeout(guard))
  })
}

/** Requests of each kind in a tally, summed over its variants. */
function sentOf(perKind, kind) {
  return Object.values(perKind.find((k) => k.kind === kind)?.answers ?? {}).reduce((a, b) => a + b, 0)
}

/**
 * The whole run. Resolves a report; throws only when the run could not be made (the server did
 * not start, the probe failed). Judging the report is the caller's (see `verdicts`).
 *
 * @param {object} builds  from prepareBuilds()
 * @param {{ total?: number, connections?: number, warmup?: number }} [o]
 */
export async function runLoad(builds, { total = 20_000, connections = 64, warmup = 5_000 } = {}) {
  const server = await startServer({
    app: builds.app,
    build: builds.v2,
    key: builds.keys.runtime,
    previousKeys: [builds.keys.build],
    label: 'load v2',
  })
  try {
    const payloads = await makePayloads(server, builds)
    const kinds = kindsFor(builds, payloads)
    const wrong = await step('checking every request variant once', () => probe(server.url, kinds))
    if (wrong.length) throw new Error(`request variants answered unexpectedly before the run:\n${JSON.stringify(wrong, null, 2)}`)

    await step(`warm-up: ${warmup} requests`, () => fire(server.url, kinds, { amount: warmup, connections }))
    const start = await step('idle RSS after warm-up', () => settledRss(server.pid, { stableSamples: 6, maxSamples: 40 }))
    const before = await skewStats(server.url)

    const run = await step(`${total} requests at concurrency ${connections}`, () => fire(server.url, kinds, { amount: total, connections }))

    let alive = true
    try {
      process.kill(server.pid, 0)
    } catch {
      alive = false
    }
    const healthResponse = alive ? await fetch(`${server.url}/api/health`).catch(() => null) : null
    const health = healthResponse ? { status: healthResponse.status, body: await healthResponse.json().catch(() => null) } : null
    const after = await skewStats(server.url)
    const end = await step('idle RSS after the run', () =>
      settledRss(server.pid, { maxSamples: 120, until: (rss) => start.rss !== null && rss <= start.rss * 1.1 }),
    )

    const counters = Object.entries(COUNTED).map(([kind, counter]) => ({
      kind,
      counter,
      sent: sentOf(run.perKind, kind),
      counted: after.byKind[counter] - before.byKind[counter],
    }))
    const output = server.output()
    return {
      url: server.url,
      pid: server.pid,
      total,
      connections,
      warmup,
      sent: run.result.requests.sent ?? run.result.requests.total,
      answered: run.answered,
      errors: run.result.errors,
      timeouts: run.result.timeouts,
      durationS: run.result.duration,
      perKind: run.perKind,
      unexpected: run.unexpected,
      kinds: kinds.map(({ kind, why }) => ({ kind, why })),
      alive,
      health,
      buildId: builds.v2.buildId,
      counters,
      rss: { start: start.rss, end: end.rss, startSamples: start.samples, endSamples: end.samples },
      // The server's own output is kept only in part (the e2e harness caps it): the process
      // check and the health answer above are what prove it alive; these marks are extra.
      crashed: /uncaughtException|unhandledRejection|FATAL ERROR|Segmentation fault/.test(output),
      // Counted by the guard itself (it logs ERR_GUARD once, but counts every occurrence).
      guardFailures: (after.configErrors.ERR_GUARD ?? 0) - (before.configErrors.ERR_GUARD ?? 0),
    }
  } finally {
    await server.stop()
    progress('load v2 server stopped')
  }
}

/** The pass/fail checks of a report: `[{ check, ok, detail }]`. */
export function verdicts(report) {
  const unexpected = report.perKind.flatMap(({ kind, answers }) =>
    Object.entries(answers)
      .filter(([label]) => label.includes('UNEXPECTED'))
      .map(([label, n]) => `${kind} / ${label}: ${n}`),
  )
  const growth = report.rss.start && report.rss.end ? report.rss.end / report.rss.start - 1 : null
  return [
    { check: `${report.total} requests answered`, ok: report.answered === report.total, detail: `${report.answered} answered` },
    {
      check: 'no connection errors or timeouts',
      ok: report.errors === 0 && report.timeouts === 0,
      detail: `${report.errors} errors, ${report.timeouts} timeouts`,
    },
    {
      check: 'every answer the expected one for its kind (no unexpected 5xx)',
      ok: unexpected.length === 0,
      detail: unexpected.join('; ') || 'all expected',
    },
    {
      check: 'server alive and healthy',
      ok: report.alive && !report.crashed && report.health?.status === 200 && report.health.body?.buildId === report.buildId,
      detail: `alive ${report.alive}, health ${report.health?.status ?? 'none'}, crash marks ${report.crashed}`,
    },
    { check: 'the guard never failed on a request', ok: report.guardFailures === 0, detail: `${report.guardFailures} ERR_GUARD counted` },
    {
      check: "the guard's counters match what was sent",
      ok: report.counters.every((c) => c.sent > 0 && c.counted === c.sent),
      detail: report.counters.map((c) => `${c.counter} ${c.counted}/${c.sent}`).join(', '),
    },
    {
      check: 'idle RSS back within 10 % of the start',
      ok: growth !== null && growth <= 0.1,
      detail: growth === null ? 'RSS not readable' : `${(growth * 100).toFixed(1)} %`,
    },
  ]
}
