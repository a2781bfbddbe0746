#!/usr/bin/env node
// `npm run bench`: bound-args payload verification, next-skew-guard against what an app would
// otherwise use, measured in the same run and reported as ratios.
//
//   node:crypto   Buffer.from(base64) + createDecipheriv('aes-…-gcm') + prefix check (sync)
//   Next.js path  atob + crypto.subtle.decrypt + TextDecoder + startsWith, awaited (what
//                 decryptActionBoundArgs does before Flight decoding)
//
// Method: warm up, then R rounds of N operations each; the per-op time of a case is the median
// round. Run on an idle machine; numbers from a loaded machine compare only with each other.
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, webcrypto } from 'node:crypto'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { Keyring, backend } = require('..')

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)
const ACTION_ID = '60c6dd4c8b146d5c3453cdc7c1eb87f87a63a6a732'

function seal(keyBytes, rows) {
  const iv = randomBytes(16)
  const cipher = createCipheriv(`aes-${keyBytes.length * 8}-gcm`, keyBytes, iv)
  const ct = Buffer.concat([cipher.update(ACTION_ID + rows, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return Buffer.concat([iv, ct]).toString('base64')
}

function nodeCryptoVerifier(keyBytes) {
  const key = createSecretKey(keyBytes)
  const id = Buffer.from(ACTION_ID)
  const alg = `aes-${keyBytes.length * 8}-gcm`
  return (payload) => {
    const b = Buffer.from(payload, 'base64')
    const d = createDecipheriv(alg, key, b.subarray(0, 16), { authTagLength: 16 })
    d.setAuthTag(b.subarray(b.length - 16))
    const plain = Buffer.concat([d.update(b.subarray(16, b.length - 16)), d.final()])
    return plain.subarray(0, id.length).equals(id)
  }
}

async function nextVerifier(keyBytes) {
  const key = await webcrypto.subtle.importKey('raw', keyBytes, 'AES-GCM', true, ['encrypt', 'decrypt'])
  const decoder = new TextDecoder()
  return async (payload) => {
    const bin = atob(payload)
    const bytes = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i)
    const plain = await webcrypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.subarray(0, 16) }, key, bytes.subarray(16))
    return decoder.decode(plain).startsWith(ACTION_ID)
  }
}

async function measure(fn, opsPerRound, isAsync) {
  const run = async (n) => {
    if (isAsync) for (let i = 0; i < n; i++) await fn()
    else for (let i = 0; i < n; i++) fn()
  }
  await run(Math.max(200, opsPerRound / 10))
  const perOp = []
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint()
    await run(opsPerRound)
    perOp.push(Number(process.hrtime.bigint() - t) / opsPerRound / 1000)
  }
  perOp.sort((a, b) => a - b)
  return perOp[Math.floor(perOp.length / 2)]
}

/** Throughput with many operations in flight (for the async, thread-pool paths). */
async function throughput(fn, total, inFlight = 64) {
  const t = process.hrtime.bigint()
  let next = 0
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next++ < total) await fn()
  }))
  return Number(process.hrtime.bigint() - t) / total / 1000
}

const fmt = (us) => (us < 10 ? us.toFixed(2) : us.toFixed(1)).padStart(8)
const ratio = (a, b) => `${(b / a).toFixed(1)}×`.padStart(7)

async function main() {
  const key32 = randomBytes(32)
  const rows128 = '0:["closure-secret"]\n' // a 128-character payload, as Next.js 15/16 produce
  const cases = [
    { name: '128-char payload', rows: rows128, ops: 100_000 },
    { name: '1 KiB plaintext', rows: `0:["${'x'.repeat(1024 - 7 - ACTION_ID.length)}"]\n`, ops: 50_000 },
  ]
  console.log(`next-skew-guard ${backend} backend, Node ${process.version}, ${ROUNDS} rounds (median), AES-256-GCM\n`)
  console.log('case                      verifySync µs  node:crypto µs  (ratio)  Next.js path µs  (ratio)')
  for (const c of cases) {
    const payload = seal(key32, c.rows)
    const ring = new Keyring({ current: key32.toString('base64') })
    if (ring.verifySync(payload, ACTION_ID).status !== 'current') throw new Error('benchmark payload does not verify')
    const viaNode = nodeCryptoVerifier(key32)
    const viaNext = await nextVerifier(key32)
    if (!viaNode(payload) || !(await viaNext(payload))) throw new Error('reference paths disagree')
    const ours = await measure(() => ring.verifySync(payload, ACTION_ID), c.ops, false)
    const node = await measure(() => viaNode(payload), c.ops, false)
    const next = await measure(() => viaNext(payload), Math.max(2000, c.ops / 20), true)
    console.log(`${c.name.padEnd(26)}${fmt(ours)}       ${fmt(node)}  ${ratio(ours, node)}      ${fmt(next)}  ${ratio(ours, next)}   (payload ${payload.length} chars)`)
  }

  // 64 KiB: async verify (thread pool) against node:crypto, as throughput.
  const big = seal(key32, `0:["${'y'.repeat(64 * 1024)}"]\n`)
  const ring = new Keyring({ current: key32.toString('base64') })
  const viaNode = nodeCryptoVerifier(key32)
  const oursBig = await throughput(() => ring.verify(big, ACTION_ID), 2000)
  const nodeBig = await measure(() => viaNode(big), 500, false)
  console.log(`\n64 KiB plaintext: verify (async, 64 in flight) ${fmt(oursBig)} µs/op, node:crypto sync ${fmt(nodeBig)} µs/op: throughput ${(nodeBig / oursBig).toFixed(2)}× node:crypto`)

  // Keyring of 3 keys, payload sealed with the oldest: the worst case of a rotation.
  const keys = [randomBytes(32), randomBytes(32), randomBytes(32)]
  const oldest = seal(keys[2], rows128)
  const three = new Keyring({ current: keys[0].toString('base64'), previous: [keys[1], keys[2]].map((k) => k.toString('base64')) })
  const one = new Keyring({ current: keys[2].toString('base64') })
  const t3 = await measure(() => three.verifySync(oldest, ACTION_ID), 100_000, false)
  const t1 = await measure(() => one.verifySync(oldest, ACTION_ID), 100_000, false)
  console.log(`3-key keyring, oldest key: ${fmt(t3)} µs vs one key ${fmt(t1)} µs: ${(t3 / t1).toFixed(2)}× the single-key time`)
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
