// withSkewGuard: externals per Next.js major, a build identity shared by
// server and client, and a production build that refuses a bad key.
const test = require('node:test')
const assert = require('node:assert/strict')
const { withSkewGuard } = require('../dist/config/index.js')
const { generateKey } = require('..')
const { withEnv: withEnvVars } = require('./env.cjs')

const BUILD = 'phase-production-build'
const SERVER = 'phase-production-server'
const DEV = 'phase-development-server'
const ctx = { defaultConfig: {} }

function withEnv(vars, fn) {
  // Every case starts without the identity an earlier config load chose.
  return withEnvVars({ __SKEW_GUARD_RESOLVED_BUILD_ID: undefined, ...vars }, fn)
}

const KEY = generateKey()

/** Loads the config for `next build` and asks for the build ID, as Next.js does, inside `env`. */
function buildWith(env, config, options) {
  return withEnv(env, async () => {
    const resolved = await withSkewGuard(config, options)(BUILD, ctx)
    return { config: resolved, id: await resolved.generateBuildId() }
  })
}

test('adds the externals for 15/16 and keeps every user setting', async () => {
  const { config, id } = await buildWith(
    { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_BUILD_ID: 'abc123' },
    { reactStrictMode: true, serverExternalPackages: ['sharp'], env: { A: '1' } },
    { nextMajor: 16 },
  )
  assert.equal(config.reactStrictMode, true)
  assert.deepEqual(config.serverExternalPackages, ['sharp', 'next-skew-guard-native'])
  assert.deepEqual(config.env, { A: '1', NEXT_PUBLIC_SKEW_GUARD_BUILD_ID: 'abc123', SKEW_GUARD_BUILD_ID: 'abc123' })
  assert.equal(id, 'abc123')
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
  const { config, id } = await buildWith({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY }, { generateBuildId: async () => 'mine-42' }, { nextMajor: 16 })
  assert.equal(id, 'mine-42')
  assert.equal(config.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID, 'mine-42')
})

test('a production build without a valid key fails with the fix; requireKey: false opts out', async () => {
  // The check runs when Next.js asks for the build ID: only `next build` does.
  const build = (env, opts = { nextMajor: 16 }) =>
    withEnv(env, async () => {
      const config = await withSkewGuard({}, opts)(BUILD, ctx)
      await config.generateBuildId()
      return config
    })
  await assert.rejects(build({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: undefined }), {
    code: 'ERR_KEY_MISSING',
    message: /NEXT_SERVER_ACTIONS_ENCRYPTION_KEY is not set.*Failed to find Server Action.*requireKey: false/s,
  })
  // Next.js 14 ignores the build-time key (only the runtime key counts): warn, never fail.
  const warnings = []
  const warn = console.warn
  console.warn = (m) => warnings.push(m)
  try {
    await build({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: undefined }, { nextMajor: 14 })
    await build({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: 'ab'.repeat(32) }, { nextMajor: 14 })
  } finally {
    console.warn = warn
  }
  assert.match(warnings[0], /Next\.js 14 reads NEXT_SERVER_ACTIONS_ENCRYPTION_KEY only at runtime/)
  assert.match(warnings[1], /looks like hex/)
  // Loading the config for a production build (next lint, next typegen) does not check the key.
  await withEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: undefined }, () => withSkewGuard({}, { nextMajor: 16 })(BUILD, ctx))
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
  const { config, id } = await buildWith({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_BUILD_ID: undefined, PATH: '' }, {}, { nextMajor: 16 })
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

test('one build identity per build, even when every webpack worker loads the config again', async () => {
  await withEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_BUILD_ID: undefined, PATH: '' }, async () => {
    let calls = 0
    const nonDeterministic = () => `t-${++calls}`
    const ids = []
    for (let worker = 0; worker < 3; worker++) {
      const config = await withSkewGuard({ generateBuildId: nonDeterministic }, { nextMajor: 16 })(BUILD, ctx)
      ids.push(config.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID, await config.generateBuildId())
    }
    assert.deepEqual(new Set(ids), new Set(['t-1']))
  })
})

test('an empty SKEW_GUARD_BUILD_ID (a Dockerfile ENV without its build-arg) is ignored; a malformed one is refused', async () => {
  const config = await withEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_BUILD_ID: '', PATH: '' }, () =>
    withSkewGuard({}, { nextMajor: 16 })(BUILD, ctx),
  )
  assert.match(config.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID, /^b-[0-9a-f]{16}$/)
  await withEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_BUILD_ID: 'has space' }, () =>
    assert.rejects(withSkewGuard({}, { nextMajor: 16 })(BUILD, ctx), { code: 'ERR_BUILD_ID' }),
  )
})

test('Next.js 15+: a leftover experimental.serverComponentsExternalPackages gets the package too', async () => {
  const config = await withSkewGuard({ experimental: { serverComponentsExternalPackages: ['sharp'] } }, { nextMajor: 15 })(DEV, ctx)
  assert.deepEqual(config.serverExternalPackages, ['next-skew-guard-native'])
  assert.deepEqual(config.experimental.serverComponentsExternalPackages, ['sharp', 'next-skew-guard-native'])
})
