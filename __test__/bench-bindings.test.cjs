// The argument paths of the native keyring bindings: short strings are copied onto the stack,
// longer ones (or ones that may have been cut short at the stack buffer's end) are read again in
// full, and payload bytes come from Buffers and other Uint8Arrays alike. Every path must give the
// verdict the facade and Next.js would give, whatever the string's length and characters; open,
// seal and the async methods read their arguments the same way and fail with the same coded errors.
const test = require('node:test')
const assert = require('node:assert/strict')
const { createCipheriv, randomBytes } = require('node:crypto')

const native = require('next-skew-guard-native')
const { Keyring } = require('..')

const ID = '60c6dd4c8b146d5c3453cdc7c1eb87f87a63a6a732'
const OTHER_ID = 'ab'.repeat(21)
const key = randomBytes(32)
const ring = new native.NativeKeyring(key.toString('base64'), [], null)

function seal(plaintext) {
  const iv = randomBytes(16)
  const c = createCipheriv('aes-256-gcm', key, iv)
  return Buffer.concat([iv, c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()]).toString('base64')
}

/** A payload of exactly `chars` base64 characters (chars % 4 === 0), sealed for ID. */
function payloadOfLength(chars) {
  const bytes = (chars / 4) * 3
  const rows = 'x'.repeat(bytes - 32 - ID.length)
  const p = seal(ID + rows)
  assert.equal(p.length, chars)
  return p
}

/** The binding's stack buffer for strings: 2,047 bytes and a NUL (src/lib.rs, INLINE_STR). */
const INLINE = 2048

test('verifyString agrees with the stack and heap paths at every length around the stack buffer', () => {
  // Lengths around the buffer's end and its 4-byte margin, and around the decode buffers' ends.
  const lengths = []
  for (let chars = INLINE - 120; chars <= INLINE + 120; chars += 4) lengths.push(chars)
  for (let chars = 300; chars <= 400; chars += 4) lengths.push(chars)
  for (const chars of lengths) {
    const p = payloadOfLength(chars)
    assert.equal(ring.verifyString(p, ID), 0, `${chars} chars`)
    assert.equal(ring.verifyString(p, OTHER_ID), 16, `${chars} chars, other action`)
    assert.equal(ring.verifyBytes(Buffer.from(p), ID), 0, `${chars} chars as bytes`)
  }
})

test('a multi-byte character at the stack buffer end is never dropped: such a payload is not base64', () => {
  const p = payloadOfLength(INLINE + 100)
  for (let at = INLINE - 12; at <= INLINE + 4; at++) {
    for (const ch of ['é', '€', '😀']) {
      const bad = p.slice(0, at) + ch + p.slice(at)
      assert.equal(ring.verifyString(bad, ID), 34, `${JSON.stringify(ch)} at ${at}`)
      // Replacing a character keeps the length: still not base64.
      const replaced = p.slice(0, at) + ch + p.slice(at + 1)
      assert.equal(ring.verifyString(replaced, ID), 34, `${JSON.stringify(ch)} replacing ${at}`)
    }
  }
  // A multi-byte character as the very last one of a string that otherwise fills the buffer.
  const filler = 'A'.repeat(INLINE - 4)
  assert.equal(ring.verifyString(`${filler}é`, ID), 34)
  assert.equal(ring.verifyString(`${filler}😀`, ID), 34)
})

test('long payloads (1 KiB, 64 KiB) verify through every binding', async () => {
  for (const size of [1024, 64 * 1024]) {
    const p = seal(`${ID}0:["${'y'.repeat(size)}"]\n`)
    assert.equal(ring.verifyString(p, ID), 0)
    assert.equal(ring.verifyBytes(Buffer.from(p), ID), 0)
    assert.equal(await ring.verifyAsync(p, ID), 0)
    assert.equal(await ring.verifyAsync(Buffer.from(p), ID), 0)
    assert.equal(await ring.verifyAsync(new Uint8Array(Buffer.from(p)), ID), 0)
    assert.equal(await ring.verifyAsync(p, OTHER_ID), 16)
  }
})

test('action IDs: every invalid form is refused with ERR_ACTION_ID, on every path', async () => {
  const p = payloadOfLength(128)
  const long = 'a'.repeat(INLINE + 100)
  for (const bad of ['', 'abc', ID.toUpperCase(), `${ID.slice(0, 41)}g`, `${ID}00`, long, `${ID.slice(0, 41)}é`]) {
    assert.throws(() => ring.verifyString(p, bad), { code: 'ERR_ACTION_ID' }, JSON.stringify(bad))
    assert.throws(() => ring.verifyBytes(Buffer.from(p), bad), { code: 'ERR_ACTION_ID' })
    assert.throws(() => ring.verifyAsync(p, bad), { code: 'ERR_ACTION_ID' })
  }
  assert.throws(() => ring.verifyString(p, long), new RegExp(`it has ${INLINE + 100} characters`))
})

test('non-string arguments to the raw bindings throw instead of being misread', () => {
  const p = payloadOfLength(128)
  for (const bad of [undefined, null, 42, {}, Buffer.from(ID)]) {
    assert.throws(() => ring.verifyString(p, bad), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => ring.verifyString(bad, ID), { code: 'ERR_INVALID_ARG_TYPE' })
  }
})

test('the facade remembers only valid action IDs', () => {
  const k = new Keyring({ current: key.toString('base64') })
  const p = payloadOfLength(128)
  assert.equal(k.verifySync(p, ID).status, 'current')
  assert.throws(() => k.verifySync(p, ID.toUpperCase()), { code: 'ERR_ACTION_ID' })
  assert.equal(k.verifySync(p, ID).status, 'current')
  assert.throws(() => k.verifySync(p, ''), { code: 'ERR_ACTION_ID' })
  assert.throws(() => k.verifySync(p, undefined), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.equal(k.verifySync(p, OTHER_ID).status, 'wrong-action')
  assert.throws(() => k.verifySync(p, ''), { code: 'ERR_ACTION_ID' })
})

/** What `fn` threw, or what the promise it returned rejected with. */
async function failure(fn) {
  try {
    await fn()
  } catch (e) {
    return e
  }
  assert.fail('expected a failure')
}

test('open, seal and verify take their arguments alike: a payload as a string or any Uint8Array, a string action ID', async () => {
  const p = payloadOfLength(128)
  for (const form of [p, Buffer.from(p), new Uint8Array(Buffer.from(p))]) {
    assert.equal(ring.open(form, ID).keyIndex, 0)
    assert.deepEqual(await ring.openAsync(form, ID), ring.open(form, ID))
    assert.equal(await ring.verifyAsync(form, ID), 0)
  }
  assert.equal(ring.open(ring.seal(ID, '0:[]\n'), ID).rows, '0:[]\n')
  assert.equal(ring.open(await ring.sealAsync(ID, '0:[]\n'), ID).rows, '0:[]\n')
  // The action ID is checked first, and synchronously, by every method.
  for (const call of [() => ring.open(p, 'x'), () => ring.openAsync(p, 'x'), () => ring.seal('x', ''), () => ring.sealAsync('x', '')]) {
    assert.throws(call, { code: 'ERR_ACTION_ID' })
  }
})

test('async methods reject with the coded Error the sync ones throw (no code packed into the message)', async () => {
  const p = payloadOfLength(128)
  const stranger = new native.NativeKeyring(randomBytes(32).toString('base64'), [], null)
  const small = new native.NativeKeyring(randomBytes(32).toString('base64'), [], 128)
  const pairs = [
    ['ERR_PAYLOAD_UNKNOWN_KEY', () => stranger.open(p, ID), () => stranger.openAsync(p, ID)],
    ['ERR_PAYLOAD_WRONG_ACTION', () => ring.open(p, OTHER_ID), () => ring.openAsync(p, OTHER_ID)],
    ['ERR_PAYLOAD_NOT_BASE64', () => ring.open('%%%%', ID), () => ring.openAsync(Buffer.from('%%%%'), ID)],
    ['ERR_PAYLOAD_TOO_SHORT', () => ring.open('AAAA', ID), () => ring.openAsync('AAAA', ID)],
    ['ERR_PAYLOAD_TOO_LARGE', () => small.seal(ID, 'x'.repeat(100)), () => small.sealAsync(ID, 'x'.repeat(100))],
  ]
  for (const [code, sync, async] of pairs) {
    const thrown = await failure(sync)
    const rejected = await failure(async)
    assert.ok(rejected instanceof Error, code)
    assert.equal(thrown.code, code)
    assert.deepEqual({ code: rejected.code, message: rejected.message }, { code: thrown.code, message: thrown.message })
    assert.doesNotMatch(rejected.message, /ERR_|\|/, code)
  }
})
