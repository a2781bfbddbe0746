// The child half of __test__/action-next.test.cjs: loads Next.js's own client reducer
// (serverActionReducer) and React's production Flight client with browser stand-ins, runs the
// scenarios it is given (NSG_SCENARIOS, each calling the action NSG_ACTION_ID) against the Next.js
// installed in NSG_NEXT_DIR, and prints what each one resolved or threw as JSON on stdout. A process
// of its own because the reducer needs browser globals and module aliases.
'use strict'

const path = require('node:path')
const fs = require('node:fs')
const Module = require('node:module')

const root = path.join(__dirname, '..', '..')
const ACTION_ID = process.env.NSG_ACTION_ID

runHarness().then(
  (out) => process.stdout.write(JSON.stringify(out)),
  (e) => {
    process.stderr.write(String(e?.stack || e))
    process.exit(1)
  },
)

async function runHarness() {
  process.env.NODE_ENV = 'production'
  delete process.env.NEXT_RUNTIME
  // stdout carries the JSON answer; whatever Next or React prints goes to stderr.
  for (const m of ['log', 'info', 'debug', 'warn']) console[m] = console.error
  const nextDir = process.env.NSG_NEXT_DIR
  const major = Number(require(path.join(nextDir, 'package.json')).version.split('.')[0])
  const compiled = (p) => path.join(nextDir, 'dist/compiled', p)
  const flightClient = (flavor) => {
    const f = compiled(`react-server-dom-webpack/cjs/react-server-dom-webpack-client.${flavor}.production.js`)
    return fs.existsSync(f) ? f : f.replace(/\.js$/, '.min.js')
  }
  // The aliases Next's bundler applies to client code (create-compiler-aliases):
  // the browser production Flight client, Next's own React copy.
  const aliases = {
    'react-server-dom-webpack/client': flightClient('browser'),
    'react-server-dom-webpack/client.edge': flightClient('edge'),
    react: compiled('react/index.js'),
    'react-dom': compiled('react-dom/index.js'),
    'react/jsx-runtime': compiled('react/jsx-runtime.js'),
    'react-dom/client': compiled('react-dom/client.js'),
  }
  const resolve = Module._resolveFilename
  Module._resolveFilename = function (request, ...rest) {
    return resolve.call(this, aliases[request] ?? request, ...rest)
  }
  // Browser stand-ins: only what the reducer's modules touch at load and call time.
  globalThis.__webpack_require__ = Object.assign(
    () => {
      throw new Error('no client modules in this harness')
    },
    { u: () => '' },
  )
  globalThis.__webpack_chunk_load__ = () => Promise.resolve()
  globalThis.window = globalThis
  globalThis.self = globalThis
  const events = new EventTarget()
  globalThis.addEventListener = events.addEventListener.bind(events)
  globalThis.removeEventListener = events.removeEventListener.bind(events)
  globalThis.document = {
    documentElement: { dataset: {}, removeAttribute() {}, getAttribute: () => null },
    addEventListener() {},
    removeEventListener() {},
    visibilityState: 'visible',
    querySelector: () => null,
    getElementById: () => null,
  }
  if (!globalThis.navigator) globalThis.navigator = { userAgent: 'node' }
  globalThis.history = { state: null, pushState() {}, replaceState() {} }
  globalThis.location = new URL('http://localhost:3000/')

  const { serverActionReducer } = require(path.join(nextDir, 'dist/client/components/router-reducer/reducers/server-action-reducer.js'))
  const action = require(path.join(root, 'dist/action/index.js'))
  const tree =
    major === 16
      ? ['', { children: ['__PAGE__', {}, null, null, 0] }, null, null, 16]
      : ['', { children: ['__PAGE__', {}, null, null] }, null, null, true]

  const { installActionInterceptor } = require(path.join(root, 'dist/react/interceptor.js'))

  // What a Server Action reference does in the browser: dispatch to the
  // router's reducer and settle with whatever it resolves or rejects. With
  // `guard`, the client guard's fetch wrapper (what <SkewGuard /> installs)
  // watches the call, as on a page that renders <SkewGuard />.
  function nextAction(response, guard) {
    return (...args) => {
      globalThis.fetch = async () => new Response(response.body, { status: response.status, headers: response.headers })
      const off = guard ? installActionInterceptor({ buildId: guard.buildId ?? null }) : () => {}
      const state = {
        canonicalUrl: '/',
        tree,
        nextUrl: null,
        previousNextUrl: null,
        pushRef: { pendingPush: false, mpaNavigation: false, preserveCustomHistoryState: true },
        focusAndScrollRef: {},
        cache: {},
        prefetchCache: new Map(),
        buildId: 'page-build',
      }
      return new Promise((resolve, reject) => {
        const out = serverActionReducer(state, { type: 'server-action', actionId: ACTION_ID, actionArgs: args, resolve, reject })
        if (out && typeof out.catch === 'function') out.catch(reject)
      }).finally(off)
    }
  }

  const describeError = (e) => ({
    name: e?.name,
    message: e && typeof e.message === 'string' ? e.message : undefined,
    digest: e?.digest,
    isUnrecognized: e?.constructor && e.constructor.name === 'UnrecognizedActionError',
  })
  const scenarios = JSON.parse(process.env.NSG_SCENARIOS)
  const results = {}
  for (const s of scenarios) {
    const call = action.callSafeAction.with(s.clientBuildId ? { buildId: s.clientBuildId } : {})
    // The raw settlement, straight from Next (what an app without this package sees).
    let raw
    try {
      const value = await nextAction(s.response)('arg')
      raw = { resolved: true, value: value === undefined ? '<undefined>' : value }
    } catch (e) {
      raw = { resolved: false, error: describeError(e) }
    }
    const settle = async (guard) => {
      try {
        const r = await call(nextAction(s.response, guard), 'arg')
        const { cause, ...rest } = r
        return { threw: false, result: rest }
      } catch (e) {
        return { threw: true, error: describeError(e) }
      }
    }
    results[s.name] = { raw, outcome: await settle(null), guarded: await settle({ buildId: s.clientBuildId }) }
  }
  return { major, results }
}
