// Timing for `npm run bench`: every case and its baselines are measured in interleaved rounds (each
// round runs every contender once, in a fresh random order, after a full GC), so a burst of load
// from another process slows all of them alike. A case's time is its median round, and a ratio is the ratio of two such
// medians (so the table's numbers can be checked against each other).

import * as v8 from 'node:v8'
import * as vm from 'node:vm'

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)

// A full collection between two contenders' runs, outside the timed part: otherwise the garbage
// one contender leaves (Buffers, ArrayBuffers, strings) is collected on the next one's time.
v8.setFlagsFromString('--expose-gc')
const collectGarbage = vm.runInNewContext('gc')

/** The contenders in a random order: no contender always runs after the same other one. */
function shuffled(list) {
  const out = [...list]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

const now = () => process.hrtime.bigint()

/** µs per operation of `n` calls of `fn` (awaited one after the other when `isAsync`). */
async function timeOps(fn, n, isAsync) {
  const t = now()
  if (isAsync) for (let i = 0; i < n; i++) await fn()
  else for (let i = 0; i < n; i++) fn()
  return Number(now() - t) / n / 1000
}

/** µs per operation with `inFlight` operations kept running at once (throughput of async paths). */
export async function timeThroughput(fn, n, inFlight = 64) {
  const t = now()
  let started = 0
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (started++ < n) await fn()
    }),
  )
  return Number(now() - t) / n / 1000
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Measures contenders side by side. Each contender is `{ name, fn, ops, async?, throughput? }`:
 * `ops` operations per round (choose ~20–100 ms worth), `async` awaits each call, `throughput`
 * keeps 64 calls in flight. Returns `{ [name]: { us, rounds: number[] } }` and `ratio(a, b)`.
 */
export async function compare(contenders, { rounds = ROUNDS } = {}) {
  const run = (c, n) => (c.throughput ? timeThroughput(c.fn, n) : timeOps(c.fn, n, c.async))
  for (const c of contenders) await run(c, Math.max(50, Math.ceil(c.ops / 4))) // warm-up: JIT, caches
  const times = Object.fromEntries(contenders.map((c) => [c.name, []]))
  for (let r = 0; r < rounds; r++) {
    for (const c of shuffled(contenders)) {
      collectGarbage()
      times[c.name].push(await run(c, c.ops))
    }
  }
  const result = Object.fromEntries(Object.entries(times).map(([name, t]) => [name, { us: median(t), rounds: t }]))
  return {
    ...result,
    /** How many times faster `a` is than `b`: median time of `b` / median time of `a`. */
    ratio: (a, b) => result[b].us / result[a].us,
  }
}

export { median }
