// The guard's own CPU per action request, split by phase: the proxy guard (dist/proxy/index.js,
// native core) runs in a child process over the load run's action mix, on requests made the way
// Next.js 16 makes its proxy request (a NextRequest whose body is a stream of the proxy's own copy,
// `sourcePage` set), with one previous key so that every check runs. A V8 CPU profile (inspector,
// 100 µs sampling) attributes each sample to the package function that was running or that called
// into Next.js / undici / the native core; samples with no package frame (making the requests,
// the loop) are not the guard's. The same child also times the guard against the empty proxy
// (`NextResponse.next()`) on the same requests, without the profiler. BENCH_PHASES_DEBUG=1 prints
// the heaviest functions per phase (stderr).
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const SELF = fileURLToPath(import.meta.url)

/** Phases, in the order printed; `match(frame)` decides for the first package frame of a sample. */
export const PHASES = [
  ['route: health path, method, action header, client build header', (f) => f.file === 'guard' && f.fn === 'guard'],
  [
    'checks: action ID in the manifest, build identity, closure set',
    (f) => f.file === 'guard' && /^(check|sealedActions|utf8Length|buildId|reading)$/.test(f.fn),
  ],
  ['skew events: counters, log line (rate-limited)', (f) => f.file === 'events'],
  ["body: read the proxy's copy, multipart scan, payload field", (f) => f.file === 'request'],
  ['verify the payload (native verifySync)', (f) => f.file === 'core' || (f.file === 'guard' && f.fn === 'verifyPayload')],
  [
    'answer: NextResponse.next() + stamp, or the 409 refusal',
    (f) => f.answer || (f.file === 'guard' && /^(refuse|stamp|cookieFor)$/.test(f.fn)),
  ],
]

/** Runs the measurement in a child process; resolves `{ requests, phases: [{ phase, us }], guardUs, emptyUs, unattributedUs }`. */
export function measurePhases() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, '--child'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`phase profile exited ${code}`))))
  })
}

async function child() {
  const fs = await import('node:fs')
  const os = await import('node:os')
  const path = await import('node:path')
  const { Readable } = await import('node:stream')
  const { createRequire } = await import('node:module')
  const inspector = await import('node:inspector')
  const require = createRequire(import.meta.url)

  process.env.NODE_ENV = 'production'
  process.env.SKEW_GUARD_LOG = 'off'
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-bench-phases-'))
  process.env.__SKEW_GUARD_DIST_DIR = dist
  const { Keyring, generateKey } = require('../..')
  const { NextRequest, NextResponse } = require('next/server')
  const MODULE = `40${'a'.repeat(40)}`
  const CLOSURE = `60${'b'.repeat(40)}`
  const KEY = generateKey()
  const PREVIOUS = generateKey()
  fs.mkdirSync(path.join(dist, 'server'))
  fs.writeFileSync(path.join(dist, 'BUILD_ID'), 'bench-v2\n')
  fs.writeFileSync(
    path.join(dist, 'server', 'server-reference-manifest.json'),
    JSON.stringify({
      node: {
        [MODULE]: { workers: { 'app/page': {} }, filename: 'app/actions.ts', exportedName: 'shout' },
        [CLOSURE]: { workers: { 'app/page': {} }, filename: 'app/page.tsx', exportedName: '$$RSC_SERVER_ACTION_0' },
      },
      edge: {},
      encryptionKey: KEY,
    }),
  )
  process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY = KEY
  process.env.SKEW_GUARD_PREVIOUS_KEYS = PREVIOUS
  const { skewGuard } = require('../../dist/proxy/index.js')
  const { requestKinds } = await import('../../scripts/load/mix.mjs')
  const guard = skewGuard()

  const rows = '0:["note 1a2b3c4d"]\n'
  const seal = (key) => new Keyring({ current: key }).sealSync(CLOSURE, rows)
  const kinds = requestKinds({
    v1: { buildId: 'bench-v1', actions: { greet: `40${'c'.repeat(40)}` } },
    v2: { buildId: 'bench-v2', actions: { shout: MODULE, readNote: CLOSURE } },
    payloads: { current: seal(KEY), previous: seal(PREVIOUS), foreign: seal(generateKey()) },
  })
  const mix = kinds.flatMap((k) => k.requests)
  /** A request as Next.js 16 hands it to proxy.ts: its own copy of the body as a stream. */
  const make = ({ method, path: p, headers, body }) => {
    const bytes = Buffer.from(body)
    const request = new NextRequest(`http://127.0.0.1:3000${p}`, {
      method,
      headers: { ...headers, 'content-length': String(bytes.length) },
      body: Readable.from([bytes]),
      duplex: 'half',
    })
    request.sourcePage = '/proxy'
    return request
  }
  const batch = (n) => Array.from({ length: n }, (_, i) => make(mix[i % mix.length]))
  const run = async (requests, fn) => {
    const t = process.hrtime.bigint()
    for (const r of requests) await fn(r)
    return Number(process.hrtime.bigint() - t) / 1000 / requests.length
  }
  // Warm-up (JIT, the manifest, the keyring).
  for (let i = 0; i < 5; i++) await run(batch(500), (r) => guard(r))

  // Timing: the guard against the empty proxy, interleaved, median of rounds; on the whole mix, on
  // valid closure calls alone (body read + verify) and on valid module calls alone (headers only).
  const only = (variant) => (n) => Array.from({ length: n }, () => make(mix.find((r) => r.variant === variant)))
  const times = { guard: [], empty: [], closure: [], module: [] }
  for (let round = 0; round < 15; round++) {
    for (const [name, fn, requests] of [
      ['guard', (r) => guard(r), batch],
      ['empty', async () => NextResponse.next(), batch],
      ['closure', (r) => guard(r), only('current key')],
      ['module', (r) => guard(r), only('shout')],
    ]) {
      times[name].push(await run(requests(400), fn))
    }
  }
  const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1]

  // Profile: which package function each sample belongs to.
  const session = new inspector.Session()
  session.connect()
  const post = (method, params) => new Promise((res, rej) => session.post(method, params, (e, r) => (e ? rej(e) : res(r))))
  await post('Profiler.enable')
  await post('Profiler.setSamplingInterval', { interval: 100 })
  const profiled = async (requests) => {
    let count = 0
    await post('Profiler.start')
    for (let round = 0; round < 40; round++) {
      const list = requests(500)
      count += list.length
      for (const r of list) await guard(r)
    }
    const { profile } = await post('Profiler.stop')
    return attribute(profile, count)
  }
  // Over the mix, then over valid closure calls alone (the heaviest request the guard passes on).
  const mixPhases = await profiled(batch)
  const closurePhases = await profiled(only('current key'))
  session.disconnect()
  process.stdout.write(
    JSON.stringify({
      mix: mix.map((r) => r.variant),
      guardUs: median(times.guard),
      emptyUs: median(times.empty),
      closureUs: median(times.closure),
      moduleUs: median(times.module),
      phases: mixPhases,
      closurePhases,
    }),
  )
  fs.rmSync(dist, { recursive: true, force: true })
}

/** Per-request µs of each phase in a CPU profile of `requests` guard calls (see PHASES). */
function attribute(profile, requests) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const fileOf = (url) => {
    const m = /\/dist\/(proxy\/(request|guard|index)|core|server\/events|server\/build-info|shared)[/.]/.exec(url)
    if (!m) return null
    return m[2] ?? (m[1] === 'server/events' ? 'events' : m[1] === 'core' ? 'core' : 'guard')
  }
  const isAnswer = (url, fn) => /spec-extension\/response\.js/.test(url) || (/undici/.test(url) && /Response|Headers/.test(fn))
  const totals = new Map(PHASES.map(([name]) => [name, 0]))
  const leaves = new Map()
  const dt = new Map()
  profile.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  for (const [id, us] of dt) {
    let answer = false
    let frame = null
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const { url, functionName } = byId.get(cur).callFrame
      const file = fileOf(url)
      if (file) {
        frame = { file, fn: functionName.replace(/^#/, ''), answer }
        break
      }
      if (isAnswer(url, functionName)) answer = true
    }
    // Samples with no package frame (making requests, the loop, idle) are not the guard's.
    if (!frame) continue
    const phase = (PHASES.find(([, match]) => match(frame)) ?? PHASES[0])[0]
    totals.set(phase, totals.get(phase) + us)
    if (process.env.BENCH_PHASES_DEBUG) {
      const leaf = byId.get(id).callFrame
      const key = `${phase.slice(0, 12)} | ${leaf.functionName} ${leaf.url.replace(/.*\//, '')}:${leaf.lineNumber}`
      leaves.set(key, (leaves.get(key) ?? 0) + us)
    }
  }
  for (const [k, us] of [...leaves].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.error((us / requests).toFixed(2).padStart(7), k)
  return [...totals].map(([phase, us]) => ({ phase, us: us / requests }))
}

if (process.argv[2] === '--child') {
  child().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
