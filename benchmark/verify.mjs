#!/usr/bin/env node
// `npm run bench`: next-skew-guard's payload verification against what an app would otherwise use,
// measured in one run and printed as one table (case, time, baseline, ratio, target, pass/fail);
// the same data, with the machine it ran on, goes to benchmark/results.json. See README.md here.
//
//   BENCH_SKIP_LOAD=1    skip the `next start` rows (six Next.js builds, then 12 rounds × 11 variants × 4 s of load)
//   BENCH_LOAD_SECONDS / BENCH_LOAD_ROUNDS   seconds per variant per round (4), rounds (12)
//   BENCH_SKIP_CLIENT=1  skip the client-share build (<SkewGuard /> alone) and its rows
//   BENCH_SKIP_PHASES=1  skip the in-process profile of the guard's phases
//   BENCH_SKIP_FORWARD=1 skip the in-app forwarding rows
//   BENCH_SKIP_RUST=1    skip the Rust-level benchmark (cargo bench --bench verify)
//   BENCH_SKIP_MEMORY=1  skip the 5-million-call memory row
//   BENCH_ROUNDS=n       rounds per in-process case (default 9; the median is reported)
//   BENCH_STRICT=1       exit 1 when a target is missed
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

import { clientRows } from './cases/client.mjs'
import { machineInfo } from './lib/machine.mjs'
import { ROUNDS } from './lib/measure.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const skip = (name) => process.env[`BENCH_SKIP_${name}`] === '1'
const log = (line) => console.error(line)

const us = (x) => (x == null ? '' : x < 10 ? `${x.toFixed(2)} µs` : x < 1000 ? `${x.toFixed(1)} µs` : `${(x / 1000).toFixed(2)} ms`)
const times = (r) => (r == null ? '' : r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`)

async function main() {
  const started = Date.now()
  const machine = machineInfo()
  log(`next-skew-guard benchmark: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.rustc ?? 'no rustc'}`)
  log(`load average at start: ${machine.loadAverage.join(' ')} (timings from a busy machine compare only with each other)`)
  const rows = []

  log('in-process cases (interleaved rounds, median):')
  const { microRows } = await import('./cases/micro.mjs')
  rows.push(...(await microRows({ log })))

  let memory = null
  if (!skip('MEMORY')) {
    const { measureMemory, LIMIT_MB } = await import('./cases/memory.mjs')
    log('memory: 5 million verifySync calls in a child process…')
    memory = await measureMemory()
    rows.push({
      case: `memory: RSS growth over ${memory.calls.toLocaleString('en')} verifySync calls`,
      oursText: `${memory.growthMB >= 0 ? '+' : ''}${memory.growthMB.toFixed(1)} MB`,
      baselineText: `RSS ${memory.startMB.toFixed(0)} → ${memory.endMB.toFixed(0)} MB`,
      target: `≤ ${LIMIT_MB} MB`,
      pass: memory.growthMB <= LIMIT_MB,
      memory,
    })
  }

  let rust = null
  if (!skip('RUST')) {
    const { runRustBench } = await import('./cases/rust.mjs')
    log('Rust core without Node.js:')
    rust = runRustBench({ log })
    if (rust.skipped) log(`  skipped: ${rust.skipped}`)
    for (const r of rust.rows ?? []) {
      if (!/^payload::verify|^AES|^atob/.test(r.name)) continue
      rows.push({ case: `Rust core alone: ${r.name}`, ours: r.ns / 1000, info: true })
    }
  }

  let load = null
  if (!skip('LOAD')) {
    const { measureLoad } = await import('./cases/load.mjs')
    log('load: the example on next start (Next.js 16), no proxy / empty / body-reading / guarded proxy, action mix and page GETs…')
    load = await measureLoad({ log })
    rows.push(...loadRows(load))
    if (load.client) rows.push(...clientRows(load.client))
  }

  let phases = null
  if (!skip('PHASES')) {
    const { measurePhases } = await import('./cases/phases.mjs')
    log("the guard's own CPU per action request, by phase (in-process profile)…")
    phases = await measurePhases()
    rows.push(...phaseRows(phases))
  }

  let forward = null
  if (!skip('FORWARD')) {
    const { measureForward } = await import('./cases/forward.mjs')
    log(
      "in-app forwarding: the current build's requests with forwarding on and off; a forwarded action POST against the same POST sent directly…",
    )
    forward = await measureForward()
    rows.push(...forwardRows(forward))
  }

  printTable(rows, machine)
  const scored = rows.filter((r) => r.pass != null)
  const failed = scored.filter((r) => !r.pass)
  const skipped = ['LOAD', 'RUST', 'MEMORY', 'PHASES', 'CLIENT', 'FORWARD'].filter(skip)
  console.log(
    `\n${scored.length - failed.length} of ${scored.length} targets met${skipped.length ? ` (skipped: ${skipped.join(', ')})` : ''}; ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  )

  const results = {
    date: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: machineInfo().loadAverage },
    method: { rounds: ROUNDS, statistic: 'median of interleaved rounds; ratio = baseline median / candidate median' },
    rows: rows.map(({ memory: _m, load: _l, ...r }) => r),
    memory,
    load,
    phases,
    forward,
    rust,
  }
  fs.writeFileSync(path.join(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  console.log(`results: ${path.relative(process.cwd(), path.join(HERE, 'results.json')) || 'results.json'}`)
  if (failed.length && process.env.BENCH_STRICT === '1') process.exitCode = 1
}

function printTable(rows, machine) {
  const cells = rows.map((r) => [
    r.case,
    r.oursText ?? us(r.ours) + (r.mbps ? ` (${r.mbps.toFixed(0)} MB/s)` : ''),
    r.baselineText ?? (r.baseline ? `${r.baseline.name} ${us(r.baseline.us)}` : ''),
    r.ratioText ?? times(r.ratio),
    r.target ?? (r.info ? 'info' : ''),
    r.pass == null ? '' : r.pass ? 'PASS' : 'FAIL',
    r.note ?? '',
  ])
  const head = ['case', 'next-skew-guard', 'baseline', 'ratio', 'target', 'result', '']
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const line = (c) =>
    c
      .map((x, i) => (i === 3 ? x.padStart(widths[i]) : x.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  console.log(
    `\nnext-skew-guard ${machine.platform}, ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, ${ROUNDS} rounds, AES-256-GCM`,
  )
  console.log(
    'ratio: how many times faster than the baseline (keyring row: time relative to one key; load: throughput relative to the named baseline, same run)\n',
  )
  console.log(line(head))
  console.log(line(widths.map((w) => '-'.repeat(w))))
  for (const c of cells) console.log(line(c))
}

const pct = (r) => `${(r * 100).toFixed(1)} %`
const ms = (x) => `${x.toFixed(2)} ms`

/** Rows of the load run: every variant's throughput and the ratios the issue sets targets for. */
function loadRows(load) {
  const v = load.variants
  const what = `next start (Next.js ${load.nextVersion}), c=${load.connections}, ${load.rounds}×${load.seconds} s`
  const row = (label, name, base, target, limit) => {
    const ratio = load.ratios[`${name} / ${BASES[base]}`]
    return {
      case: label,
      oursText: `${v[name].rps.toFixed(0)} req/s`,
      baselineText: `${base} ${v[BASES[base]].rps.toFixed(0)} req/s`,
      ratio,
      ratioText: pct(ratio),
      ...(target ? { target: `≥ ${limit * 100} %`, pass: ratio >= limit } : { info: true }),
      note: `p50 ${v[name].p50Ms} ms, server CPU ${ms(v[name].cpuMsPerRequest)}/request (baseline ${ms(v[BASES[base]].cpuMsPerRequest)})`,
    }
  }
  const rows = [
    {
      case: `load: action mix (the load run's), ${what}: app without proxy.ts`,
      oursText: `${v.app.rps.toFixed(0)} req/s`,
      info: true,
      note: `p50 ${v.app.p50Ms} ms, server CPU ${ms(v.app.cpuMsPerRequest)}/request`,
    },
    row('load: action mix, + empty pass-through proxy (recipe matcher)', 'empty', 'no proxy', false),
    row('load: action mix, + body-reading pass-through proxy (clone().text())', 'body', 'empty proxy', false),
    row('load: action mix, guarded, no previous keys', 'guarded-0', 'empty proxy', true, 0.95),
    row('load: action mix, guarded, one previous key (closure check on)', 'guarded-1', 'empty proxy', true, 0.85),
    row('load: action mix, plain Next.js (no next-skew-guard at all)', 'plain', 'no proxy', false),
    row(
      'load: closure calls only, guarded, no previous keys (body read + verify on every request)',
      'guarded-0 closure',
      'empty proxy, closures',
      false,
    ),
    row('load: page GETs, guarded with the recipe matcher', 'guarded-0 GET', 'no proxy, GETs', true, 0.97),
    row('load: page GETs, plain Next.js (no next-skew-guard at all)', 'plain GET', 'no proxy, GETs', false),
  ]
  const unexpected = Object.entries({
    ...prefixed('guarded-0', v['guarded-0'].answers),
    ...prefixed('guarded-1', v['guarded-1'].answers),
    ...prefixed('GET', v['guarded-0 GET'].answers),
  }).filter(([k]) => k.includes('UNEXPECTED'))
  rows.push({
    case: "load: every answer of the guarded variants is the documented one (the load run's classification)",
    oursText: `${unexpected.reduce((n, [, c]) => n + c, 0)} unexpected`,
    target: '0',
    pass: unexpected.length === 0,
    note: unexpected
      .map(([k, c]) => `${k}: ${c}`)
      .join('; ')
      .slice(0, 200),
  })
  return rows
}

const BASES = { 'no proxy': 'app', 'empty proxy': 'empty', 'empty proxy, closures': 'empty closure', 'no proxy, GETs': 'app GET' }

function prefixed(prefix, answers) {
  return Object.fromEntries(Object.entries(answers ?? {}).map(([k, n]) => [`${prefix} ${k}`, n]))
}

/** Rows of the phase profile. */
function phaseRows(p) {
  return [
    {
      case: `guard in-process on the action mix (one previous key): the guard vs the empty proxy's NextResponse.next()`,
      oursText: `${p.guardUs.toFixed(1)} µs`,
      baselineText: `empty ${p.emptyUs.toFixed(1)} µs`,
      info: true,
      note: `own share ${(p.guardUs - p.emptyUs).toFixed(1)} µs/request`,
    },
    {
      case: 'guard in-process: a valid closure call (body read + verify) vs a valid module call (headers only)',
      oursText: `${p.closureUs.toFixed(1)} µs`,
      baselineText: `module call ${p.moduleUs.toFixed(1)} µs`,
      info: true,
    },
    ...p.phases.map(({ phase, us }, i) => ({
      case: `guard phase (profile), per request of the mix / of a closure call: ${phase}`,
      oursText: `${us.toFixed(2)} µs`,
      baselineText: `closure call ${p.closurePhases[i].us.toFixed(2)} µs`,
      info: true,
    })),
  ]
}

/** Rows of in-app forwarding: free for the current build's requests; the hop's price for a forwarded one. */
function forwardRows(f) {
  return [
    {
      case: "forward: the current build's action calls, guard with in-app forwarding on vs off (the routing decision)",
      oursText: `${f.currentForwardUs.toFixed(1)} µs`,
      baselineText: `off ${f.currentUs.toFixed(1)} µs`,
      ratio: f.ratio,
      ratioText: pct(f.ratio),
      target: '≥ 97 %',
      pass: f.ratio >= 0.97,
    },
    {
      case: 'forward: an action POST forwarded to a retained deployment (loopback) vs the same POST sent to it directly',
      oursText: us(f.forwardedUs),
      baselineText: `direct ${us(f.directUs)}`,
      info: true,
      note: `the hop adds ${us(f.forwardedUs - f.directUs)} per forwarded request`,
    },
  ]
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
