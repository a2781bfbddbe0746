// Keyrings and the bad-input catalogue: every public function validates its
// arguments and answers with a coded error, never a crash or a silent pass.
const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { backends, rejectsWithCode } = require('./backends.cjs')
const fixture = require('./fixtures/next-vectors.json')

const V = fixture.valid.find((v) => v.name === 'nextjs-facts-1.3-vector-1') ?? fixture.valid[0]
const K2 = 'AAECAwQFBgcICQoLDA0ODw=='
const K3 = 'q83vEjRWeJq8nt8SNFZ4mrze8BI0VniavN7wEjRWeJo='

for (const { name, core, sync } of backends) {
  const { Keyring } = core

  test(`${name}: keyring construction refuses every bad configuration with a code`, async () => {
    await rejectsWithCode(() => new Keyring(), 'ERR_INVALID_ARG_TYPE')
    await rejectsWithCode(() => new Keyring('key'), 'ERR_INVALID_ARG_TYPE')
    await rejectsWithCode(() => new Keyring({}), 'ERR_KEYRING_EMPTY')
    await rejectsWithCode(() => new Keyring({ current: '' }), 'ERR_KEYRING_EMPTY')
    await rejectsWithCode(() => new Keyring({ current: 42 }), 'ERR_INVALID_ARG_TYPE')
    await rejectsWithCode(() => new Keyring({ current: Buffer.from(V.key) }), 'ERR_INVALID_ARG_TYPE')
    await rejectsWithCode(() => new Keyring({ current: V.key, previous: K2 }), 'ERR_INVALID_ARG_TYPE')
    await rejectsWithCode(() => new Keyring({ current: V.key, previous: [null] }), 'ERR_INVALID_ARG_TYPE')
    // eslint-disable-next-line no-sparse-arrays
    // biome-ignore lint/suspicious/noSparseArray: a hole is the input under test
    await rejectsWithCode(() => new Keyring({ current: V.key, previous: [, K2] }), 'ERR_INVALID_ARG_TYPE', /previous\[0\]/)
    await rejectsWithCode(() => new Keyring({ current: V.key, previous: [V.key] }), 'ERR_KEYRING_DUPLICATE')
    // The same key in another accepted form is still the same key.
    await rejectsWithCode(
      () => new Keyring({ current: V.key, previous: [K2, `${K2.slice(0, -2)}\n`] }),
      'ERR_KEYRING_DUPLICATE',
      /previous key #2 is the same key as the previous key #1 \(check value c6a13b\)/,
    )
    await rejectsWithCode(() => new Keyring({ current: V.key, previous: Array(16).fill(K2) }), 'ERR_KEYRING_TOO_LARGE')
    await rejectsWithCode(() => new Keyring({ current: '0f'.repeat(32) }), 'ERR_KEY_HEX', /^Keyring current key: /)
    await rejectsWithCode(() => new Keyring({ current: V.key, previous: [K2, 'x-y'] }), 'ERR_KEY_BASE64URL', /previous key #2/)
    for (const max of [0, -1, 1.5, NaN, '10', 2 ** 31]) {
      await rejectsWithCode(() => new Keyring({ current: V.key, maxPayloadBytes: max }), 'ERR_INVALID_ARG_VALUE')
    }
  })

  test(`${name}: Keyring.fromEnv reads the documented variables and names them in errors`, async () => {
    const ring = Keyring.fromEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: K3, SKEW_GUARD_PREVIOUS_KEYS: ` ${V.key} , ${K2},` })
    assert.equal(ring.size, 3)
    assert.deepEqual(await ring.verify(V.payload, V.actionId), { ok: true, status: 'previous-key', keyIndex: 1 })
    await rejectsWithCode(() => Keyring.fromEnv({}), 'ERR_KEYRING_EMPTY', /NEXT_SERVER_ACTIONS_ENCRYPTION_KEY is not set/)
    await rejectsWithCode(() => Keyring.fromEnv(null), 'ERR_INVALID_ARG_TYPE')
    await rejectsWithCode(
      () => Keyring.fromEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: K3, SKEW_GUARD_PREVIOUS_KEYS: 5 }),
      'ERR_INVALID_ARG_TYPE',
    )
    // Only ASCII whitespace is trimmed, as atob ignores only that.
    await rejectsWithCode(
      () => Keyring.fromEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: K3, SKEW_GUARD_PREVIOUS_KEYS: `\u00a0${K2}` }),
      'ERR_KEY_NOT_BASE64',
      /^SKEW_GUARD_PREVIOUS_KEYS entry #1: /,
    )
    await rejectsWithCode(
      () => Keyring.fromEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: 'ab'.repeat(32) }),
      'ERR_KEY_HEX',
      /^NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: The encryption key looks like hex/,
    )
    await rejectsWithCode(
      () => Keyring.fromEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: K3, SKEW_GUARD_PREVIOUS_KEYS: `${K2},"${V.key}"` }),
      'ERR_KEY_QUOTED',
      /^SKEW_GUARD_PREVIOUS_KEYS entry #2: /,
    )
  })

  test(`${name}: key material never shows in inspect, JSON or errors`, async () => {
    const ring = new Keyring({ current: V.key, previous: [K2] })
    const foreign = new Keyring({ current: K3 })
    const secrets = [V.key, K2, V.key.slice(0, 12), K2.slice(0, 12), Buffer.from(V.key, 'base64').toString('hex').slice(0, 12)]
    const shown = [
      util.inspect(ring, { showHidden: true, depth: 10 }),
      JSON.stringify(ring),
      String(ring),
      Object.keys(ring).join(),
      (await rejectsWithCode(async () => ring.open(await foreign.seal(V.actionId, ''), V.actionId), 'ERR_PAYLOAD_UNKNOWN_KEY')).message,
      (await rejectsWithCode(() => new Keyring({ current: V.key, previous: [V.key] }), 'ERR_KEYRING_DUPLICATE')).message,
    ]
    for (const text of shown) for (const s of secrets) assert.ok(!text.includes(s), `${JSON.stringify(text)} shows key material`)
    assert.match(util.inspect(ring), /checkValues.*"0a4dee","c6a13b"/)
    assert.deepEqual(JSON.parse(JSON.stringify(ring)), {
      backend: ring.backend,
      keys: 2,
      checkValues: ['0a4dee', 'c6a13b'],
      maxPayloadBytes: 1048576,
    })
  })

  test(`${name}: payload and action ID arguments are validated before any work`, async () => {
    const ring = new Keyring({ current: V.key })
    const methods = sync ? ['verify', 'verifySync', 'open', 'openSync'] : ['verify', 'open']
    for (const method of methods) {
      const call = (...args) => ring[method](...args)
      for (const payload of [undefined, null, 42, {}, [], new ArrayBuffer(8), true]) {
        await rejectsWithCode(() => call(payload, V.actionId), 'ERR_INVALID_ARG_TYPE', /"payload" argument/)
      }
      for (const id of [undefined, null, 7, Buffer.from(V.actionId)]) {
        await rejectsWithCode(() => call(V.payload, id), 'ERR_INVALID_ARG_TYPE', /"actionId"/)
      }
      for (const id of ['', 'abc', V.actionId.toUpperCase(), `${V.actionId}0`, `${V.actionId.slice(0, 41)}g`, ' '.repeat(42)]) {
        await rejectsWithCode(() => call(V.payload, id), 'ERR_ACTION_ID', /40 \(Next\.js 14\) or 42/)
      }
    }
    for (const method of sync ? ['seal', 'sealSync'] : ['seal']) {
      await rejectsWithCode(() => ring[method]('abc', '0:[]\n'), 'ERR_ACTION_ID')
      await rejectsWithCode(() => ring[method](V.actionId, 5), 'ERR_INVALID_ARG_TYPE')
    }
  })

  test(`${name}: malformed and oversized payloads are classified, never thrown or accepted`, async () => {
    const ring = new Keyring({ current: V.key, maxPayloadBytes: 256 })
    const cases = [
      ['', 'ERR_PAYLOAD_TOO_SHORT'],
      [V.payload.slice(0, 40), 'ERR_PAYLOAD_TOO_SHORT'],
      [`${V.payload.slice(0, 20)}!${V.payload.slice(21)}`, 'ERR_PAYLOAD_NOT_BASE64'],
      [V.payload.replace(/\+/g, '-'), 'ERR_PAYLOAD_NOT_BASE64'],
      [`${V.payload}A`, 'ERR_PAYLOAD_NOT_BASE64'],
      ['é'.repeat(120), 'ERR_PAYLOAD_NOT_BASE64'],
      ['A'.repeat(257), 'ERR_PAYLOAD_TOO_LARGE'],
      ['A'.repeat(50 * 1024 * 1024), 'ERR_PAYLOAD_TOO_LARGE'],
      [Buffer.alloc(300, 65), 'ERR_PAYLOAD_TOO_LARGE'],
    ]
    for (const [payload, reason] of cases) {
      const expected = { ok: false, status: 'malformed', reason }
      assert.deepEqual(await ring.verify(payload, V.actionId), expected, reason)
      if (sync) assert.deepEqual(ring.verifySync(payload, V.actionId), expected, reason)
      await rejectsWithCode(() => ring.open(payload, V.actionId), reason)
    }
    // The cap counts the same on every backend, also for non-ASCII text (not base64 whatever its length).
    for (const text of ['é'.repeat(200), 'é'.repeat(300)]) {
      const reason = text.length > 256 ? 'ERR_PAYLOAD_TOO_LARGE' : 'ERR_PAYLOAD_NOT_BASE64'
      assert.equal((await ring.verify(text, V.actionId)).reason, reason)
      await rejectsWithCode(() => ring.open(text, V.actionId), reason)
    }
    // Uint8Arrays from another realm are bytes too.
    const foreignBytes = require('node:vm').runInNewContext(`new Uint8Array(${V.payload.length})`)
    foreignBytes.set(Buffer.from(V.payload))
    assert.ok(!(foreignBytes instanceof Uint8Array))
    assert.equal((await new Keyring({ current: V.key }).verify(foreignBytes, V.actionId)).status, 'current')
    // The default cap is 1 MiB of base64 text.
    const big = new Keyring({ current: V.key })
    assert.equal(big.maxPayloadBytes, 1024 * 1024)
    assert.equal((await big.verify('A'.repeat(1024 * 1024 + 4), V.actionId)).reason, 'ERR_PAYLOAD_TOO_LARGE')
    await rejectsWithCode(() => ring.seal(V.actionId, 'x'.repeat(300)), 'ERR_PAYLOAD_TOO_LARGE')
  })

  test(`${name}: typed arrays and Buffers of base64 text work like strings`, async () => {
    const ring = new Keyring({ current: V.key })
    const bytes = new TextEncoder().encode(V.payload)
    const inLargerBuffer = new Uint8Array(bytes.length + 10)
    inLargerBuffer.set(bytes, 5)
    for (const payload of [bytes, Buffer.from(V.payload), inLargerBuffer.subarray(5, 5 + bytes.length)]) {
      assert.equal((await ring.verify(payload, V.actionId)).status, 'current')
      assert.equal((await ring.open(payload, V.actionId)).rows, V.rows)
    }
  })

  test(`${name}: seal produces fresh IVs and payloads that verify under rotation`, async () => {
    const old = new Keyring({ current: K2 })
    const sealed = await old.seal(V.actionId, '0:["a"]\n')
    assert.notEqual(sealed, await old.seal(V.actionId, '0:["a"]\n'))
    const rotated = new Keyring({ current: K3, previous: [K2] })
    assert.deepEqual(await rotated.verify(sealed, V.actionId), { ok: true, status: 'previous-key', keyIndex: 1 })
    assert.deepEqual(await rotated.open(sealed, V.actionId), { keyIndex: 1, rows: '0:["a"]\n' })
    const other = V.actionId.replace(/^../, 'ff')
    assert.deepEqual(await rotated.verify(sealed, other), {
      ok: false,
      status: 'wrong-action',
      keyIndex: 1,
      reason: 'ERR_PAYLOAD_WRONG_ACTION',
    })
    if (!sync) {
      await rejectsWithCode(() => rotated.verifySync(sealed, V.actionId), 'ERR_SYNC_UNAVAILABLE', /await keyring\.verify\(\)/)
      // Refused before anything else, whatever the payload.
      await rejectsWithCode(() => rotated.verifySync('A'.repeat(2e6), V.actionId), 'ERR_SYNC_UNAVAILABLE')
      await rejectsWithCode(() => rotated.openSync(sealed, V.actionId), 'ERR_SYNC_UNAVAILABLE')
      await rejectsWithCode(() => rotated.sealSync(V.actionId, ''), 'ERR_SYNC_UNAVAILABLE')
    }
  })

  test(`${name}: compareBuildIds never calls absent IDs the same`, async () => {
    const { compareBuildIds } = core
    assert.equal(compareBuildIds('abc', 'abc'), 'same')
    assert.equal(compareBuildIds('abc', 'abd'), 'different')
    assert.equal(compareBuildIds('abc', 'abcd'), 'different')
    for (const [a, b] of [
      [undefined, undefined],
      [null, 'a'],
      ['', ''],
      ['a', ''],
      ['a', undefined],
    ]) {
      assert.equal(compareBuildIds(a, b), 'unknown', `${a} / ${b}`)
    }
    assert.equal(compareBuildIds('é', 'é'), 'same')
    await rejectsWithCode(() => compareBuildIds(5, 'a'), 'ERR_INVALID_ARG_TYPE')
    await rejectsWithCode(() => compareBuildIds('a', {}), 'ERR_INVALID_ARG_TYPE')
    await rejectsWithCode(() => compareBuildIds('a'.repeat(1025), 'a'), 'ERR_BUILD_ID_TOO_LONG')
    await rejectsWithCode(() => compareBuildIds('a\ud83d', 'a\ufffd'), 'ERR_INVALID_ARG_VALUE', /lone surrogate/)
  })

  test(`${name}: shouldForceRefresh honours the rotation notice window`, async () => {
    const { shouldForceRefresh } = core
    const rotatedAt = Date.UTC(2026, 0, 1)
    const base = { clientLoadedAt: rotatedAt - 1000, rotatedAt, noticeMs: 60_000 }
    assert.equal(shouldForceRefresh({ ...base, now: rotatedAt + 59_999 }), false)
    assert.equal(shouldForceRefresh({ ...base, now: rotatedAt + 60_000 }), true)
    assert.equal(shouldForceRefresh({ ...base, clientLoadedAt: rotatedAt, now: rotatedAt + 1e9 }), false)
    assert.equal(shouldForceRefresh({ clientLoadedAt: new Date(rotatedAt - 1), rotatedAt: new Date(rotatedAt) }), true)
    await rejectsWithCode(() => shouldForceRefresh(), 'ERR_INVALID_ARG_TYPE')
    await rejectsWithCode(() => shouldForceRefresh({ clientLoadedAt: '1', rotatedAt }), 'ERR_INVALID_ARG_TYPE')
    await rejectsWithCode(() => shouldForceRefresh({ ...base, noticeMs: -1 }), 'ERR_INVALID_ARG_VALUE')
    await rejectsWithCode(() => shouldForceRefresh({ ...base, clientLoadedAt: NaN }), 'ERR_INVALID_ARG_VALUE')
  })
}
