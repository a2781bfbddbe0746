// The memory row: RSS growth over 5 million verifySync calls, in a child process of its own so
// nothing else this benchmark allocates is counted. RSS is read after a warm-up (JIT, first-use
// allocations) and at the end, each time after a full garbage collection.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const CALLS = Number(process.env.BENCH_MEMORY_CALLS ?? 5_000_000)
export const LIMIT_MB = 5

/** Runs the child; resolves `{ calls, startMB, endMB, growthMB, seconds }`. */
export function measureMemory() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', String(CALLS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d))
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`memory child exited with ${code}`))
      resolve(JSON.parse(out))
    })
  })
}

async function child(calls) {
  const { createRequire } = await import('node:module')
  const { randomBytes } = await import('node:crypto')
  const { ACTION_ID, ROWS_128, seal } = await import('../lib/baselines.mjs')
  const require = createRequire(import.meta.url)
  const { Keyring } = require('../..')
  const key = randomBytes(32)
  const ring = new Keyring({ current: key.toString('base64') })
  // Four payloads and a wrong-action and an unknown-key one, so every verdict path runs.
  const payloads = [seal(key, ROWS_128), seal(key, '0:["a"]\n'), seal(key, ROWS_128, 'ab'.repeat(21)), seal(randomBytes(32), ROWS_128)]
  const settle = () => {
    for (let i = 0; i < 3; i++) globalThis.gc()
    return process.memoryUsage().rss / 2 ** 20
  }
  let sink = 0
  for (let i = 0; i < 200_000; i++) sink += ring.verifySync(payloads[i & 3], ACTION_ID).ok ? 1 : 0
  const startMB = settle()
  const t = Date.now()
  for (let i = 0; i < calls; i++) sink += ring.verifySync(payloads[i & 3], ACTION_ID).ok ? 1 : 0
  const seconds = (Date.now() - t) / 1000
  const endMB = settle()
  if (sink === 0) throw new Error('no payload verified')
  process.stdout.write(JSON.stringify({ calls, startMB, endMB, growthMB: endMB - startMB, seconds }))
}

if (process.argv[2] === '--child') await child(Number(process.argv[3]))
