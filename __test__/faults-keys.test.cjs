// Faults of the key environment, with the behaviour defined for each:
//
// - SKEW_GUARD_PREVIOUS_KEYS holds garbage (a truncated key, a stray word, the current key again):
//   register() reports the entry and the code once, without throwing, says that the current key is
//   valid (with its check value, never the key) and still compares it with the build's key; the
//   proxy lets every request through that it cannot check (no closure verdicts, never a 5xx of its
//   own) while its manifest and build-ID checks keep working. Next.js never reads that variable, so
//   actions with the current key keep running.
// - The key changing between `next build` and `next start` (15/16: IDs come from the build key,
//   closures from the runtime key): register() reports KEY MISMATCH with both check values —
//   instrumentation.test.cjs ('register() says loudly…') and the e2e suite ('register() reports a
//   build/runtime key mismatch…', on a real server). Here: it is still reported when the
//   previous-key list is broken.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

process.env.NODE_ENV = 'production'
delete process.env.SKEW_GUARD_BUILD_ID

const { generateKey, keyCheckValue, Keyring } = require('..')

const MODULE_ACTION = '40' + 'a'.repeat(40)
const INLINE_ACTION = '60' + 'b'.repeat(40)

function distDir(buildKey) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-faults-keys-'))
  fs.mkdirSync(path.join(dir, 'server'))
  fs.writeFileSync(path.join(dir, 'BUILD_ID'), 'build-1\n')
  fs.writeFileSync(
    path.join(dir, 'server', 'server-reference-manifest.json'),
    JSON.stringify({
      node: {
        [MODULE_ACTION]: { workers: { 'app/page': {} }, exportedName: 'save' },
        [INLINE_ACTION]: { workers: { 'app/page': {} }, exportedName: '$$RSC_SERVER_ACTION_0' },
      },
      edge: {},
      encryptionKey: buildKey,
    }),
  )
  return dir
}

/** Fresh module instances under `env`; every console line captured. */
function fresh(t, env) {
  for (const k of Object.keys(require.cache)) {
    if (/[\\/]dist[\\/](proxy|server|instrumentation)[\\/]/.test(k)) delete require.cache[k]
  }
  delete globalThis[Symbol.for('next-skew-guard.state')]
  const saved = { ...process.env }
  Object.assign(process.env, env)
  const logs = []
  const originals = { error: console.error, warn: console.warn, info: console.info }
  for (const level of Object.keys(originals)) console[level] = (...args) => logs.push(`${level}: ${args.join(' ')}`)
  t.after(() => {
    process.env = saved
    Object.assign(console, originals)
  })
  return { logs, instrumentation: require('../dist/instrumentation/index.js'), proxy: require('../dist/proxy/index.js') }
}

const GARBAGE = [
  ['a stray word', () => 'garbage', 'ERR_KEY_LENGTH'],
  ['a truncated key', () => generateKey().slice(0, 20), 'ERR_KEY_LENGTH'],
  ['the current key again', (current) => current, 'ERR_KEYRING_DUPLICATE'],
]

for (const [name, previous, code] of GARBAGE) {
  test(`SKEW_GUARD_PREVIOUS_KEYS with ${name}: reported once at startup, the current key still counts`, async (t) => {
    const key = generateKey()
    const bad = previous(key)
    const { logs, instrumentation } = fresh(t, {
      NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: key,
      SKEW_GUARD_PREVIOUS_KEYS: `${bad}`,
      __SKEW_GUARD_DIST_DIR: distDir(key),
      NEXT_RUNTIME: 'nodejs',
    })
    const report = await instrumentation.register()
    assert.deepEqual(report.problems, [code])
    assert.equal(report.runtimeKeyCheckValue, keyCheckValue(key), 'the current key is still known')
    assert.equal(report.actions, 2)
    const errors = logs.filter((l) => l.startsWith('error: '))
    assert.equal(errors.length, 1, logs.join('\n'))
    assert.match(errors[0], /SKEW_GUARD_PREVIOUS_KEYS entry #1/)
    assert.match(errors[0], new RegExp(`The current key \\(check value ${keyCheckValue(key)}\\) is valid and Server Actions keep working`))
    for (const secret of [key, bad]) assert.ok(!logs.join('\n').includes(secret.replace(/=+$/, '')), 'no key material in the output')
    assert.deepEqual(instrumentation.getSkewStats().configErrors, { [code]: 1 })
  })
}

test('a broken previous-key list does not hide a build/runtime key mismatch', async (t) => {
  const buildKey = generateKey()
  const runtimeKey = generateKey()
  const { logs, instrumentation } = fresh(t, {
    NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: runtimeKey,
    SKEW_GUARD_PREVIOUS_KEYS: 'garbage',
    __SKEW_GUARD_DIST_DIR: distDir(buildKey),
    NEXT_RUNTIME: 'nodejs',
  })
  const report = await instrumentation.register()
  assert.deepEqual(report.problems, ['ERR_KEY_LENGTH', 'ERR_KEY_MISMATCH'])
  const line = logs.find((l) => l.includes('KEY MISMATCH'))
  assert.ok(line?.includes(keyCheckValue(runtimeKey)) && line.includes(keyCheckValue(buildKey)), logs.join('\n'))
})

test('an invalid current key is still reported as such (no check value invented)', async (t) => {
  const { logs, instrumentation } = fresh(t, {
    NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: 'not-a-key',
    SKEW_GUARD_PREVIOUS_KEYS: generateKey(),
    __SKEW_GUARD_DIST_DIR: distDir(generateKey()),
    NEXT_RUNTIME: 'nodejs',
  })
  const report = await instrumentation.register()
  assert.equal(report.runtimeKeyCheckValue, null)
  assert.equal(report.problems.length, 1)
  assert.match(
    logs.find((l) => l.startsWith('error: ')),
    /will break on the next deploy/,
  )
})

test('the proxy under a broken previous-key list: no crash, no 5xx, closures pass to Next.js, ID checks stay on', async (t) => {
  const key = generateKey()
  const { logs, proxy } = fresh(t, {
    NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: key,
    SKEW_GUARD_PREVIOUS_KEYS: 'garbage',
    __SKEW_GUARD_DIST_DIR: distDir(key),
  })
  const guard = proxy.skewGuard()
  const closure = async (payload) => {
    const form = new FormData()
    form.set('1', JSON.stringify(payload))
    form.set('0', JSON.stringify(['$@1']))
    const body = await new Response(form).arrayBuffer()
    const type = new Response(form).headers.get('content-type')
    return guard(
      new Request('http://127.0.0.1/', {
        method: 'POST',
        headers: {
          'next-action': INLINE_ACTION,
          accept: 'text/x-component',
          'content-type': type,
          'content-length': String(body.byteLength),
        },
        body,
      }),
    )
  }
  const current = await closure(new Keyring({ current: key }).sealSync(INLINE_ACTION, '0:["x"]\n'))
  assert.equal(current.headers.get('x-middleware-next'), '1', 'sealed with the current key: passed to Next.js')
  const old = await closure(new Keyring({ current: generateKey() }).sealSync(INLINE_ACTION, '0:["x"]\n'))
  assert.equal(old.headers.get('x-middleware-next'), '1', 'no key here opens it: passed to Next.js (which refuses it), not refused')
  const unknown = await guard(
    new Request('http://127.0.0.1/', { method: 'POST', headers: { 'next-action': '40' + 'f'.repeat(40) }, body: '[]' }),
  )
  assert.equal(unknown.status, 409, 'the manifest check does not depend on the keyring')
  const errors = logs.filter((l) => l.startsWith('error: '))
  assert.equal(errors.length, 1, logs.join('\n'))
  assert.match(errors[0], /SKEW_GUARD_PREVIOUS_KEYS entry #1.*checked against the current key only/)
})
