// Compatibility with Next.js's own encryption: every vector in
// fixtures/next-vectors.json was produced (or, for negative ones, judged) by
// Next.js 14.2.35, 15.5.29 and 16.4.6 themselves (scripts/gen-vectors.mjs).
const test = require('node:test')
const assert = require('node:assert/strict')
const fixture = require('./fixtures/next-vectors.json')
const { backends, rejectsWithCode } = require('./backends.cjs')

const OTHER_KEY = 'q83vEjRWeJq8nt8SNFZ4mrze8BI0VniavN7wEjRWeJo='

test('the fixture covers what the compatibility proof promises', () => {
  const { valid, negative, meta } = fixture
  assert.ok(valid.length >= 30, `${valid.length} valid vectors`)
  assert.deepEqual(new Set(valid.map((v) => v.keyBytes)), new Set([16, 24, 32]))
  assert.deepEqual(new Set(valid.map((v) => v.actionId.length)), new Set([40, 42]))
  assert.ok(
    valid.some((v) => v.rows.length > 64 * 1024),
    'a 64 KiB vector',
  )
  for (const v of valid) assert.deepEqual(v.decryptedBy, { 14: true, 15: true, 16: true }, v.name)
  const statuses = new Set(negative.map((n) => n.expectedStatus))
  for (const s of ['unknown-key', 'wrong-action', 'malformed', 'current']) assert.ok(statuses.has(s), s)
  // Payloads sealed by this package were decrypted by Next.js's own code.
  assert.equal(meta.sealedByPackage.sealer, 'package')
  assert.equal(meta.sealedByPackage.backend, 'native')
  assert.deepEqual(meta.sealedByPackage.acceptedBy, { 14: valid.length, 15: valid.length, 16: valid.length })
  assert.deepEqual(meta.sealedByPackage.rejected, [])
})

for (const { name, core, sync } of backends) {
  test(`${name}: every Next.js payload verifies and opens to its exact plaintext`, async () => {
    for (const v of fixture.valid) {
      const ring = new core.Keyring({ current: v.key })
      const expected = { ok: true, status: 'current', keyIndex: 0 }
      assert.deepEqual(await ring.verify(v.payload, v.actionId), expected, v.name)
      assert.deepEqual(await ring.verify(Buffer.from(v.payload), v.actionId), expected, v.name)
      assert.deepEqual(await ring.open(v.payload, v.actionId), { keyIndex: 0, rows: v.rows }, v.name)
      assert.equal(v.actionId + v.rows, v.plaintext)
      if (sync) {
        assert.deepEqual(ring.verifySync(v.payload, v.actionId), expected, v.name)
        assert.deepEqual(ring.openSync(v.payload, v.actionId), { keyIndex: 0, rows: v.rows }, v.name)
      }
    }
  })

  test(`${name}: keys in forms Next.js accepts (whitespace, no padding) open the same payloads`, async () => {
    for (const v of fixture.valid.filter((x) => x.key.endsWith('=')).slice(0, 6)) {
      for (const variant of [` ${v.key}\n`, v.key.replace(/=+$/, ''), `${v.key.slice(0, 8)}\t${v.key.slice(8)}`]) {
        const ring = new core.Keyring({ current: variant })
        assert.deepEqual(await ring.open(v.payload, v.actionId), { keyIndex: 0, rows: v.rows }, JSON.stringify(variant))
        assert.equal(ring.checkValues[0], core.keyCheckValue(v.key))
      }
    }
  })

  test(`${name}: a rotated-out key is reported as previous-key, not tampering`, async () => {
    for (const v of fixture.valid.slice(0, 6)) {
      const rotated = new core.Keyring({ current: OTHER_KEY, previous: [v.key] })
      assert.deepEqual(await rotated.verify(v.payload, v.actionId), { ok: true, status: 'previous-key', keyIndex: 1 })
      const forgotten = new core.Keyring({ current: OTHER_KEY })
      assert.equal((await forgotten.verify(v.payload, v.actionId)).status, 'unknown-key', v.name)
    }
  })

  test(`${name}: every negative vector gets the status Next.js's behaviour implies`, async () => {
    for (const n of fixture.negative) {
      const ring = new core.Keyring({ current: n.key })
      if (n.expectedStatus === 'invalid-action-id') {
        await rejectsWithCode(() => ring.verify(n.payload, n.actionId), 'ERR_ACTION_ID')
        continue
      }
      const result = await ring.verify(n.payload, n.actionId)
      assert.equal(result.status, n.expectedStatus, `${n.name}: ${JSON.stringify(result)}`)
      assert.equal(result.ok, n.expectedStatus === 'current', n.name)
      if (sync) assert.deepEqual(ring.verifySync(n.payload, n.actionId), result, n.name)
      // Where Next.js accepted the payload, so do we, and vice versa for crypto failures.
      const nextAccepted = Object.values(n.nextReaction).every((r) => r.ok)
      const nextTagFailure = Object.values(n.nextReaction).every((r) => r.errorName === 'OperationError')
      if (nextAccepted) assert.equal(result.status, 'current', n.name)
      if (nextTagFailure) assert.ok(['unknown-key', 'malformed'].includes(result.status), n.name)
      if (!result.ok) {
        await assert.rejects(ring.open(n.payload, n.actionId), (e) => e.code === result.reason, n.name)
      }
    }
  })
}

test('payloads sealed by each backend open on every other backend', async () => {
  const v = fixture.valid.find((x) => x.keyBytes === 24)
  for (const sealer of backends) {
    const payload = await new sealer.core.Keyring({ current: v.key }).seal(v.actionId, v.rows)
    for (const opener of backends) {
      const opened = await new opener.core.Keyring({ current: v.key }).open(payload, v.actionId)
      assert.deepEqual(opened, { keyIndex: 0, rows: v.rows }, `${sealer.name} -> ${opener.name}`)
    }
  }
})
