// withSkewGuard: externals per Next.js major, a build identity shared by
// server and client, and a production build that refuses a bad key.
const test = require('node:test')
const assert = require('node:assert/strict')
const { withSkewGuard } = require('../dist/config/index.js')
const { generateKey } = require('..')

const BUILD = 'phase-production-build'
const SERVER = 'phase-production-server'
const DEV = 'phase-development-server'
const ctx = { defaultConfig: {} }

function withEnv(vars, fn) {
  const saved = {}
  for (const k of Object.keys(vars)) {
    saved[k] = process.env[k]
    if (vars[k] === undefined) delete process.env[k]
    else process.env[k] = vars[k]
  }
  return Promise.resolve()
    .then(fn)
    .finally(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    })
}

const KEY = generateKey()

test('adds the externals for 15/16 and keeps every user setting', async () => {
  const config = await withEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_BUILD_ID: 'abc123' }, () =>
    withSkewGuard({ reactStrictMode: true, serverExternalPackages: ['sharp'], env: { A: '1' } }, { nextMajor: 16 })(BUILD, ctx),
  )
  assert.equal(config.reactStrictMode, true)
  assert.deepEqual(config.serverExternalPackages, ['sharp', 'next-skew-guard-native'])
  assert.deepEqual(config.env, { A: '1', NEXT_PUBLIC_SKEW_GUARD_BUILD_ID: 'abc123', SKEW_GUARD_BUILD_ID: 'abc123' })
  assert.equal(await config.generateBuildId(), 'abc123')
})

test('Next.js 14 gets experimental.serverComponentsExternalPackages and instrumentationHook', async () => {
  const config = await withSkewGuard({ experimental: { serverActions: { bodySizeLimit: '2mb' } } }, { nextMajor: 14 })(SERVER, ctx)
  assert.deepEqual(config.experimental, {
    serverActions: { bodySizeLimit: '2mb' },
    serverComponentsExternalPackages: ['next-skew-guard-native'],
    instrumentationHook: true,
  })
  assert.equal(config.serverExternalPackages, undefined)
})

test('function configs (sync and async) are resolved per phase', async () => {
  const seen = []
  const fn = async (phase) => {
    seen.push(phase)
    return { basePath: '/app' }
  }
  const config = await withSkewGuard(fn, { nextMajor: 15 })(DEV, ctx)
  assert.deepEqual(seen, [DEV])
  assert.equal(config.basePath, '/app')
  assert.deepEqual(config.serverExternalPackages, ['next-skew-guard-native'])
})

test("the user's generateBuildId wins and becomes the client identity", async () => {
  const config = await withEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY }, () =>
    withSkewGuard({ generateBuildId: async () => 'mine-42' }, { nextMajor: 16 })(BUILD, ctx),
  )
  assert.equal(await config.generateBuildId(), 'mine-42')
  assert.equal(config.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID, 'mine-42')
})

test('a production build without a valid key fails with the fix; requireKey: false opts out', async () => {
  const build = (env, opts = { nextMajor: 16 }) => withEnv(env, () => withSkewGuard({}, opts)(BUILD, ctx))
  await assert.rejects(build({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: undefined }), {
    code: 'ERR_KEY_MISSING',
    message: /NEXT_SERVER_ACTIONS_ENCRYPTION_KEY is not set.*Failed to find Server Action.*requireKey: false/s,
  })
  await assert.rejects(build({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: undefined }, { nextMajor: 14 }), { message: /Next\.js 14/ })
  await assert.rejects(build({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: 'ab'.repeat(32) }), {
    code: 'ERR_KEY_HEX',
    message: /^NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: The encryption key looks like hex/,
  })
  await assert.rejects(build({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: 'AAECAwQFBgcICQoLDA0ODw==' }), { code: 'ERR_KEY_PUBLIC' })
  const optedOut = await build({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: undefined }, { nextMajor: 16, requireKey: false })
  assert.ok(optedOut.generateBuildId)
  // Development and `next start` never fail on the key (register() reports it at runtime).
  await withEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: undefined }, () => withSkewGuard({}, { nextMajor: 16 })(DEV, ctx))
})

test('a build identity is always set, even without git or env', async () => {
  const config = await withEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_BUILD_ID: undefined, PATH: '' }, () =>
    withSkewGuard({}, { nextMajor: 16 })(BUILD, ctx),
  )
  const id = await config.generateBuildId()
  assert.match(id, /^[\w.-]+$/)
  assert.equal(config.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID, id)
})

test('bad arguments get typed errors naming the valid options', () => {
  assert.throws(() => withSkewGuard({}, { buildID: 'x' }), { code: 'ERR_UNKNOWN_OPTION', message: /Valid options: buildId, requireKey, nextMajor/ })
  assert.throws(() => withSkewGuard({}, { requireKey: 'no' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => withSkewGuard({}, { buildId: 'has space' }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => withSkewGuard({}, { nextMajor: 13 }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => withSkewGuard('next.config'), { code: 'ERR_INVALID_ARG_TYPE' })
})
