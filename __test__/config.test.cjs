// withSkewGuard: externals per Next.js major, a build identity shared by
// server and client, and a production build that refuses a bad key.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { configFileDir, commitIdentity, withSkewGuard } = require('../dist/config/index.js')
const { nextStartDir } = require('../dist/server/build-info.js')
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
  const { config, id } = await buildWith(
    { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY },
    { generateBuildId: async () => 'mine-42' },
    { nextMajor: 16 },
  )
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
  const { config, id } = await buildWith(
    { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_BUILD_ID: undefined, PATH: '' },
    {},
    { nextMajor: 16 },
  )
  assert.match(id, /^[\w.-]+$/)
  assert.equal(config.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID, id)
})

test('bad arguments get typed errors naming the valid options', () => {
  assert.throws(() => withSkewGuard({}, { buildID: 'x' }), {
    code: 'ERR_UNKNOWN_OPTION',
    message: /Valid options: buildId, deploymentId, requireKey, nextMajor/,
  })
  assert.throws(() => withSkewGuard({}, { requireKey: 'no' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => withSkewGuard({}, { buildId: 'has space' }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => withSkewGuard({}, { nextMajor: 13 }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => withSkewGuard({}, { deploymentId: 'v1.2' }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /letters, digits, "_" or "-"/,
  })
  assert.throws(() => withSkewGuard({}, { deploymentId: true }), { code: 'ERR_INVALID_ARG_TYPE' })
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

test('an untrimmed generateBuildId (git rev-parse output) is trimmed as Next.js trims it, for server and client alike', async () => {
  const { config, id } = await buildWith(
    { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY },
    { generateBuildId: () => '0123456789abcdef0123456789abcdef01234567\n' },
    { nextMajor: 16 },
  )
  assert.equal(id, '0123456789abcdef0123456789abcdef01234567')
  assert.equal(config.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID, id)
  assert.equal(config.env.SKEW_GUARD_BUILD_ID, id)
  // null lets the guard choose, as Next.js would choose its own.
  const chosen = await buildWith(
    { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_BUILD_ID: 'pinned-1' },
    { generateBuildId: () => null },
    { nextMajor: 16 },
  )
  assert.equal(chosen.id, 'pinned-1')
})

test('a generateBuildId the guard cannot carry in a header fails the build with the reason', async () => {
  for (const bad of ['two words', 'a"quote', '', '   ', 'é-accent', 'x'.repeat(129)]) {
    await assert.rejects(buildWith({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY }, { generateBuildId: () => bad }, { nextMajor: 16 }), {
      code: 'ERR_BUILD_ID',
      message: /generateBuildId in your next\.config returned .*visible ASCII/s,
    })
  }
  await assert.rejects(buildWith({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY }, { generateBuildId: () => 42 }, { nextMajor: 16 }), {
    code: 'ERR_BUILD_ID',
    message: /must return a string or null; it returned number/,
  })
  // What Next.js itself accepts and headers can carry passes.
  const { id } = await buildWith(
    { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY },
    { generateBuildId: () => '2026-12-02T10:00:00.000Z' },
    { nextMajor: 16 },
  )
  assert.equal(id, '2026-12-02T10:00:00.000Z')
})

test('the commit-derived identity does not publish the commit', async () => {
  const commit = 'a'.repeat(40)
  const { id } = await buildWith(
    { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_BUILD_ID: undefined, GIT_COMMIT: commit },
    {},
    { nextMajor: 16 },
  )
  assert.equal(id, commitIdentity(commit))
  assert.match(id, /^git-[0-9a-f]{16}$/)
  assert.ok(!id.includes(commit.slice(0, 8)))
  // An explicit identity is used as given.
  const pinned = await buildWith(
    { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_BUILD_ID: commit, GIT_COMMIT: commit },
    {},
    { nextMajor: 16 },
  )
  assert.equal(pinned.id, commit)
})

test('every build gets a deploymentId Next.js accepts: yours, NEXT_DEPLOYMENT_ID, or one derived from the identity', async () => {
  const env = { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, NEXT_DEPLOYMENT_ID: undefined }
  assert.equal((await buildWith({ ...env, SKEW_GUARD_BUILD_ID: 'v1.2.3' }, {}, { nextMajor: 16 })).config.deploymentId, 'v1-2-3')
  assert.equal(
    (await buildWith({ ...env, SKEW_GUARD_BUILD_ID: 'v1' }, { deploymentId: 'mine' }, { nextMajor: 16 })).config.deploymentId,
    'mine',
  )
  assert.equal(
    (await buildWith({ ...env, SKEW_GUARD_BUILD_ID: 'v1' }, {}, { nextMajor: 16, deploymentId: 'opt' })).config.deploymentId,
    'opt',
  )
  assert.equal(
    (await buildWith({ ...env, SKEW_GUARD_BUILD_ID: 'v1', NEXT_DEPLOYMENT_ID: 'from-env' }, {}, { nextMajor: 16 })).config.deploymentId,
    'from-env',
  )
  assert.equal(
    (await buildWith({ ...env, SKEW_GUARD_BUILD_ID: 'v1' }, {}, { nextMajor: 16, deploymentId: false })).config.deploymentId,
    undefined,
  )
  const long = (await buildWith({ ...env, SKEW_GUARD_BUILD_ID: 'x.'.repeat(60) }, {}, { nextMajor: 16 })).config.deploymentId
  assert.match(long, /^[A-Za-z0-9_-]{1,64}$/)
})

test('next start: the dist dir is absolute (the project of the next.config file) and the deploymentId is the built one', async () => {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-config-'))
  try {
    fs.mkdirSync(path.join(project, 'out'))
    fs.writeFileSync(path.join(project, 'out', 'BUILD_ID'), 'v7.1')
    const configFile = path.join(project, 'next.config.js')
    fs.writeFileSync(
      configFile,
      `module.exports = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'config', 'index.js'))}).withSkewGuard({ distDir: 'out' }, { nextMajor: 16 })`,
    )
    await withEnv({ __SKEW_GUARD_DIST_DIR: undefined, NEXT_DEPLOYMENT_ID: undefined }, async () => {
      delete require.cache[configFile]
      const config = await require(configFile)(SERVER, ctx)
      assert.equal(process.env.__SKEW_GUARD_DIST_DIR, path.join(project, 'out'))
      assert.equal(config.deploymentId, 'v7-1')
    })
  } finally {
    fs.rmSync(project, { recursive: true, force: true })
  }
})

test('configFileDir reads the next.config location off a stack (CJS, ESM URL, transpiled TS)', () => {
  assert.equal(
    configFileDir('Error\n    at withSkewGuard (/x/dist/config/index.js:1:1)\n    at Object.<anonymous> (/srv/my app/next.config.js:3:18)'),
    '/srv/my app',
  )
  assert.equal(configFileDir('Error\n    at file:///srv/web/next.config.mjs:5:16'), '/srv/web')
  assert.equal(configFileDir('Error\n    at Object.<anonymous> (/srv/web/next.config.compiled.js:7:1)'), '/srv/web')
  assert.equal(configFileDir('Error\n    at file:///srv/web/next.config.ts:2:1'), '/srv/web')
  assert.equal(configFileDir('Error\n    at Object.<anonymous> (/srv/web/other.js:3:18)'), null)
  assert.equal(configFileDir(undefined), null)
})

test('nextStartDir: the project directory of a `next start [dir]` command line', () => {
  const node = process.execPath
  assert.equal(nextStartDir([node, '/r/node_modules/.bin/next', 'start', 'apps/web', '-p', '3000'], '/r'), '/r/apps/web')
  assert.equal(nextStartDir([node, '/r/node_modules/next/dist/bin/next', 'start', '-p', '3000', 'apps/web'], '/r'), '/r/apps/web')
  assert.equal(nextStartDir([node, '/r/node_modules/.bin/next', 'start', '--port', '3000', '-H', '0.0.0.0'], '/r'), '/r')
  assert.equal(nextStartDir([node, '/r/node_modules/.bin/next', 'start', '--keepAliveTimeout', '5000', '/abs/web'], '/r'), '/abs/web')
  assert.equal(nextStartDir([node, '/r/server.js'], '/r'), null)
  assert.equal(nextStartDir([node, '/r/node_modules/.bin/next', 'build', 'apps/web'], '/r'), null)
})

test('an install linked to a source checkout (npm install <folder>) is refused at build with the way out; store links pass', () => {
  const { assertNotLinkedCheckout } = require('../dist/config/index.js')
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-config-link-'))
  try {
    const checkout = path.join(root, 'next-skew-guard')
    const appDir = path.join(root, 'app')
    fs.mkdirSync(checkout)
    fs.mkdirSync(path.join(appDir, 'node_modules'), { recursive: true })
    fs.symlinkSync(checkout, path.join(appDir, 'node_modules', 'next-skew-guard'), 'dir')
    assert.throws(() => assertNotLinkedCheckout(appDir), {
      code: 'ERR_LINKED_INSTALL',
      message: /npm run pack.*npm install <the \.tgz files>/s,
    })
    // A monorepo app below the project: the link is found walking up, as Node resolves.
    fs.mkdirSync(path.join(appDir, 'apps', 'web'), { recursive: true })
    assert.throws(() => assertNotLinkedCheckout(path.join(appDir, 'apps', 'web')), { code: 'ERR_LINKED_INSTALL' })
    // pnpm: a link into the store is an ordinary install.
    const store = path.join(root, 'pnpm-app', 'node_modules', '.pnpm', 'next-skew-guard@0.1.0', 'node_modules', 'next-skew-guard')
    fs.mkdirSync(store, { recursive: true })
    fs.symlinkSync(store, path.join(root, 'pnpm-app', 'node_modules', 'next-skew-guard'), 'dir')
    assertNotLinkedCheckout(path.join(root, 'pnpm-app'))
    // A copied (tarball) install.
    fs.mkdirSync(path.join(root, 'tar-app', 'node_modules', 'next-skew-guard'), { recursive: true })
    assertNotLinkedCheckout(path.join(root, 'tar-app'))
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
})
