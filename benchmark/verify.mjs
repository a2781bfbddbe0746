#!/usr/bin/env node
// `npm run bench`: next-skew-guard's payload verification against what an app would otherwise use,
// measured in one run and printed as one table (case, time, baseline, ratio, target, pass/fail);
// the same data, with the machine it ran on, goes to benchmark/results.json. See README.md here.
//
//   BENCH_SKIP_LOAD=1    skip the `next start` load rows (four Next.js builds, 2 rounds × 4 × 20 s of load)
//   BENCH_LOAD_PROXIES=0 load: only guarded and plain, without the two proxy-only reference variants
//   BENCH_SKIP_RUST=1    skip the Rust-level benchmark (cargo bench --bench verify)
//   BENCH_SKIP_MEMORY=1  skip the 5-million-call memory row
//   BENCH_ROUNDS=n       rounds per in-process case (default 9; the median is reported)
//   BENCH_STRICT=1       exit 1 when a target is missed
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

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
    log('load: guarded vs plain `next start` (Next.js 16), closure calls…')
    load = await measureLoad({ log })
    rows.push({
      case: `load: closure calls, next start (Next.js ${load.nextVersion}), c=${load.connections}, ${load.rounds}×${load.seconds} s`,
      oursText: `${load.guarded.rps.toFixed(0)} req/s`,
      baselineText: `plain Next.js ${load.plain.rps.toFixed(0)} req/s`,
      ratio: load.throughputRatio,
      ratioText: `${(load.throughputRatio * 100).toFixed(1)} %`,
      target: '≥ 95 %',
      pass: load.throughputRatio >= 0.95,
      note: `median latency ${load.guarded.p50Ms} ms vs ${load.plain.p50Ms} ms (${load.addedMedianLatencyMs >= 0 ? '+' : ''}${load.addedMedianLatencyMs.toFixed(1)} ms)`,
      load,
    })
    // Where the guard's cost comes from: Next.js's proxy machinery alone, and with the body read.
    const what = { 'noop-proxy': 'plain + proxy.ts returning NextResponse.next()', 'body-proxy': 'plain + proxy.ts reading action bodies' }
    for (const [name, label] of Object.entries(what)) {
      const v = load.variants[name]
      if (!v) continue
      rows.push({
        case: `load: ${label}`,
        oursText: `${v.rps.toFixed(0)} req/s`,
        baselineText: `plain Next.js ${load.plain.rps.toFixed(0)} req/s`,
        ratio: v.rps / load.plain.rps,
        ratioText: `${((v.rps / load.plain.rps) * 100).toFixed(1)} %`,
        info: true,
        note: `median latency ${v.p50Ms} ms`,
      })
    }
  }

  printTable(rows, machine)
  const scored = rows.filter((r) => r.pass != null)
  const failed = scored.filter((r) => !r.pass)
  const skipped = ['LOAD', 'RUST', 'MEMORY'].filter(skip)
  console.log(`\n${scored.length - failed.length} of ${scored.length} targets met${skipped.length ? ` (skipped: ${skipped.join(', ')})` : ''}; ${((Date.now() - started) / 1000).toFixed(0)} s.`)

  const results = {
    date: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: machineInfo().loadAverage },
    method: { rounds: ROUNDS, statistic: 'median of interleaved rounds; ratio = baseline median / candidate median' },
    rows: rows.map(({ memory: _m, load: _l, ...r }) => r),
    memory,
    load,
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
  const line = (c) => c.map((x, i) => (i === 3 ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join('  ').trimEnd()
  console.log(`\nnext-skew-guard ${machine.platform}, ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, ${ROUNDS} rounds, AES-256-GCM`)
  console.log('ratio: how many times faster than the baseline (keyring row: time relative to one key; load: throughput relative to plain)\n')
  console.log(line(head))
  console.log(line(widths.map((w) => '-'.repeat(w))))
  for (const c of cells) console.log(line(c))
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
