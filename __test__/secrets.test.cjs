// No key material and no decrypted payload in anything the package hands out:
// keyrings and key reports on every backend, errors from bad keys of every kind,
// withSkewGuard's build errors and warnings, CLI output, the proxy guard's
// responses, logs, events and counters, register()'s report and logs. Each object
// is looked at the ways a person or a logger would: util.inspect (all depths,
// hidden properties, getters, with and without custom inspection), JSON.stringify,
// String(), its own keys and entries, and an error's message, stack and cause.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const util = require('node:util')
const { spawnSync } = require('node:child_process')

const { backends } = require('./backends.cjs')
const { withEnv } = require('./env.cjs')
const { generateKey, Keyring: NativeKeyring } = require('..')

const ENV_KEY = 'NEXT_SERVER_ACTIONS_ENCRYPTION_KEY'
const ACTION = '60' + 'c'.repeat(40)
const OTHER_ACTION = '40' + 'd'.repeat(40)
const MARKER = `closure-plaintext-${Math.random().toString(36).slice(2)}-ÄÖ🔑`
const ROWS = `0:[${JSON.stringify(MARKER)}]\n`

/** A random key whose base64 holds both '+' and '/', so its base64url form differs. */
function keyWithSymbols() {
  for (let i = 0; i < 1000; i++) {
    const key = generateKey()
    if (key.includes('+') && key.includes('/')) return key
  }
  throw new Error('no key with + and / in 1000 tries')
}

const K = keyWithSymbols()
const P1 = generateKey()
const P2 = generateKey(16)
const FOREIGN = generateKey()
const KEYS = [K, P1, P2, FOREIGN]

/**
 * The forms a key (or a string that almost is one) could leak in: as given, its base64
 * without padding, base64url, hex (both cases), inspected-Buffer hex and a byte list, plus
 * 12-character prefixes and suffixes, which catch a "key starting with …" message.
 */
function forms(text) {
  const out = new Set()
  const add = (s) => {
    if (s.length >= 12) {
      out.add(s)
      out.add(s.slice(0, 12))
      out.add(s.slice(-12))
    }
  }
  const compact = text.replace(/[\s"'`]/g, '')
  add(compact.replace(/=+$/, ''))
  const bytes = Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
  if (bytes.length >= 12) {
    const b64 = bytes.toString('base64').replace(/=+$/, '')
    add(b64)
    add(b64.replace(/\+/g, '-').replace(/\//g, '_'))
    add(bytes.toString('hex'))
    add(bytes.toString('hex').toUpperCase())
    out.add(
      bytes
        .toString('hex')
        .slice(0, 24)
        .replace(/(..)(?!$)/g, '$1 '),
    )
    out.add([...bytes.subarray(0, 8)].join(','))
  }
  if (/^[0-9a-f]+$/i.test(compact) && compact.length >= 32) {
    const raw = Buffer.from(compact, 'hex')
    add(raw.toString('base64').replace(/=+$/, ''))
  }
  return [...out]
}

/** Every way the value shows itself, as one text. */
function exposures(value) {
  const out = []
  const show = (f) => {
    try {
      out.push(String(f()))
    } catch (e) {
      out.push(`<threw ${e?.message}>`)
    }
  }
  const deep = { depth: Infinity, showHidden: true, getters: true, maxArrayLength: Infinity, maxStringLength: Infinity }
  show(() => util.inspect(value, deep))
  show(() => util.inspect(value, { ...deep, customInspect: false }))
  show(() => JSON.stringify(value))
  show(() => String(value))
  show(() => util.format('%s %o %j', value, value, value))
  if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
    show(() => Object.keys(value).join(' '))
    show(() => util.inspect(Object.entries(value), deep))
    for (const name of Reflect.ownKeys(value)) show(() => util.inspect(value[name], deep))
    for (const name in value) show(() => util.inspect(value[name], deep))
    if (value instanceof Error) {
      show(() => value.message)
      show(() => value.stack)
      show(() => util.inspect(value.cause, deep))
    }
    show(() => util.inspect(structuredClone(value), deep))
  }
  return out.join('\n')
}

const ALL_KEY_FORMS = KEYS.flatMap(forms)

/** Asserts that `value` shows none of `secrets` (strings) anywhere. */
function assertClean(what, value, secrets = ALL_KEY_FORMS) {
  const text = exposures(value)
  for (const secret of [...secrets, MARKER, JSON.stringify(MARKER).slice(1, -1)]) {
    assert.ok(!text.includes(secret), `${what} shows secret material (${secret.length} characters)`)
  }
  return text
}

/** Runs `fn`, returning what it threw or rejected with (null when nothing). */
async function caught(fn) {
  try {
    await fn()
  } catch (e) {
    return e
  }
  return null
}

/** Captures console output (every level) while `fn` runs. */
async function withConsole(fn) {
  const lines = []
  const levels = ['log', 'info', 'warn', 'error', 'debug']
  const saved = levels.map((l) => console[l])
  for (const l of levels) console[l] = (...args) => lines.push(util.format(...args))
  const savedEmit = process.emitWarning
  process.emitWarning = (w, ...rest) => lines.push(util.format('warning', w, ...rest))
  try {
    const result = await fn()
    return { result, logs: lines.join('\n') }
  } finally {
    levels.forEach((l, i) => (console[l] = saved[i]))
    process.emitWarning = savedEmit
  }
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64')
const KB = Buffer.from(K, 'base64')

/** Strings that are keys gone wrong, each with the code Next.js-compatible parsing gives it. */
const BAD_KEYS = [
  ['quoted', `"${K}"`, 'ERR_KEY_QUOTED'],
  ['single-quoted', `'${K}'`, 'ERR_KEY_QUOTED'],
  ['base64url', K.replace(/\+/g, '-').replace(/\//g, '_'), 'ERR_KEY_BASE64URL'],
  ['hex of the key', KB.toString('hex'), 'ERR_KEY_HEX'],
  ['hex of a 24-byte key', KB.subarray(0, 24).toString('hex'), 'ERR_KEY_HEX'],
  ['a stray "!"', `${K.slice(0, 20)}!${K.slice(20)}`, 'ERR_KEY_NOT_BASE64'],
  ['a non-breaking space', `${K.slice(0, 20)}\u00a0${K.slice(20)}`, 'ERR_KEY_NOT_BASE64'],
  ['a byte-order mark', `\ufeff${K}`, 'ERR_KEY_NOT_BASE64'],
  ['padding in the middle', `${K.slice(0, 20)}==${K.slice(20)}`, 'ERR_KEY_NOT_BASE64'],
  ['cut off', K.slice(0, 41), 'ERR_KEY_NOT_BASE64'],
  ['two keys glued', K.replace(/=$/, '') + P1.replace(/=$/, ''), 'ERR_KEY_LENGTH'],
  ['48 bytes', b64(Buffer.concat([KB, KB.subarray(0, 16)])), 'ERR_KEY_LENGTH'],
  ['a placeholder around a key', `your-key-${K.slice(0, 30)}`, 'ERR_KEY_PLACEHOLDER'],
]

/** Keys Next.js accepts that checkKey reports (errors or warnings). */
const SUSPICIOUS_KEYS = [
  ['trailing newline', `${K}\n`],
  ['unpadded', K.replace(/=$/, '')],
  ['non-canonical last character', K.replace(/.=$/, (c) => String.fromCharCode(c.charCodeAt(0) ^ 1) + '=')],
  ['hex-looking (24 bytes)', KB.toString('hex').slice(0, 32)],
  ['16 bytes', P2],
  ['all one byte', b64(Buffer.alloc(32, 0x5c))],
  ['readable text', b64(Buffer.from('correct horse battery staple 123'))],
]

for (const { name, core, sync } of backends) {
  const Keyring = core.Keyring

  test(`${name}: a keyring and everything it returns show no key and no plaintext`, async () => {
    const ring = new Keyring({ current: K, previous: [P1, `${P2}\n`] })
    const text = assertClean('keyring', ring)
    assert.ok(text.includes(core.keyCheckValue(K)), 'the keyring shows its check values')
    assertClean('checkValues', ring.checkValues)
    assertClean('toJSON()', ring.toJSON())

    const old = new Keyring({ current: P1 })
    const foreign = new Keyring({ current: FOREIGN })
    const seal = (r, id = ACTION) => (sync ? r.sealSync(id, ROWS) : r.seal(id, ROWS))
    const payloads = {
      current: await seal(ring),
      previous: await seal(old),
      foreign: await seal(foreign),
      otherAction: await seal(ring, OTHER_ACTION),
    }
    for (const [what, payload] of Object.entries(payloads)) {
      assertClean(`sealed payload (${what})`, payload)
      const result = sync ? ring.verifySync(payload, ACTION) : await ring.verify(payload, ACTION)
      assertClean(`verify result (${what})`, result)
      assert.ok(!('checkValue' in result) && !('key' in result), 'a verdict names a key by index only')
    }
    for (const bad of [payloads.foreign, payloads.otherAction, 'not base64!', 'AAAA']) {
      const error = await caught(() => (sync ? ring.openSync(bad, ACTION) : ring.open(bad, ACTION)))
      assert.ok(error?.code?.startsWith('ERR_PAYLOAD_'), `open refused it: ${error?.code}`)
      assertClean(`open() error ${error.code}`, error)
    }
    const opened = sync ? ring.openSync(payloads.current, ACTION) : await ring.open(payloads.current, ACTION)
    assert.deepEqual(Object.keys(opened).sort(), ['keyIndex', 'rows'], 'open() returns the rows and a key index, nothing else')
    assert.equal(opened.rows, ROWS)
  })

  test(`${name}: key reports and check values of accepted keys show no key material`, () => {
    for (const [label, key] of [['canonical', K], ['16 bytes', P2], ...SUSPICIOUS_KEYS]) {
      const secrets = [...ALL_KEY_FORMS, ...forms(key)]
      const report = core.checkKey(key)
      assertClean(`checkKey (${label})`, report, secrets)
      if (report.errors.length === 0) {
        assertClean(`parseKey (${label})`, core.parseKey(key), secrets)
        assertClean(`keyCheckValue (${label})`, core.keyCheckValue(key), secrets)
        assert.match(core.keyCheckValue(key), /^[0-9a-f]{6}$/)
      }
    }
  })

  test(`${name}: every kind of bad key fails with an error that shows none of it`, async () => {
    for (const [label, key, code] of BAD_KEYS) {
      const secrets = [...ALL_KEY_FORMS, ...forms(key)]
      const attempts = {
        parseKey: () => core.parseKey(key),
        keyCheckValue: () => core.keyCheckValue(key),
        'Keyring current': () => new Keyring({ current: key }),
        'Keyring previous': () => new Keyring({ current: P1, previous: [key] }),
        'fromEnv current': () => Keyring.fromEnv({ [ENV_KEY]: key }),
        'fromEnv previous': () => Keyring.fromEnv({ [ENV_KEY]: P1, SKEW_GUARD_PREVIOUS_KEYS: `${FOREIGN},${key}` }),
      }
      for (const [how, attempt] of Object.entries(attempts)) {
        const error = await caught(attempt)
        assert.equal(error?.code, code, `${how} (${label})`)
        assertClean(`${how} error (${label})`, error, secrets)
      }
      const report = core.checkKey(key)
      assert.equal(report.ok, false, label)
      assertClean(`checkKey (${label})`, report, secrets)
    }
    const duplicate = await caught(() => new Keyring({ current: K, previous: [P1, `${K.replace(/=$/, '')}\n`] }))
    assert.equal(duplicate.code, 'ERR_KEYRING_DUPLICATE')
    assertClean('duplicate-key error', duplicate)
    const tooMany = await caught(() => new Keyring({ current: K, previous: Array.from({ length: 16 }, () => generateKey()) }))
    assert.equal(tooMany.code, 'ERR_KEYRING_TOO_LARGE')
    assertClean('too-many-keys error', tooMany)
    const notAString = await caught(() => new Keyring({ current: KB }))
    assert.equal(notAString.code, 'ERR_INVALID_ARG_TYPE')
    assertClean('key passed as bytes error', notAString)
  })
}

test('withSkewGuard: build errors and warnings about the key show none of it', async () => {
  const { withSkewGuard } = require('../dist/config/index.js')
  const build = (key, nextMajor) =>
    withEnv({ [ENV_KEY]: key, __SKEW_GUARD_RESOLVED_BUILD_ID: undefined, SKEW_GUARD_BUILD_ID: 'b1' }, async () => {
      const config = await withSkewGuard({}, { nextMajor })('phase-production-build', { defaultConfig: {} })
      return config.generateBuildId()
    })
  for (const [label, key, code] of BAD_KEYS) {
    const secrets = [...ALL_KEY_FORMS, ...forms(key)]
    const { result: error, logs } = await withConsole(() => caught(() => build(key, 16)))
    assert.equal(error?.code, code, label)
    assertClean(`withSkewGuard error (${label})`, error, secrets)
    assertClean(`withSkewGuard output (${label})`, logs, secrets)
    const on14 = await withConsole(() => build(key, 14))
    assert.match(on14.logs, /NEXT_SERVER_ACTIONS_ENCRYPTION_KEY/, `Next.js 14 warns (${label})`)
    assertClean(`withSkewGuard output on 14 (${label})`, on14.logs, secrets)
  }
  for (const [label, key] of SUSPICIOUS_KEYS) {
    const secrets = [...ALL_KEY_FORMS, ...forms(key)]
    const { result, logs } = await withConsole(() => caught(() => build(key, 16)))
    assertClean(`withSkewGuard result (${label})`, result, secrets)
    assertClean(`withSkewGuard output (${label})`, logs, secrets)
  }
})

/** Runs the CLI in this process and collects what it prints. */
function cli(argv, env = {}) {
  const { main } = require('../dist/cli/index.js')
  const out = []
  const err = []
  const code = main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env, color: false })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

test('CLI check and doctor print check values, never the key', () => {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-secrets-app-'))
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', dependencies: { next: '16.4.6' } }))
  fs.writeFileSync(path.join(app, 'next.config.mjs'), 'export default {}\n')
  try {
    for (const [label, key] of [['valid', K], ...SUSPICIOUS_KEYS, ...BAD_KEYS]) {
      const secrets = [...ALL_KEY_FORMS, ...forms(key)]
      const runs = {
        'check --key': cli(['check', '--key', key]),
        'check --key --json': cli(['check', '--json', '--key', key]),
        'check (environment)': cli(['check'], { [ENV_KEY]: key }),
        'doctor (environment)': cli(['doctor', app], { [ENV_KEY]: key }),
        'doctor --json (environment)': cli(['doctor', '--json', app], { [ENV_KEY]: key }),
      }
      fs.writeFileSync(path.join(app, '.env.production'), `${ENV_KEY}=${key.replace(/\n/g, '')}\n`)
      runs['doctor (.env.production)'] = cli(['doctor', app])
      for (const [how, run] of Object.entries(runs)) {
        assert.ok(run.code === 0 || run.code === 1, `${how} (${label}) exit ${run.code}: ${run.err}`)
        assertClean(`${how} (${label})`, `${run.out}\n${run.err}`, secrets)
      }
    }
    assert.match(cli(['check', '--key', K]).out, /^[0-9a-f]{6}$/, 'check prints the check value')
  } finally {
    fs.rmSync(app, { recursive: true, force: true })
  }
})

test('CLI keygen is the one command that prints a key', () => {
  const printed = cli(['keygen', '--format', 'env']).out
  const key = printed.split('=').slice(1).join('=')
  assert.equal(key.length, 44)
  assert.ok(printed.includes(key))
  for (const format of ['raw', 'docker', 'k8s']) {
    assert.match(cli(['keygen', '--format', format]).out, /[A-Za-z0-9+/]{43}=/, format)
  }
})

test('CLI usage errors do not echo a key given in the wrong place', () => {
  for (const argv of [['check', K], [K], ['doctor', '.', K], ['check', '--key', K, K]]) {
    const run = cli(argv)
    assert.equal(run.code, 2, argv.join(' '))
    assertClean(`usage error for ${argv.length} arguments`, `${run.out}\n${run.err}`)
  }
})

test('CLI usage errors do not echo a quoted or whitespace-padded key either', () => {
  for (const key of [`"${K}"`, `'${K}'`, `${K}\n`, ` ${K}`]) {
    for (const argv of [['check', key], [key], ['doctor', '.', key]]) {
      const run = cli(argv)
      assert.equal(run.code, 2, argv.join(' '))
      assertClean(`usage error for ${argv.length} arguments`, `${run.out}\n${run.err}`)
    }
  }
})

test('proxy guard: responses, logs, events and counters show no key, no key index and no plaintext', async () => {
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-secrets-dist-'))
  fs.mkdirSync(path.join(dist, 'server'))
  fs.writeFileSync(path.join(dist, 'BUILD_ID'), 'build-s1\n')
  fs.writeFileSync(
    path.join(dist, 'server', 'server-reference-manifest.json'),
    JSON.stringify({
      node: {
        [ACTION]: {
          workers: { 'app/page': { moduleId: 2, async: false } },
          filename: 'app/page.tsx',
          exportedName: '$$RSC_SERVER_ACTION_0',
        },
      },
      edge: {},
      encryptionKey: K,
    }),
  )
  const env = {
    NODE_ENV: 'production',
    __SKEW_GUARD_DIST_DIR: dist,
    SKEW_GUARD_BUILD_ID: undefined,
    [ENV_KEY]: K,
    SKEW_GUARD_PREVIOUS_KEYS: P1,
  }
  try {
    await withEnv(env, async () => {
      const { skewGuard } = require('../dist/proxy/index.js')
      const { getSkewStats, onSkew, resetSkewState } = require('../dist/server/events.js')
      resetSkewState()
      const events = []
      const off = onSkew((e) => events.push(e))
      const call = async (payload) => {
        const form = new FormData()
        form.set('1', JSON.stringify(payload))
        form.set('0', JSON.stringify(['$@1', 'arg']))
        const encoded = new Response(form)
        const type = encoded.headers.get('content-type')
        const body = await encoded.arrayBuffer()
        return new Request('http://127.0.0.1/', {
          method: 'POST',
          headers: { 'next-action': ACTION, accept: 'text/x-component', 'content-type': type, 'content-length': String(body.byteLength) },
          body,
        })
      }
      const sealed = (key) => new NativeKeyring({ current: key }).sealSync(ACTION, ROWS)
      const { result: responses, logs } = await withConsole(async () => {
        const guards = { env: skewGuard(), explicit: skewGuard({ keyring: NativeKeyring.fromEnv() }) }
        const out = {}
        for (const [g, guard] of Object.entries(guards)) {
          for (const [what, key] of [
            ['current', K],
            ['previous', P1],
            ['foreign', FOREIGN],
          ]) {
            out[`${g} ${what}`] = await guard(await call(sealed(key)))
          }
        }
        return out
      })
      off()
      assert.equal(responses['env previous'].status, 409, 'the previous-key payload was refused')
      assert.equal(responses['env previous'].headers.get('x-skew-guard'), 'key-rotated')
      for (const [what, response] of Object.entries(responses)) {
        const headers = [...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')
        const text = `${headers}\n${await response.text()}`
        assertClean(`response (${what})`, text)
        for (const key of KEYS) {
          assert.ok(!text.includes(require('..').keyCheckValue(key)), `response (${what}) names no key by check value`)
        }
        assert.doesNotMatch(headers, /key-?index|previous key #|#\d/i, `response (${what}) names no key by index`)
      }
      assert.deepEqual(
        events.map((e) => e.kind).sort(),
        ['key-rotated', 'key-rotated', 'unknown-key', 'unknown-key'],
        'the guard recorded the rotation and the unknown key',
      )
      assertClean('skew events', events)
      assertClean('getSkewStats()', getSkewStats())
      assertClean('guard logs', logs)

      // A broken key in the environment: the guard reports it once, without the key.
      resetSkewState()
      for (const [label, key] of BAD_KEYS) {
        await withEnv({ [ENV_KEY]: key, SKEW_GUARD_PREVIOUS_KEYS: undefined }, async () => {
          resetSkewState()
          const { logs: brokenLogs } = await withConsole(async () => skewGuard()(await call(sealed(K))))
          assert.match(brokenLogs, /Closure payload checks are off/, label)
          assertClean(`guard log for a broken key (${label})`, brokenLogs, [...ALL_KEY_FORMS, ...forms(key)])
          assertClean(`getSkewStats() with a broken key (${label})`, getSkewStats(), [...ALL_KEY_FORMS, ...forms(key)])
        })
      }
    })
  } finally {
    fs.rmSync(dist, { recursive: true, force: true })
  }
})

test('register(): its report and its startup log show check values, never keys', async () => {
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-secrets-instr-'))
  fs.mkdirSync(path.join(dist, 'server'))
  fs.writeFileSync(path.join(dist, 'BUILD_ID'), 'build-s2')
  const manifest = (key) =>
    fs.writeFileSync(
      path.join(dist, 'server', 'server-reference-manifest.json'),
      JSON.stringify({ node: { [OTHER_ACTION]: { workers: {} } }, edge: {}, encryptionKey: key }),
    )
  const register = async (runtimeKey, buildKey) => {
    manifest(buildKey)
    for (const k of Object.keys(require.cache)) if (k.includes(`${path.sep}dist${path.sep}`) && !k.includes('core')) delete require.cache[k]
    delete globalThis[Symbol.for('next-skew-guard.state')]
    return withEnv({ NODE_ENV: 'production', NEXT_RUNTIME: 'nodejs', __SKEW_GUARD_DIST_DIR: dist, [ENV_KEY]: runtimeKey }, () =>
      withConsole(async () => {
        const mod = require('../dist/instrumentation/index.js')
        return { report: await mod.register(), stats: mod.getSkewStats() }
      }),
    )
  }
  try {
    const mismatch = await register(K, FOREIGN)
    assert.deepEqual(mismatch.result.report.problems, ['ERR_KEY_MISMATCH'])
    assert.match(mismatch.logs, /KEY MISMATCH/)
    assertClean('register() report (mismatch)', mismatch.result)
    assertClean('register() log (mismatch)', mismatch.logs)
    for (const [label, key] of BAD_KEYS) {
      const secrets = [...ALL_KEY_FORMS, ...forms(key)]
      const broken = await register(key, K)
      assert.ok(broken.result.report.problems.length > 0, label)
      assertClean(`register() report (${label})`, broken.result, secrets)
      assertClean(`register() log (${label})`, broken.logs, secrets)
    }
  } finally {
    fs.rmSync(dist, { recursive: true, force: true })
  }
})

test('the secret scan finds every form of a test key in output, and a fresh keygen key in none', async () => {
  const { main: scan } = await import('../scripts/scan-secrets.mjs')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-secrets-scan-'))
  // A key this repository's tests write out: the scan must know it.
  const known = Buffer.from('7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3rNk=', 'base64')
  const leaks = [
    `key=${known.toString('base64')}`,
    `url ${known.toString('base64url')}`,
    `hex ${known.toString('hex')}`,
    `HEX ${known.toString('hex').toUpperCase()}`,
    util.inspect(known),
    `bytes [${[...known].join(',')}]`,
  ]
  const quiet = { log: () => {}, error: () => {} }
  try {
    leaks.forEach((line, i) => fs.writeFileSync(path.join(dir, `leak-${i}.log`), `before\n${line}\nafter\n`))
    const hits = []
    assert.equal(await scan([dir], { log: () => {}, error: (l) => hits.push(l) }), 1)
    assert.equal(hits.length, leaks.length, hits.join('\n'))
    for (const hit of hits) {
      assert.ok(
        hit.includes(`.log:2: test key ${require('..').keyCheckValue(known.toString('base64'))} `),
        `file:line and the check value: ${hit}`,
      )
      assert.ok(!hit.includes(known.toString('base64').slice(0, 12)), 'the report never prints the key')
    }
    for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f))
    const keygen = cli(['keygen', '--format', 'env'])
    fs.writeFileSync(path.join(dir, 'keygen.log'), `${keygen.out}\n`)
    fs.writeFileSync(path.join(dir, 'check.log'), `${cli(['check', '--key', K]).out}\n${cli(['check', '--key', K]).err}\n`)
    assert.equal(await scan([dir], quiet), 0, 'keygen output and check output are clean')
    assert.equal(await scan([], quiet), 2, 'nothing to scan is a usage error')

    // Keys a test makes at run time: test-log.mjs, preloaded, records them; the scan then knows them.
    const keysFile = path.join(dir, 'run.keys')
    const child = spawnSync(
      process.execPath,
      ['--import', './scripts/test-log.mjs', '-e', "console.log(require('next-skew-guard').generateKey().length)"],
      { cwd: path.join(__dirname, '..'), env: { ...process.env, NSG_TEST_KEYS_FILE: keysFile }, encoding: 'utf8' },
    )
    assert.equal(child.stdout.trim(), '44', child.stderr)
    const generated = fs.readFileSync(keysFile, 'utf8').trim()
    assert.equal(require('..').parseKey(generated).bytes, 32, 'the generated key was recorded')
    fs.writeFileSync(path.join(dir, 'run.log'), `ok 1\n${Buffer.from(generated, 'base64').toString('hex')}\n`)
    const found = []
    assert.equal(
      await scan(['--no-repo-keys', '--keys-file', keysFile, path.join(dir, 'run.log')], { log: () => {}, error: (l) => found.push(l) }),
      1,
    )
    assert.match(found.join('\n'), /run\.log:2: test key [0-9a-f]{6} \(32 bytes, generated during the run\) as hex/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
