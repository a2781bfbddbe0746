// Keys: generation, Next.js-exact parsing with precise reasons, advisory
// checks and check values, identical on every backend; the messages of keys,
// keyrings and payloads written once, in the table both backends read.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { backends, rejectsWithCode } = require('./backends.cjs')

const K32 = '7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3rNk='
const b64 = (bytes) => Buffer.from(bytes).toString('base64')

// [key, code thrown by parseKey or null when accepted]
const PARSE_CASES = [
  [K32, null],
  [K32.slice(0, -1), null], // unpadded: atob accepts it
  [` ${K32}\n`, null], // surrounding whitespace: atob ignores it
  [`${K32.slice(0, 10)}\t${K32.slice(10)}`, null],
  ['AAECAwQFBgcICQoLDA0ODw==', null], // 16 bytes
  ['A'.repeat(32), null], // 24 bytes of base64 (all zero)
  ['0f'.repeat(16), null], // 32 hex chars: base64 of 24 bytes, accepted as AES-192
  ['', 'ERR_KEY_EMPTY'],
  [' \n\t', 'ERR_KEY_EMPTY'],
  [`"${K32}"`, 'ERR_KEY_QUOTED'],
  [`'${K32}'`, 'ERR_KEY_QUOTED'],
  [K32.replace(/=$/, '').replace('Q', '-'), 'ERR_KEY_BASE64URL'],
  ['7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3r_k', 'ERR_KEY_BASE64URL'],
  ['7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3r!k=', 'ERR_KEY_NOT_BASE64'],
  [`${K32}A`, 'ERR_KEY_NOT_BASE64'],
  ['0f'.repeat(32), 'ERR_KEY_HEX'], // openssl rand -hex 32
  ['ab'.repeat(24), 'ERR_KEY_HEX'],
  [b64(new Uint8Array(20)), 'ERR_KEY_LENGTH'],
  [b64(new Uint8Array(60).fill(1)), 'ERR_KEY_LENGTH'], // base64(iv‖tag‖ct), navikt/aksel#4583
  [b64(new Uint8Array(48).fill(3)), 'ERR_KEY_LENGTH'], // openssl rand -base64 48
  ['your-generated-key', 'ERR_KEY_PLACEHOLDER'],
  ['<your-base64-key>', 'ERR_KEY_PLACEHOLDER'],
]

// [key, findings of checkKey in order]
const CHECK_CASES = [
  [K32, []],
  [`${K32}\n`, ['WARN_KEY_WHITESPACE']],
  [K32.slice(0, -1), ['WARN_KEY_UNPADDED']],
  ['7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3rNl=', ['WARN_KEY_NONCANONICAL']],
  ['0f'.repeat(16), ['WARN_KEY_HEX', 'WARN_KEY_SHORT']],
  ['AAECAwQFBgcICQoLDA0ODw==', ['ERR_KEY_PUBLIC', 'WARN_KEY_SHORT']],
  ['BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=', ['ERR_KEY_PUBLIC']],
  ['C2EQHj06esR8k1JjOjQ/j4qfS3q9mRHukR+66RzDwq0=', ['ERR_KEY_PUBLIC']], // a vendor image's default
  [b64(new Uint8Array(32)), ['ERR_KEY_WEAK']],
  [b64(Buffer.from('0123456789abcdef0123456789abcdef')), ['ERR_KEY_WEAK']],
  ['0f'.repeat(32), ['ERR_KEY_HEX']],
]

for (const { name, core } of backends) {
  test(`${name}: parseKey accepts exactly what Next.js accepts`, async () => {
    for (const [key, code] of PARSE_CASES) {
      if (code === null) {
        const info = core.parseKey(key)
        assert.equal(info.bytes, atobLength(key), JSON.stringify(key))
        assert.equal(info.bits, info.bytes * 8)
        assert.match(info.checkValue, /^[0-9a-f]{6}$/)
        assert.equal(info.canonical, btoa(atob(key)) === key, JSON.stringify(key))
      } else {
        const err = await rejectsWithCode(() => core.parseKey(key), code)
        assert.equal(err.name, 'SkewGuardError')
        assert.match(err.message, /keygen|Remove the quotes|base64/, code)
        if (key.trim().length > 8) assert.ok(!err.message.includes(key.trim()), `${code} message echoes the key`)
      }
    }
  })

  test(`${name}: the hex-key error says what happened and how to convert`, async () => {
    const err = await rejectsWithCode(() => core.parseKey('0f'.repeat(32)), 'ERR_KEY_HEX')
    assert.match(err.message, /64 hex characters = 32 bytes/)
    assert.match(err.message, /decodes to 48 bytes/)
    assert.match(err.message, /toString\('base64'\)/)
    const len = await rejectsWithCode(() => core.parseKey(b64(new Uint8Array(20))), 'ERR_KEY_LENGTH')
    assert.match(len.message, /decodes to 20 bytes/)
  })

  test(`${name}: checkKey reports errors and warnings with stable codes`, () => {
    for (const [key, codes] of CHECK_CASES) {
      const report = core.checkKey(key)
      const got = [...report.errors, ...report.warnings].map((f) => f.code)
      assert.deepEqual(got, codes, JSON.stringify(key))
      assert.equal(report.ok, !codes.some((c) => c.startsWith('ERR_')), JSON.stringify(key))
      assert.equal(report.bytes, atobLength(key))
      if (report.checkValue !== undefined) assert.equal(report.checkValue, core.keyCheckValue(key))
    }
    const bad = core.checkKey('0f'.repeat(32))
    assert.equal(bad.bytes, 48)
    assert.equal(bad.checkValue, undefined)
    const salt = core.checkKey(`${K32}\n`).warnings[0].message
    assert.match(salt, /salt every Server Action ID/)
  })

  test(`${name}: check values are AES(key, 0) as OpenSSL computes it`, () => {
    for (const len of [16, 24, 32]) {
      for (let i = 0; i < 20; i++) {
        const bytes = crypto.randomBytes(len)
        const ecb = crypto.createCipheriv(`aes-${len * 8}-ecb`, bytes, null).update(Buffer.alloc(16))
        assert.equal(core.keyCheckValue(b64(bytes)), ecb.subarray(0, 3).toString('hex'))
      }
    }
    assert.equal(core.keyCheckValue('AAECAwQFBgcICQoLDA0ODw=='), 'c6a13b')
  })

  test(`${name}: generateKey makes canonical random keys of 16, 24 and 32 bytes`, async () => {
    assert.equal(core.parseKey(core.generateKey()).bytes, 32)
    for (const n of [16, 24, 32]) {
      const key = core.generateKey(n)
      assert.deepEqual(core.checkKey(key).errors, [])
      assert.equal(core.parseKey(key).bytes, n)
      assert.ok(core.parseKey(key).canonical)
      assert.notEqual(key, core.generateKey(n))
    }
    await rejectsWithCode(() => core.generateKey(20), 'ERR_INVALID_ARG_VALUE', /16, 24 or 32/)
    await rejectsWithCode(() => core.generateKey('32'), 'ERR_INVALID_ARG_TYPE')
  })
}

test('not-base64 messages name the character and its position in characters', () => {
  for (const { core } of backends) {
    const bom = core.checkKey('\ufeff' + K32).errors[0]
    assert.equal(bom.code, 'ERR_KEY_NOT_BASE64')
    assert.match(bom.message, /U\+FEFF \(a byte-order mark.*\) at position 0/)
    assert.match(core.checkKey(K32 + '\u00a0').errors[0].message, /U\+00A0 \(a non-breaking space.*at position 44/)
    assert.match(core.checkKey('AAAAAAAé').errors[0].message, /U\+00E9 at position 7/)
    assert.match(core.checkKey('AB=C' + K32).errors[0].message, /'=' at position 2 is padding in the middle/)
    assert.match(core.checkKey('AAAAA').errors[0].message, /5 characters .* is a length no base64 string has/)
  }
})

test('both backends agree on findings for a corpus of odd keys', () => {
  const corpus = [
    ...PARSE_CASES.map(([k]) => k),
    ...CHECK_CASES.map(([k]) => k),
    'YQ=',
    'YQ===',
    'Y',
    '====',
    '=',
    '\u00a0' + K32,
    K32 + '\v',
    'é'.repeat(44),
    '\ufeff' + K32,
    K32 + '\u00a0',
    'AAAAAAAé',
    '€AAA',
    '😀' + K32,
    'AB=C' + K32,
    ...Array.from({ length: 200 }, (_, i) => b64(crypto.randomBytes(i % 40)).slice(0, 10 + (i % 50))),
  ]
  const [native, ...others] = backends
  for (const key of corpus) {
    const expected = native.core.checkKey(key)
    const codes = (r) => [...r.errors, ...r.warnings].map((f) => f.code)
    for (const other of others) {
      const got = other.core.checkKey(key)
      assert.deepEqual(codes(got), codes(expected), `${other.name} ${JSON.stringify(key)}`)
      assert.equal(got.bytes, expected.bytes, JSON.stringify(key))
      assert.equal(got.checkValue, expected.checkValue, JSON.stringify(key))
      // Messages too, for non-ASCII input as well (positions count characters on both).
      assert.deepEqual(got, expected, `${other.name} ${JSON.stringify(key)}`)
    }
  }
})

test('each message is written once: lib/core/rules.json, read by the Rust core and the JS backend alike', () => {
  const rules = require('../lib/core/rules.json')
  const sources = (dir, ext) =>
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(ext))
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('\n')
  // Long strings joined again, as they read: Rust `\` line continuations, JS `' +` concatenations.
  const rust = sources(path.join(__dirname, '..', 'src'), '.rs').replace(/\\\n\s*/g, '')
  const js = sources(path.join(__dirname, '..', 'lib', 'core'), '.ts').replace(/['"`]\s*\+\s*\n\s*['"`]/g, '')
  const texts = [...Object.entries(rules.messages), ...Object.entries(rules.fragments)]
  for (const [name, template] of texts) {
    if (name in rules.messages) {
      assert.match(rust, new RegExp(`message!\\(\\s*${name}\\b`), `src/ does not use the message ${name}`)
      assert.match(js, new RegExp(`message\\('${name}'`), `lib/core/ does not use the message ${name}`)
    }
    // No second copy of the wording: no run of it between slots appears in either language's sources.
    for (const run of template.split(/\{\w+\}/).filter((r) => r.length >= 40)) {
      assert.ok(!rust.includes(run), `src/ holds a copy of ${name}: ${JSON.stringify(run)}`)
      assert.ok(!js.includes(run), `lib/core/ holds a copy of ${name}: ${JSON.stringify(run)}`)
    }
  }
  // A slot left without a value is a defect, never an "undefined" shown to a user.
  const { message } = require('../dist/core/rules.js')
  assert.throws(() => message('keyLength'), /needs a value for \{bytes\}/)
  assert.match(message('keyLength', { bytes: 20 }), /^The encryption key decodes to 20 bytes; .* Generate a valid key/)
})

function atobLength(key) {
  try {
    return atob(key).length
  } catch {
    return undefined
  }
}
