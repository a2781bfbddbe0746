// docs/errors.md is the bad-input catalogue. This suite holds it to the code:
// every listed code is reached through the public API (or the CLI) with the
// message the catalogue promises, on every backend where it applies; every
// code the sources can produce is listed; nothing listed is stale.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { backends } = require('./backends.cjs')

const root = path.join(__dirname, '..')
const native = backends[0].core
const { withSkewGuard } = require('../dist/config/index.js')
const { skewGuard } = require('../dist/proxy/index.js')
const { createSkewGuard } = require('../dist/proxy/guard.js')
const { onSkew, getSkewStats, resetSkewState } = require('../dist/server/events.js')
const { callSafeAction, createSafeAction, SafeActionError } = require('../dist/action/index.js')
const { noteActionResponse } = require('../dist/shared/protocol.js')
const { main: cli } = require('../dist/cli/index.js')

// --- The catalogue -----------------------------------------------------------

/** Entries of docs/errors.md: code → { fragments, untriggerable }. */
function readCatalogue() {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const entries = new Map()
  for (const section of text.split(/^### /m).slice(1)) {
    const code = /^`([^`]+)`/.exec(section)?.[1]
    assert.ok(code, `an entry without a code: ${section.slice(0, 60)}`)
    assert.ok(!entries.has(code), `${code} is listed twice`)
    const field = (name) => new RegExp(`^- \\*\\*${name}:\\*\\*([\\s\\S]*?)(?=^- \\*\\*|^## |(?![\\s\\S]))`, 'm').exec(section)?.[1]
    for (const name of ['Where', 'Cause', 'What to do', 'Message']) {
      assert.ok(field(name)?.trim(), `${code}: no "${name}" in docs/errors.md`)
    }
    const message = field('Message').trim()
    const fragments = message === '—' ? [] : [...message.matchAll(/`([^`]+)`/g)].map((m) => m[1])
    assert.ok(message === '—' || fragments.length > 0, `${code}: the Message field has no \`fragment\``)
    entries.set(code, { fragments, untriggerable: field('Not triggerable in tests')?.trim() })
  }
  return entries
}
const catalogue = readCatalogue()

/** Every file under `dir` with one of `exts`. */
function files(dir, exts) {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && exts.some((e) => d.name.endsWith(e)))
    .map((d) => path.join(d.parentPath ?? d.path, d.name))
}

/** Every code the package can produce, read from its sources and its build output. */
function codesInSources() {
  const found = new Map()
  const add = (code, where) => found.set(code, found.get(code) ?? path.relative(root, where))
  const sources = [
    ...files(path.join(root, 'lib'), ['.ts']),
    ...files(path.join(root, 'dist'), ['.js']),
    ...files(path.join(root, 'src'), ['.rs']),
    ...files(path.join(root, 'bin'), ['.js']),
  ]
  for (const file of sources) {
    const text = fs.readFileSync(file, 'utf8')
    // Quoted code literals: 'ERR_…', "WARN_…", `NEXT_SKEW_GUARD_…` (process warning codes).
    for (const m of text.matchAll(/['"`]((?:ERR|WARN)_[A-Z0-9]+(?:_[A-Z0-9]+)*|NEXT_SKEW_GUARD_[A-Z0-9_]+)['"`]/g)) add(m[1], file)
  }
  // Safe-action result codes: the `error:` unions of the result types, and ACTION_ERROR.
  const types = path.join(root, 'lib', 'action', 'types.ts')
  for (const line of fs
    .readFileSync(types, 'utf8')
    .split('\n')
    .filter((l) => /^\s*error: '/.test(l))) {
    for (const m of line.matchAll(/'([A-Z_]+)'/g)) add(m[1], types)
  }
  const server = path.join(root, 'lib', 'action', 'server.ts')
  add(/export const ACTION_ERROR = '([A-Z_]+)'/.exec(fs.readFileSync(server, 'utf8'))[1], server)
  // Proxy verdicts: the GuardVerdict union.
  const protocol = path.join(root, 'lib', 'shared', 'protocol.ts')
  for (const m of /export type GuardVerdict = ([^\n]+)/.exec(fs.readFileSync(protocol, 'utf8'))[1].matchAll(/'([a-z-]+)'/g))
    add(m[1], protocol)
  // CLI exit codes.
  const cliSource = path.join(root, 'lib', 'cli', 'index.ts')
  for (const m of /export const EXIT = \{([^}]*)\}/.exec(fs.readFileSync(cliSource, 'utf8'))[1].matchAll(/: (\d+)/g))
    add(`exit ${m[1]}`, cliSource)
  return found
}

// --- Triggers ----------------------------------------------------------------

const KEY = 'q83vEjRWeJq8nt8SNFZ4mrze8BI0VniavN7wEjRWeJo='
const KEY_16 = 'AAECAwQFBgcICQoLDA0ODw=='
const ID = '60c6dd4c8b146d5c3453cdc7c1eb87f87a63a6a732'
const INLINE_ACTION = '60' + 'b'.repeat(40)

/** What a trigger observed: the code and message of an error, a finding, a result or a log line. */
async function caught(fn) {
  try {
    await fn()
  } catch (e) {
    assert.ok(e instanceof Error, `threw a non-Error: ${String(e)}`)
    return { code: e.code, message: e.message }
  }
  assert.fail('expected a throw')
}

/** The same trigger on each backend of the core (native, JS on node:crypto, JS on WebCrypto). */
const onEachBackend = (fn) => backends.map(({ name, core }) => ({ label: name, run: () => fn(core) }))

/** Runs `fn` with `env` applied (undefined deletes), then restores it and what withSkewGuard writes. */
function withEnv(extra, fn) {
  const env = { __SKEW_GUARD_RESOLVED_BUILD_ID: undefined, __SKEW_GUARD_DIST_DIR: process.env.__SKEW_GUARD_DIST_DIR, ...extra }
  const saved = {}
  for (const k of Object.keys(env)) saved[k] = process.env[k]
  const restore = () => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
  }
  for (const [k, v] of Object.entries(env))
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  let result
  try {
    result = fn()
  } catch (e) {
    restore()
    throw e
  }
  return Promise.resolve(result).finally(restore)
}

const buildDirs = []
test.after(() => {
  for (const dir of buildDirs) fs.rmSync(dir, { recursive: true, force: true })
})

/** A build directory: BUILD_ID and a manifest recording `key` (or none); removed after the file's tests. */
function buildDir({ key, manifest = true }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-catalogue-'))
  buildDirs.push(dir)
  fs.mkdirSync(path.join(dir, 'server'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'BUILD_ID'), 'build-1\n')
  if (manifest) {
    fs.writeFileSync(
      path.join(dir, 'server', 'server-reference-manifest.json'),
      JSON.stringify({ node: { [INLINE_ACTION]: { workers: {}, exportedName: '$$RSC_SERVER_ACTION_0' } }, edge: {}, encryptionKey: key }),
    )
  }
  return dir
}

/**
 * Runs the instrumentation's register() in a child process (it installs
 * process-wide hooks) and returns the setup problems it counted and logged.
 */
function registerIn(env) {
  const script = `
    const lines = []
    for (const level of ['error', 'warn', 'info']) console[level] = (...a) => lines.push(a.join(' '))
    require(${JSON.stringify(path.join(root, 'dist/instrumentation/index.js'))}).register().then(() => {
      const { getSkewStats } = require(${JSON.stringify(path.join(root, 'dist/server/events.js'))})
      process.stdout.write(JSON.stringify({ configErrors: getSkewStats().configErrors, lines }))
    })`
  const run = spawnSync(process.execPath, ['-e', script], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', NEXT_RUNTIME: 'nodejs', SKEW_GUARD_PREVIOUS_KEYS: '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.equal(run.status, 0, run.stderr)
  return JSON.parse(run.stdout)
}

/** A setup problem as a trigger result: the code counted, with its logged line as the message. */
function setupProblem({ configErrors, lines }, code) {
  assert.ok(configErrors[code] >= 1, `${code} was not counted: ${JSON.stringify(configErrors)}`)
  return {
    code,
    message: lines.find((l) => l.includes(code) || (l.startsWith('[next-skew-guard]') && !l.includes('registered'))) ?? lines.join('\n'),
  }
}

/** A guard over a fixed build, for the verdicts and ERR_GUARD. */
function guardOver(keyring, options = {}) {
  return createSkewGuard({
    isProduction: () => true,
    readBuildId: () => 'build-2',
    readManifest: () => ({
      actions: new Map([[INLINE_ACTION, { exportedName: '$$RSC_SERVER_ACTION_0', pages: [] }]]),
      encryptionKey: null,
      file: 'm',
    }),
    keyringFromEnv: () => keyring,
    compareBuildIds: native.compareBuildIds,
  })({ keyring, ...options })
}

/** A fetch-style Server Action call carrying a closure payload, as React sends it. */
async function actionCall(id, { payload = 'x', build } = {}) {
  const form = new FormData()
  form.set('0', JSON.stringify(['$@1', 'arg']))
  form.set('1', JSON.stringify(payload))
  const encoded = new Response(form)
  const body = new Uint8Array(await encoded.arrayBuffer())
  const headers = { 'next-action': id, 'content-type': encoded.headers.get('content-type'), 'content-length': String(body.length) }
  if (build) headers['x-skew-guard-build'] = build
  return new Request('http://127.0.0.1/', { method: 'POST', headers, body })
}

/** A verdict as a trigger result: the x-skew-guard header as the code, the body as the message. */
async function verdict(res) {
  return { code: res.headers.get('x-skew-guard'), message: res.status === 409 ? await res.text() : undefined }
}

/** Runs the CLI with captured output; the exit code is the code, stderr the message. */
function runCli(args) {
  const err = []
  const status = cli(args, { out: () => {}, err: (t) => err.push(t), env: {}, color: false })
  return { code: `exit ${status}`, message: err.join('\n') }
}

const quiet = async (fn) => {
  const saved = { error: console.error, warn: console.warn }
  console.error = console.warn = () => {}
  try {
    return await fn()
  } finally {
    Object.assign(console, saved)
  }
}

/** code → the ways to reach it. Each returns { code, message } as observed. */
const TRIGGERS = {
  ERR_INVALID_ARG_TYPE: [
    ...onEachBackend((core) => caught(() => core.parseKey(42))),
    ...onEachBackend((core) => caught(() => core.shouldForceRefresh('soon'))),
    { label: 'withSkewGuard', run: () => caught(() => withSkewGuard({}, 'options')) },
    { label: 'withSkewGuard config', run: () => caught(() => withSkewGuard(42)) },
    { label: 'skewGuard', run: () => caught(() => skewGuard('options')) },
    { label: 'onSkew', run: () => caught(() => onSkew(1)) },
    { label: 'SafeActionError', run: () => caught(() => new SafeActionError(1)) },
    { label: 'callSafeAction', run: () => caught(() => callSafeAction('save')) },
  ],
  ERR_INVALID_ARG_VALUE: [
    ...onEachBackend((core) => caught(() => core.generateKey(20))),
    ...onEachBackend((core) => caught(() => new core.Keyring({ current: KEY, maxPayloadBytes: 0 }))),
    ...onEachBackend((core) => caught(() => core.compareBuildIds('\ud800', 'b'))),
    ...onEachBackend((core) => caught(() => core.shouldForceRefresh({ clientLoadedAt: -1, rotatedAt: 0 }))),
    { label: 'withSkewGuard', run: () => caught(() => withSkewGuard({}, { nextMajor: 13 })) },
    { label: 'skewGuard', run: () => caught(() => skewGuard({ policy: 'sometimes' })) },
    { label: 'SafeActionError', run: () => caught(() => new SafeActionError('VERSION_SKEW')) },
  ],
  ERR_UNKNOWN_OPTION: [
    { label: 'withSkewGuard', run: () => caught(() => withSkewGuard({}, { requireKy: false })) },
    { label: 'skewGuard', run: () => caught(() => skewGuard({ polcy: 'reject' })) },
    { label: 'callSafeAction.with', run: () => caught(() => callSafeAction.with({ onskew() {} })) },
  ],
  ERR_KEY_EMPTY: onEachBackend((core) => caught(() => core.parseKey(' \n'))),
  ERR_KEY_QUOTED: onEachBackend((core) => caught(() => core.parseKey(`"${KEY}"`))),
  ERR_KEY_PLACEHOLDER: onEachBackend((core) => caught(() => core.parseKey('your-generated-key'))),
  ERR_KEY_BASE64URL: onEachBackend((core) => caught(() => core.parseKey('q83vEjRWeJq8nt8SNFZ4mrze8BI0VniavN7wEjRWeJo-'))),
  ERR_KEY_NOT_BASE64: onEachBackend((core) => caught(() => core.parseKey('\ufeffq83vEjRWeJq8nt8SNFZ4mrze8BI0VniavN7wEjRWeJo='))),
  ERR_KEY_HEX: onEachBackend((core) => caught(() => core.keyCheckValue('0f'.repeat(32)))),
  ERR_KEY_LENGTH: [
    ...onEachBackend((core) => caught(() => core.parseKey('AAECAwQFBgcICQoLDA0O'))),
    ...onEachBackend((core) =>
      caught(() => core.Keyring.fromEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_PREVIOUS_KEYS: 'AAAA' })),
    ),
  ],
  ERR_KEY_PUBLIC: [
    ...onEachBackend((core) => core.checkKey('BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=').errors[0]),
    {
      label: 'withSkewGuard at build',
      run: () =>
        withEnv(
          { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=', SKEW_GUARD_BUILD_ID: 'b1' },
          async () => {
            const config = await withSkewGuard({}, { nextMajor: 16 })('phase-production-build', { defaultConfig: {} })
            return caught(() => config.generateBuildId())
          },
        ),
    },
  ],
  ERR_KEY_WEAK: [
    ...onEachBackend((core) => core.checkKey(Buffer.alloc(32, 9).toString('base64')).errors[0]),
    ...onEachBackend((core) => core.checkKey(Buffer.from('correct horse battery staple!!!!').toString('base64')).errors[0]),
  ],
  WARN_KEY_WHITESPACE: onEachBackend((core) => core.checkKey(`${KEY}\n`).warnings[0]),
  WARN_KEY_UNPADDED: onEachBackend((core) => core.checkKey(KEY.replace(/=+$/, '')).warnings[0]),
  WARN_KEY_NONCANONICAL: onEachBackend((core) => core.checkKey('q83vEjRWeJq8nt8SNFZ4mrze8BI0VniavN7wEjRWeJp=').warnings[0]),
  WARN_KEY_HEX: onEachBackend((core) => core.checkKey('9f3a'.repeat(8)).warnings[0]),
  WARN_KEY_SHORT: onEachBackend((core) => core.checkKey(KEY_16).warnings[0]),
  ERR_KEYRING_EMPTY: [
    ...onEachBackend((core) => caught(() => new core.Keyring({ current: '' }))),
    ...onEachBackend((core) => caught(() => core.Keyring.fromEnv({}))),
  ],
  ERR_KEYRING_DUPLICATE: [
    ...onEachBackend((core) => caught(() => new core.Keyring({ current: KEY, previous: [KEY_16, KEY_16.replace(/=+$/, '')] }))),
    ...onEachBackend((core) =>
      caught(() => core.Keyring.fromEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_PREVIOUS_KEYS: `${KEY_16},${KEY_16}` })),
    ),
  ],
  ERR_KEYRING_TOO_LARGE: onEachBackend((core) => caught(() => new core.Keyring({ current: KEY, previous: Array(16).fill(KEY_16) }))),
  ERR_ACTION_ID: onEachBackend((core) => caught(() => new core.Keyring({ current: KEY }).verify('AAAA', ID.toUpperCase()))),
  ERR_PAYLOAD_TOO_LARGE: [
    ...onEachBackend((core) => caught(() => new core.Keyring({ current: KEY, maxPayloadBytes: 8 }).open('A'.repeat(9), ID))),
    ...onEachBackend((core) => caught(() => new core.Keyring({ current: KEY, maxPayloadBytes: 64 }).seal(ID, 'x'.repeat(64)))),
  ],
  ERR_PAYLOAD_NOT_BASE64: onEachBackend((core) => caught(() => new core.Keyring({ current: KEY }).open('AAAA-AAA', ID))),
  ERR_PAYLOAD_TOO_SHORT: onEachBackend((core) => caught(() => new core.Keyring({ current: KEY }).open('AAAA', ID))),
  ERR_PAYLOAD_UNKNOWN_KEY: onEachBackend(async (core) => {
    const payload = await new core.Keyring({ current: KEY_16 }).seal(ID, '0:[]\n')
    return caught(() => new core.Keyring({ current: KEY }).open(payload, ID))
  }),
  ERR_PAYLOAD_WRONG_ACTION: onEachBackend(async (core) => {
    const ring = new core.Keyring({ current: KEY })
    const payload = await ring.seal('ab'.repeat(21), '0:[]\n')
    return caught(() => ring.open(payload, ID))
  }),
  ERR_BUILD_ID_TOO_LONG: onEachBackend((core) => caught(() => core.compareBuildIds('a'.repeat(1025), 'a'))),
  ERR_SYNC_UNAVAILABLE: ['verifySync', 'openSync'].map((method) => ({
    label: `edge ${method}`,
    run: () => caught(() => new backends[2].core.Keyring({ current: KEY })[method]('AAAA', ID)),
  })),
  NEXT_SKEW_GUARD_NATIVE_UNAVAILABLE: [
    {
      label: 'a process whose native binary cannot load',
      run: () => {
        // Makes `next-skew-guard-native` unresolvable, as on a platform without a binary.
        const script = `
          const Module = require('node:module')
          const resolve = Module._resolveFilename
          Module._resolveFilename = function (request, ...rest) {
            if (request === 'next-skew-guard-native') throw Object.assign(new Error('Cannot find module'), { code: 'MODULE_NOT_FOUND' })
            return resolve.call(this, request, ...rest)
          }
          process.on('warning', (w) => process.stdout.write(JSON.stringify({ code: w.code, message: w.message, backend: require(${JSON.stringify(root)}).backend })))
          require(${JSON.stringify(root)})`
        const run = spawnSync(process.execPath, ['-e', script], {
          cwd: root,
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, NEXT_SKEW_GUARD_BACKEND: '' },
        })
        assert.equal(run.status, 0, run.stderr)
        const warning = JSON.parse(run.stdout)
        assert.equal(warning.backend, 'js')
        return warning
      },
    },
  ],
  ERR_KEY_MISSING: [
    {
      label: 'withSkewGuard at build',
      run: () =>
        withEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: undefined, SKEW_GUARD_BUILD_ID: 'b1' }, async () => {
          const config = await withSkewGuard({}, { nextMajor: 16 })('phase-production-build', { defaultConfig: {} })
          return caught(() => config.generateBuildId())
        }),
    },
  ],
  ERR_BUILD_ID: [
    {
      label: 'withSkewGuard at build',
      run: () =>
        withEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, SKEW_GUARD_BUILD_ID: 'not a build id!' }, () =>
          caught(() => withSkewGuard({}, { nextMajor: 16 })('phase-production-build', { defaultConfig: {} })),
        ),
    },
  ],
  ERR_LINKED_INSTALL: [
    {
      label: 'withSkewGuard at build, linked to a checkout',
      run: () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-catalogue-link-'))
        try {
          fs.mkdirSync(path.join(root, 'checkout'))
          fs.mkdirSync(path.join(root, 'app', 'node_modules'), { recursive: true })
          fs.symlinkSync(path.join(root, 'checkout'), path.join(root, 'app', 'node_modules', 'next-skew-guard'), 'dir')
          return caught(() => require('../dist/config/index.js').assertNotLinkedCheckout(path.join(root, 'app')))
        } finally {
          fs.rmSync(root, { recursive: true, force: true })
        }
      },
    },
  ],
  ERR_KEY_MISMATCH: [
    {
      label: 'register() with another build key',
      run: () =>
        setupProblem(
          registerIn({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, __SKEW_GUARD_DIST_DIR: buildDir({ key: native.generateKey() }) }),
          'ERR_KEY_MISMATCH',
        ),
    },
  ],
  ERR_MANIFEST: [
    {
      label: 'register() without a manifest',
      run: () =>
        setupProblem(
          registerIn({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: KEY, __SKEW_GUARD_DIST_DIR: buildDir({ manifest: false }) }),
          'ERR_MANIFEST',
        ),
    },
  ],
  ERR_GUARD: [
    {
      label: 'a keyring whose verify throws',
      run: async () => {
        resetSkewState()
        const lines = []
        const saved = console.error
        console.error = (...a) => lines.push(a.join(' '))
        try {
          const broken = {
            verify: async () => {
              throw new Error('broken keyring')
            },
          }
          const res = await guardOver(broken)(await actionCall(INLINE_ACTION), undefined)
          assert.equal(res.headers.get('x-middleware-next'), '1', 'the request is let through')
        } finally {
          console.error = saved
        }
        return setupProblem({ configErrors: getSkewStats().configErrors, lines }, 'ERR_GUARD')
      },
    },
  ],
  VERSION_SKEW: [
    { label: 'callSafeAction, empty result', run: async () => ({ code: (await callSafeAction(async () => undefined)).error }) },
  ],
  REDIRECTED: [
    {
      label: 'callSafeAction, redirecting response',
      run: async () => ({ code: (await callSafeAction(async () => (noteActionResponse('redirect', 303), undefined))).error }),
    },
  ],
  TRANSPORT_ERROR: [
    {
      label: 'callSafeAction, a gateway answered',
      run: async () => ({
        code: (
          await callSafeAction(async () => {
            throw new Error('An unexpected response was received from the server.')
          })
        ).error,
      }),
    },
  ],
  SERVER_ERROR: [
    {
      label: 'callSafeAction, unmarked digest error',
      run: async () => ({
        code: (
          await callSafeAction(async () => {
            throw Object.assign(new Error('Minified React error #441'), { digest: '1' })
          })
        ).error,
      }),
    },
  ],
  NETWORK_ERROR: [
    {
      label: 'callSafeAction, failed fetch',
      run: async () => ({
        code: (
          await callSafeAction(async () => {
            throw new TypeError('fetch failed')
          })
        ).error,
      }),
    },
  ],
  UNKNOWN_ERROR: [
    {
      label: 'callSafeAction, other rejection',
      run: async () => ({
        code: (
          await callSafeAction(async () => {
            throw new Error('boom')
          })
        ).error,
      }),
    },
  ],
  ACTION_ERROR: [
    {
      label: 'createSafeAction, throwing function',
      run: () =>
        quiet(async () => ({
          code: (
            await createSafeAction(async () => {
              throw new Error('db down')
            })()
          ).error,
        })),
    },
  ],
  'unknown-action': [
    { label: 'guard', run: () => quiet(async () => verdict(await guardOver(false)(await actionCall('40' + 'c'.repeat(40)), undefined))) },
  ],
  'stale-build': [
    {
      label: 'guard',
      run: () =>
        quiet(async () =>
          verdict(await guardOver(false, { policy: 'reject' })(await actionCall(INLINE_ACTION, { build: 'build-1' }), undefined)),
        ),
    },
  ],
  'key-rotated': [
    {
      label: 'guard',
      run: () =>
        quiet(async () => {
          const ring = new native.Keyring({ current: KEY, previous: [KEY_16] })
          const payload = new native.Keyring({ current: KEY_16 }).sealSync(INLINE_ACTION, '0:[]\n')
          return verdict(await guardOver(ring)(await actionCall(INLINE_ACTION, { payload }), undefined))
        }),
    },
  ],
  'unknown-key': [
    {
      label: 'guard',
      run: () =>
        quiet(async () => {
          const payload = new native.Keyring({ current: KEY_16 }).sealSync(INLINE_ACTION, '0:[]\n')
          return verdict(await guardOver(new native.Keyring({ current: KEY }))(await actionCall(INLINE_ACTION, { payload }), undefined))
        }),
    },
  ],
  reload: [
    {
      label: 'guard',
      run: () => quiet(async () => verdict(await guardOver(false)(await actionCall(INLINE_ACTION, { build: 'build-1' }), undefined))),
    },
  ],
  ERR_DEPLOYMENT_ID: [
    { label: 'validateDeploymentId', run: () => caught(() => require('../dist/deployments/index.js').validateDeploymentId('a b')) },
  ],
  ERR_DEPLOYMENT_UPSTREAM: [
    { label: 'parseUpstream', run: () => caught(() => require('../dist/deployments/index.js').parseUpstream('http://x:1')) },
  ],
  ERR_DEPLOYMENT_UNKNOWN: [
    {
      label: 'promoteDeployment of an unknown ID',
      run: () => {
        const d = require('../dist/deployments/index.js')
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-catalogue-deployments-'))
        try {
          const state = path.join(dir, 'deployments.json')
          d.addDeployment(state, { id: 'dpl_v1', upstream: '127.0.0.1:3001' })
          return caught(() => d.promoteDeployment(state, 'dpl_v9'))
        } finally {
          fs.rmSync(dir, { recursive: true, force: true })
        }
      },
    },
  ],
  ERR_DEPLOYMENT_EXISTS: [
    {
      label: 'addDeployment twice',
      run: () => {
        const d = require('../dist/deployments/index.js')
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-catalogue-deployments-'))
        try {
          const state = path.join(dir, 'deployments.json')
          d.addDeployment(state, { id: 'dpl_v1', upstream: '127.0.0.1:3001' })
          return caught(() => d.addDeployment(state, { id: 'dpl_v1', upstream: '127.0.0.1:3001' }))
        } finally {
          fs.rmSync(dir, { recursive: true, force: true })
        }
      },
    },
  ],
  ERR_DEPLOYMENT_CURRENT: [
    {
      label: 'planRouting before promote',
      run: () => caught(() => require('../dist/deployments/index.js').planRouting(require('../dist/deployments/index.js').emptyState())),
    },
  ],
  ERR_DEPLOYMENT_DOWN: [
    {
      label: 'deployments add --require-listening',
      run: () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-catalogue-deployments-'))
        try {
          const { message } = runCli([
            'deployments',
            'add',
            'x',
            '--upstream',
            '127.0.0.1:1',
            '--require-listening',
            '--state',
            path.join(dir, 'deployments.json'),
          ])
          const m = /✗ (ERR_\w+): (.*)/.exec(message)
          assert.ok(m, `no error line: ${message}`)
          assert.ok(!fs.existsSync(path.join(dir, 'deployments.json')), 'nothing is registered')
          return { code: m[1], message: m[2] }
        } finally {
          fs.rmSync(dir, { recursive: true, force: true })
        }
      },
    },
  ],
  ERR_DEPLOYMENTS_LIMIT: [
    {
      label: 'renderKubernetes of 16 retained deployments',
      run: () => {
        const d = require('../dist/deployments/index.js')
        const at = (n) => new Date(Date.UTC(2026, 0, 1, n)).toISOString()
        const deployments = Array.from({ length: 17 }, (_, i) => ({
          id: `v${i}`,
          upstream: `shop-v${i}:3000`,
          addedAt: at(i),
          promotedAt: at(i),
          supersededAt: i < 16 ? at(i + 1) : null,
          build: null,
          actions: [],
        }))
        const plan = d.planRouting(d.parseState(JSON.stringify({ format: 'next-skew-guard/deployments@1', current: 'v16', deployments })))
        return caught(() => d.renderKubernetes(plan, { app: 'shop', image: 'shop:{id}', gateway: 'public' }))
      },
    },
  ],
  ERR_FORWARD_REGISTRY: [
    { label: 'createForwarder without a registry', run: () => caught(() => require('../dist/proxy/forward.js').createForwarder({}, {})) },
  ],
  ERR_DEPLOYMENTS_STATE: [
    { label: 'parseState of an empty file', run: () => caught(() => require('../dist/deployments/index.js').parseState('')) },
  ],
  ERR_DEPLOYMENTS_LOCKED: [
    {
      label: 'withLock on a held lock',
      run: () => {
        const d = require('../dist/deployments/index.js')
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-catalogue-deployments-'))
        try {
          const lock = path.join(dir, 'deployments.json.lock')
          // Held by this (live) process: never stale, so the 50 ms wait runs out.
          fs.writeFileSync(
            lock,
            JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString(), token: 'x', purpose: 'a test' }),
          )
          return caught(() => d.withLock(lock, () => 1, { timeoutMs: 50 }))
        } finally {
          fs.rmSync(dir, { recursive: true, force: true })
        }
      },
    },
  ],
  ERR_PROXY_CHECK: [
    { label: 'validateTraefikConfig', run: () => caught(() => require('../dist/deployments/index.js').validateTraefikConfig({})) },
  ],
  ERR_PROXY_RELOAD: [
    {
      label: 'reloadProxy with a failing command',
      run: () => {
        const d = require('../dist/deployments/index.js')
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-catalogue-deployments-'))
        try {
          const out = path.join(dir, 'next-skew-guard.conf')
          fs.writeFileSync(out, '')
          return caught(() => d.reloadProxy({ proxy: 'nginx', out, reloadCommand: 'exit 3' }))
        } finally {
          fs.rmSync(dir, { recursive: true, force: true })
        }
      },
    },
  ],
  ERR_PROXY_UNAVAILABLE: [
    {
      label: 'checkConfig without the proxy binary',
      run: () => {
        const d = require('../dist/deployments/index.js')
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-catalogue-deployments-'))
        try {
          const file = path.join(dir, 'next-skew-guard.conf')
          fs.writeFileSync(file, '')
          return caught(() => d.checkConfig('nginx', file, { bin: '/nonexistent/nginx' }))
        } finally {
          fs.rmSync(dir, { recursive: true, force: true })
        }
      },
    },
  ],
  'exit 0': [{ label: 'keygen', run: () => runCli(['keygen']) }],
  'exit 1': [{ label: 'check a hex key', run: () => runCli(['check', '--key', '0f'.repeat(32)]) }],
  'exit 2': [{ label: 'an unknown command', run: () => runCli(['deploy']) }],
}

// --- Tests -------------------------------------------------------------------

test('the catalogue lists every code the sources can produce, and nothing else', () => {
  const sources = codesInSources()
  const missing = [...sources].filter(([code]) => !catalogue.has(code)).map(([code, where]) => `${code} (${where})`)
  assert.deepEqual(missing, [], 'codes missing from docs/errors.md')
  const stale = [...catalogue.keys()].filter((code) => !sources.has(code))
  assert.deepEqual(stale, [], 'docs/errors.md lists codes the sources no longer have')
})

test('every catalogued code has a trigger here, or says why it cannot have one', () => {
  for (const [code, entry] of catalogue) {
    if (entry.untriggerable) assert.ok(!TRIGGERS[code], `${code} is marked not triggerable but has a trigger`)
    else assert.ok(TRIGGERS[code]?.length, `${code} has no trigger in errors-catalogue.test.cjs`)
  }
  for (const code of Object.keys(TRIGGERS)) assert.ok(catalogue.has(code), `a trigger for ${code}, which docs/errors.md does not list`)
})

for (const [code, entry] of catalogue) {
  if (entry.untriggerable) continue
  test(`${code}: reachable, with the catalogue's message`, async () => {
    for (const { label, run } of TRIGGERS[code] ?? []) {
      const observed = await run()
      assert.ok(observed, `${label}: nothing observed`)
      assert.equal(observed.code, code, `${label}: got ${observed.code} (${observed.message})`)
      if (entry.fragments.length > 0) {
        assert.equal(typeof observed.message, 'string', `${label}: no message`)
        assert.ok(
          entry.fragments.some((f) => observed.message.includes(f)),
          `${label}: the message does not contain ${entry.fragments.map((f) => JSON.stringify(f)).join(' or ')}: ${observed.message}`,
        )
        for (const secret of [KEY, KEY.replace(/=+$/, ''), KEY_16])
          assert.ok(!observed.message.includes(secret), `${label}: the message repeats a key`)
      }
    }
  })
}
