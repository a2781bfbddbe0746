// createSafeAction (server half of next-skew-guard/action): result shape,
// error hiding, SafeActionError, Next.js control-flow errors (made by Next's
// own redirect()/notFound()), build identity sources, option validation.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const os = require('node:os')
const fs = require('node:fs')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const entry = path.join(root, 'dist/action/index.js')
const action = require(entry)
const server = require(path.join(root, 'dist/action/server.js'))
const { createSafeAction, SafeActionError } = action

const next16 = path.join(root, 'node_modules/next/dist/client/components')
const vectorsDir = process.env.NSG_NEXT_VECTORS_DIR || path.join(os.tmpdir(), 'nsg-next-vectors')
const next14 = path.join(vectorsDir, 'next-14.2.35/node_modules/next/dist/client/components')

/** Runs `fn` with SKEW_GUARD_BUILD_ID set (or removed) and console.error captured. */
async function withEnv(buildId, fn) {
  const saved = process.env.SKEW_GUARD_BUILD_ID
  const savedError = console.error
  const logged = []
  console.error = (...args) => logged.push(args)
  if (buildId === undefined) delete process.env.SKEW_GUARD_BUILD_ID
  else process.env.SKEW_GUARD_BUILD_ID = buildId
  try {
    return await fn(logged)
  } finally {
    if (saved === undefined) delete process.env.SKEW_GUARD_BUILD_ID
    else process.env.SKEW_GUARD_BUILD_ID = saved
    console.error = savedError
  }
}

test('success: { success: true, data, buildId }, arguments passed through', async () => {
  await withEnv('build-1', async () => {
    const add = createSafeAction(async (a, b) => a + b)
    assert.deepEqual(await add(2, 3), { success: true, data: 5, buildId: 'build-1' })
    const sync = createSafeAction((x) => ({ x }))
    assert.deepEqual(await sync('y'), { success: true, data: { x: 'y' }, buildId: 'build-1' })
    const nothing = createSafeAction(async () => undefined)
    const r = await nothing()
    assert.equal(r.success, true)
    assert.ok('data' in r)
    assert.equal(r.data, undefined)
    // A function a 'use server' module may export: async, never undefined.
    assert.equal(add.constructor.name, 'AsyncFunction')
  })
})

test('a thrown error becomes ACTION_ERROR without its message, and is logged on the server', async () => {
  await withEnv('build-1', async (logged) => {
    const secret = new Error('connect ECONNREFUSED postgres://admin:hunter2@db')
    const r = await createSafeAction(async () => {
      throw secret
    })()
    assert.deepEqual(r, { success: false, error: 'ACTION_ERROR', buildId: 'build-1' })
    assert.doesNotMatch(JSON.stringify(r), /hunter2/)
    assert.equal(logged.length, 1)
    assert.equal(logged[0][1], secret)
    // Non-Error throws too.
    const s = await createSafeAction(async () => {
      throw 'raw string with secret'
    })()
    assert.deepEqual(s, { success: false, error: 'ACTION_ERROR', buildId: 'build-1' })
  })
})

test('exposeErrors: true sends the message', async () => {
  await withEnv(undefined, async () => {
    const r = await createSafeAction(
      async () => {
        throw new Error('visible on purpose')
      },
      { exposeErrors: true, buildId: 'opt-build' },
    )()
    assert.deepEqual(r, { success: false, error: 'ACTION_ERROR', message: 'visible on purpose', buildId: 'opt-build' })
    const off = await createSafeAction(
      async () => {
        throw new Error('hidden')
      },
      { exposeErrors: false, buildId: 'opt-build' },
    )()
    assert.equal('message' in off, false)
  })
})

test('SafeActionError: its code and user-facing message reach the client, not logged by default', async () => {
  await withEnv('build-1', async (logged) => {
    const r = await createSafeAction(async () => {
      throw new SafeActionError('NAME_TAKEN', 'That name is taken.')
    })()
    assert.deepEqual(r, { success: false, error: 'NAME_TAKEN', message: 'That name is taken.', buildId: 'build-1' })
    assert.equal(logged.length, 0)
    const e = new SafeActionError('ONLY_CODE')
    assert.equal(e.message, 'ONLY_CODE')
    assert.equal(e.name, 'SafeActionError')
    assert.ok(e instanceof Error)
    assert.equal(new SafeActionError('X', 'y', { cause: 1 }).cause, 1)
  })
})

test('SafeActionError rejects bad and reserved codes', () => {
  assert.throws(() => new SafeActionError(''), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => new SafeActionError(42), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => new SafeActionError('X', 7), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  for (const code of ['VERSION_SKEW', 'NETWORK_ERROR', 'UNKNOWN_ERROR', 'REDIRECTED', 'ACTION_ERROR']) {
    assert.throws(() => new SafeActionError(code), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_VALUE' }, code)
  }
})

test("redirect() and notFound() (Next.js 16's own functions) are rethrown unchanged", async () => {
  const { redirect, permanentRedirect } = require(path.join(next16, 'redirect.js'))
  const { notFound } = require(path.join(next16, 'not-found.js'))
  // What `experimental.authInterrupts: true` sets in an app's build.
  process.env.__NEXT_EXPERIMENTAL_AUTH_INTERRUPTS = 'true'
  const { forbidden } = require(path.join(next16, 'forbidden.js'))
  const { unauthorized } = require(path.join(next16, 'unauthorized.js'))
  const onError = []
  for (const [name, thrower, digest] of [
    ['redirect', () => redirect('/done'), /^NEXT_REDIRECT;/],
    ['permanentRedirect', () => permanentRedirect('/moved'), /^NEXT_REDIRECT;.*;308;$/],
    ['notFound', () => notFound(), /^NEXT_HTTP_ERROR_FALLBACK;404$/],
    ['forbidden', () => forbidden(), /^NEXT_HTTP_ERROR_FALLBACK;403$/],
    ['unauthorized', () => unauthorized(), /^NEXT_HTTP_ERROR_FALLBACK;401$/],
  ]) {
    let thrown
    const wrapped = createSafeAction(
      async () => {
        try {
          thrower()
        } catch (e) {
          thrown = e
          throw e
        }
      },
      { onError: (e) => onError.push(e), buildId: 'b' },
    )
    await assert.rejects(wrapped(), (e) => {
      assert.equal(e, thrown, `${name}: not the same error object`)
      assert.match(e.digest, digest)
      return true
    })
  }
  assert.equal(onError.length, 0, 'control-flow errors are not errors')
})

test('a redirect wrapped in another error (cause chain) is rethrown, as unstable_rethrow does', async () => {
  const { redirect } = require(path.join(next16, 'redirect.js'))
  let inner
  try {
    redirect('/x')
  } catch (e) {
    inner = e
  }
  const wrapped = createSafeAction(async () => {
    throw new Error('wrapped', { cause: inner })
  })
  await assert.rejects(wrapped(), (e) => e === inner)
})

test('other control-flow digests pass: DYNAMIC_SERVER_USAGE, NEXT_NOT_FOUND (14), postpone', async () => {
  const { DynamicServerError } = require(path.join(next16, 'hooks-server-context.js'))
  const dynamic = new DynamicServerError('cookies')
  await assert.rejects(
    createSafeAction(async () => {
      throw dynamic
    })(),
    (e) => e === dynamic,
  )
  const postpone = { $$typeof: Symbol.for('react.postpone'), message: 'p' }
  await assert.rejects(
    createSafeAction(async () => {
      throw postpone
    })(),
    (e) => e === postpone,
  )
  const redirectDigest = Object.assign(new Error('NEXT_REDIRECT'), { digest: 'NEXT_REDIRECT;replace;/a;307;' })
  await assert.rejects(
    createSafeAction(async () => {
      throw redirectDigest
    })(),
    (e) => e === redirectDigest,
  )
  // A digest that is not Next's own is an ordinary error.
  await withEnv('b', async () => {
    const r = await createSafeAction(async () => {
      throw Object.assign(new Error('x'), { digest: 'MY_DIGEST' })
    })()
    assert.equal(r.error, 'ACTION_ERROR')
  })
})

test("Next.js 14's own notFound() and redirect() are rethrown", {
  skip: fs.existsSync(next14) ? false : 'next 14.2.35 not installed (npm run vectors)',
}, async () => {
  const { notFound } = require(path.join(next14, 'not-found.js'))
  const { redirect } = require(path.join(next14, 'redirect.js'))
  for (const thrower of [() => notFound(), () => redirect('/x')]) {
    let thrown
    const wrapped = createSafeAction(async () => {
      try {
        thrower()
      } catch (e) {
        thrown = e
        throw e
      }
    })
    await assert.rejects(wrapped(), (e) => e === thrown && /^NEXT_(NOT_FOUND|REDIRECT)/.test(e.digest))
  }
})

test('onError receives every caught error; its throw or rejection changes nothing', async () => {
  await withEnv('b', async (logged) => {
    const seen = []
    const expected = new SafeActionError('E', 'e')
    await createSafeAction(
      async () => {
        throw expected
      },
      { onError: (e) => seen.push(e) },
    )()
    const unexpected = new Error('u')
    await createSafeAction(
      async () => {
        throw unexpected
      },
      { onError: (e) => seen.push(e) },
    )()
    assert.deepEqual(seen, [expected, unexpected])
    assert.equal(logged.length, 0, 'no default logging when onError is given')

    const r1 = await createSafeAction(
      async () => {
        throw new Error('x')
      },
      {
        onError: () => {
          throw new Error('logger down')
        },
      },
    )()
    assert.equal(r1.error, 'ACTION_ERROR')
    const r2 = await createSafeAction(
      async () => {
        throw new Error('x')
      },
      {
        onError: async () => {
          throw new Error('async logger down')
        },
      },
    )()
    assert.equal(r2.error, 'ACTION_ERROR')
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(logged.length, 2)
    assert.match(String(logged[0][0]), /onError threw/)
    assert.match(String(logged[1][0]), /onError rejected/)
  })
})

test('buildId: option, then SKEW_GUARD_BUILD_ID, read per call', async () => {
  await withEnv('env-1', async () => {
    const a = createSafeAction(async () => 1)
    assert.equal((await a()).buildId, 'env-1')
    process.env.SKEW_GUARD_BUILD_ID = 'env-2'
    assert.equal((await a()).buildId, 'env-2')
    assert.equal((await createSafeAction(async () => 1, { buildId: 'explicit' })()).buildId, 'explicit')
  })
})

/** Runs a script in a fresh process (the BUILD_ID file is read once per process). */
function child(script, { cwd, env = {} }) {
  const clean = { ...process.env }
  delete clean.SKEW_GUARD_BUILD_ID
  delete clean.__SKEW_GUARD_DIST_DIR
  const r = spawnSync(process.execPath, ['-e', script], { cwd, encoding: 'utf8', env: { ...clean, ...env } })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout.trim()
}

test('buildId: <cwd>/.next/BUILD_ID, or <cwd>/$__SKEW_GUARD_DIST_DIR/BUILD_ID, read once; else SKEW_GUARD_BUILD_ID; else null', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-action-'))
  try {
    const script = `
      const fs = require('fs')
      const { createSafeAction } = require(${JSON.stringify(entry)})
      const a = createSafeAction(async () => 1)
      a().then(async (r1) => {
        // Changing the file after the first read changes nothing: read once.
        try { fs.writeFileSync(process.env.NSG_REWRITE, 'changed') } catch {}
        const r2 = await a()
        console.log(JSON.stringify([r1.buildId, r2.buildId]))
      })`
    // No build output: unknown.
    assert.equal(child(script, { cwd: dir }), '[null,null]')
    fs.mkdirSync(path.join(dir, '.next'))
    fs.writeFileSync(path.join(dir, '.next', 'BUILD_ID'), 'abcDEF123_-\n')
    assert.equal(child(script, { cwd: dir, env: { NSG_REWRITE: path.join(dir, '.next', 'BUILD_ID') } }), '["abcDEF123_-","abcDEF123_-"]')
    fs.writeFileSync(path.join(dir, '.next', 'BUILD_ID'), 'abcDEF123_-')
    // Custom distDir, relative and absolute.
    fs.mkdirSync(path.join(dir, 'build'))
    fs.writeFileSync(path.join(dir, 'build', 'BUILD_ID'), 'from-custom-dist')
    assert.equal(child(script, { cwd: dir, env: { __SKEW_GUARD_DIST_DIR: 'build' } }), '["from-custom-dist","from-custom-dist"]')
    assert.equal(
      child(script, { cwd: os.tmpdir(), env: { __SKEW_GUARD_DIST_DIR: path.join(dir, 'build') } }),
      '["from-custom-dist","from-custom-dist"]',
    )
    // The build on disk wins over a leftover runtime SKEW_GUARD_BUILD_ID (which would call every
    // action of this build stale); the env var counts only where there is no build output.
    assert.equal(child(script, { cwd: dir, env: { SKEW_GUARD_BUILD_ID: 'from-env' } }), '["abcDEF123_-","abcDEF123_-"]')
    assert.equal(
      child(script, { cwd: os.tmpdir(), env: { SKEW_GUARD_BUILD_ID: 'from-env', __SKEW_GUARD_DIST_DIR: path.join(dir, 'none') } }),
      '["from-env","from-env"]',
    )
    // An oversized file is not a build ID.
    fs.writeFileSync(path.join(dir, '.next', 'BUILD_ID'), 'x'.repeat(2000))
    assert.equal(child(script, { cwd: dir }), '[null,null]')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('the server helper loads and runs where fs is absent (Edge-like: no getBuiltinModule, no module.require)', () => {
  const vm = require('node:vm')
  const code = fs.readFileSync(path.join(root, 'dist/action/server.js'), 'utf8')
  const errors = { exports: {} }
  vm.runInThisContext(`(function (exports, require, module) { ${fs.readFileSync(path.join(root, 'dist/action/errors.js'), 'utf8')} \n})`)(
    errors.exports,
    (id) => require(id === '../shared/options' ? '../dist/shared/options.js' : id),
    errors,
  )
  const mod = { exports: {} }
  // A sandbox whose process has no getBuiltinModule and whose module has no require.
  const sandbox = vm.createContext({
    process: { env: { __SKEW_GUARD_DIST_DIR: '.' }, cwd: () => root },
    console,
    Promise,
    Object,
    Symbol,
    Error,
    TypeError,
  })
  const fn = vm.runInContext(`(function (exports, require, module) { ${code} \n})`, sandbox)
  fn(
    mod.exports,
    (id) => {
      if (id === './errors') return errors.exports
      if (id === '../shared/options') return require('../dist/shared/options.js')
      throw new Error(`unexpected require(${id})`)
    },
    { exports: mod.exports },
  )
  return mod.exports
    .createSafeAction(async () => 'ok')()
    .then((r) => {
      assert.deepEqual({ ...r }, { success: true, data: 'ok', buildId: null })
    })
})

test('options are validated: unknown keys name the valid ones, wrong types are TypeErrors', () => {
  const fn = async () => 1
  assert.throws(
    () => createSafeAction(fn, { exposeError: true }),
    (e) => {
      assert.ok(e instanceof TypeError)
      assert.equal(e.code, 'ERR_UNKNOWN_OPTION')
      assert.match(e.message, /"exposeError"/)
      assert.match(e.message, /buildId, exposeErrors, onError/)
      return true
    },
  )
  assert.throws(() => createSafeAction(fn, { exposeErrors: 'yes' }), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => createSafeAction(fn, { buildId: 42 }), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => createSafeAction(fn, { buildId: '' }), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => createSafeAction(fn, { onError: 'log' }), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => createSafeAction(fn, null), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => createSafeAction(fn, []), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => createSafeAction('not a function'), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => createSafeAction(), { name: 'SkewGuardOptionError', code: 'ERR_INVALID_ARG_TYPE' })
  // Undefined values count as absent.
  assert.equal(typeof createSafeAction(fn, { buildId: undefined, onError: undefined }), 'function')
})

test('options are copied at creation: later mutation does not expose errors', async () => {
  const options = { exposeErrors: false, buildId: 'b' }
  const a = createSafeAction(async () => {
    throw new Error('secret')
  }, options)
  options.exposeErrors = true
  await withEnv(undefined, async () => {
    assert.equal('message' in (await a()), false)
  })
})

test('resolveServerBuildId is the identity createSafeAction reports', async () => {
  await withEnv('same-id', async () => {
    assert.equal(action.resolveServerBuildId(), 'same-id')
    assert.equal(action.resolveServerBuildId('explicit'), 'explicit')
    assert.equal(server.ACTION_ERROR, 'ACTION_ERROR')
  })
})
