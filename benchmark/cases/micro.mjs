// The in-process rows: verifySync / verify against node:crypto and Next.js's own path, the 3-key
// keyring, the JS backends, and the napi boundary's own cost (informational rows, no target).
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'

import { ACTION_ID, ROWS_128, nextVerifier, nodeCryptoVerifier, rowsOfPlaintext, seal } from '../lib/baselines.mjs'
import { compare } from '../lib/measure.mjs'

const require = createRequire(import.meta.url)
const { Keyring, backend } = require('../..')
const edge = require('../../dist/core/edge.js')
const { createJsBackend } = require('../../dist/core/backend-js.js')
const { nodeCrypto } = require('../../dist/core/crypto-node.js')
const native = require('next-skew-guard-native')

/** The JS backend on node:crypto, as NEXT_SKEW_GUARD_BACKEND=js selects it, in this process. */
class NodeJsKeyring extends Keyring {
  static backendImpl = createJsBackend(nodeCrypto)
}

const AT_LEAST = (x) => ({ op: '≥', value: x, text: `≥ ${x}×`, check: (r) => r >= x })
const AT_MOST = (x) => ({ op: '≤', value: x, text: `≤ ${x}×`, check: (r) => r <= x })

function row(name, ours, baseline, ratio, target, extra = {}) {
  return { case: name, ours, baseline, ratio, target: target?.text ?? null, pass: target ? target.check(ratio) : null, ...extra }
}

async function mustHold(label, ...checks) {
  for (const c of checks) if (!(await c)) throw new Error(`${label}: a contender does not accept the benchmark payload`)
}

export async function microRows({ log = console.error } = {}) {
  if (backend !== 'native') throw new Error(`the native backend did not load (backend: ${backend}); run npm run build:native`)
  const rows = []
  const key = randomBytes(32)
  const current = key.toString('base64')
  const ring = new Keyring({ current })
  const edgeRing = new edge.Keyring({ current })
  const jsRing = new NodeJsKeyring({ current })
  // The binding under the facade, without its argument checks and result objects.
  const rawRing = new native.NativeKeyring(current, [], null)
  const viaNode = nodeCryptoVerifier(key)
  const viaNext = await nextVerifier(key)

  const sizes = [
    { label: '128-char payload', rows: ROWS_128, ops: 40_000, node: [8], next: [60] },
    { label: '1 KiB plaintext', rows: rowsOfPlaintext(1024), ops: 10_000, node: [5], next: [30] },
  ]
  for (const s of sizes) {
    const payload = seal(key, s.rows)
    await mustHold(
      s.label,
      rawRing.verifyString(payload, ACTION_ID) === 0,
      ring.verifySync(payload, ACTION_ID).ok,
      viaNode(payload),
      viaNext(payload),
      edgeRing.verify(payload, ACTION_ID).then((r) => r.ok),
      jsRing.verifySync(payload, ACTION_ID).ok,
    )
    log(`  verifySync, ${s.label} (${payload.length} chars)…`)
    const m = await compare([
      { name: 'ours', fn: () => ring.verifySync(payload, ACTION_ID), ops: s.ops },
      { name: 'node', fn: () => viaNode(payload), ops: Math.ceil(s.ops / 4) },
      { name: 'next', fn: () => viaNext(payload), ops: Math.ceil(s.ops / 40), async: true },
      // Async against async: both with 64 calls in flight, which measures what each costs rather
      // than the wake-up latency of a thread-pool thread (which dominates one awaited call).
      { name: 'edge', fn: () => edgeRing.verify(payload, ACTION_ID), ops: Math.ceil(s.ops / 20), throughput: true },
      { name: 'nextT', fn: () => viaNext(payload), ops: Math.ceil(s.ops / 20), throughput: true },
      { name: 'js', fn: () => jsRing.verifySync(payload, ACTION_ID), ops: Math.ceil(s.ops / 4) },
      { name: 'raw', fn: () => rawRing.verifyString(payload, ACTION_ID), ops: s.ops },
    ])
    const name = `verifySync, ${s.label}`
    rows.push(row(name, m.ours.us, { name: 'node:crypto', us: m.node.us }, m.ratio('ours', 'node'), AT_LEAST(s.node[0])))
    rows.push(row(name, m.ours.us, { name: 'Next.js path', us: m.next.us }, m.ratio('ours', 'next'), AT_LEAST(s.next[0])))
    rows.push(
      row(
        `JS backend, WebCrypto (edge entry): verify, ${s.label}, 64 in flight`,
        m.edge.us,
        { name: 'Next.js path, 64 in flight', us: m.nextT.us },
        m.ratio('edge', 'nextT'),
        AT_LEAST(1),
      ),
    )
    rows.push(
      row(
        `JS backend, node:crypto (BACKEND=js): verifySync, ${s.label}`,
        m.js.us,
        { name: 'Next.js path', us: m.next.us },
        m.ratio('js', 'next'),
        AT_LEAST(1),
      ),
    )
    rows.push(
      row(
        `raw binding NativeKeyring.verifyString, ${s.label}`,
        m.raw.us,
        { name: 'facade verifySync', us: m.ours.us },
        m.ratio('raw', 'ours'),
        null,
        { info: true },
      ),
    )
  }

  // 64 KiB: the async method (libuv thread pool, 64 in flight) against node:crypto's synchronous
  // throughput on the main thread, plus both synchronous and the JS backend for the record.
  const big = seal(key, rowsOfPlaintext(64 * 1024))
  await mustHold('64 KiB', (await ring.verify(big, ACTION_ID)).ok, viaNode(big), viaNext(big))
  log('  64 KiB plaintext…')
  const b = await compare([
    { name: 'ours', fn: () => ring.verify(big, ACTION_ID), ops: 800, throughput: true },
    { name: 'node', fn: () => viaNode(big), ops: 400 },
    { name: 'sync', fn: () => ring.verifySync(big, ACTION_ID), ops: 400 },
    { name: 'next', fn: () => viaNext(big), ops: 200, async: true },
    { name: 'edge', fn: () => edgeRing.verify(big, ACTION_ID), ops: 300, throughput: true },
    { name: 'nextT', fn: () => viaNext(big), ops: 300, throughput: true },
  ])
  const mbps = (us) => (big.length * 0.75) / us // bytes per µs = MB/s
  rows.push(
    row(
      'verify (async, 64 in flight), 64 KiB plaintext: throughput',
      b.ours.us,
      { name: 'node:crypto', us: b.node.us },
      b.ratio('ours', 'node'),
      AT_LEAST(0.7),
      { mbps: mbps(b.ours.us) },
    ),
  )
  rows.push(
    row('verifySync (one thread), 64 KiB plaintext', b.sync.us, { name: 'node:crypto', us: b.node.us }, b.ratio('sync', 'node'), null, {
      info: true,
      mbps: mbps(b.sync.us),
    }),
  )
  rows.push(
    row(
      'JS backend, WebCrypto (edge entry): verify, 64 KiB plaintext, 64 in flight',
      b.edge.us,
      { name: 'Next.js path, 64 in flight', us: b.nextT.us },
      b.ratio('edge', 'nextT'),
      AT_LEAST(1),
    ),
  )

  // A rotation's worst case: the payload was sealed with the oldest of three keys.
  const keys = [randomBytes(32), randomBytes(32), key]
  const oldest = seal(key, ROWS_128)
  const three = new Keyring({ current: keys[0].toString('base64'), previous: [keys[1], keys[2]].map((k) => k.toString('base64')) })
  await mustHold('3-key keyring', three.verifySync(oldest, ACTION_ID).status === 'previous-key')
  log('  3-key keyring…')
  const k = await compare([
    { name: 'three', fn: () => three.verifySync(oldest, ACTION_ID), ops: 40_000 },
    { name: 'one', fn: () => ring.verifySync(oldest, ACTION_ID), ops: 40_000 },
  ])
  // Here the ratio is the cost factor, time(three) / time(one): lower is better.
  rows.push(
    row(
      '3-key keyring, payload sealed with the oldest key',
      k.three.us,
      { name: '1-key keyring', us: k.one.us },
      k.ratio('one', 'three'),
      AT_MOST(3),
      { ratioMeaning: 'time / baseline time' },
    ),
  )

  // The boundary itself: a napi call that does no work (two undefined arguments, a short string back).
  log('  napi call floor…')
  const f = await compare([{ name: 'floor', fn: () => native.compareBuildIds(undefined, undefined), ops: 100_000 }])
  rows.push(row('napi call floor: compareBuildIds() with no work', f.floor.us, null, null, null, { info: true }))
  return rows
}
