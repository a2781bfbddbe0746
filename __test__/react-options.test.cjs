// Client guard as a package entry: validation of props and options, SSR
// safety (import and render without a DOM), the 'use client' directive, and
// no dependency on the native core.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const React = require('react')
const { renderToString } = require('react-dom/server')
const guard = require('../dist/react/index.js')
const { SkewGuard, SkewGuardOptionError, installActionInterceptor, subscribeToSkew } = guard

const root = path.join(__dirname, '..')
const dist = path.join(root, 'dist', 'react')
const render = (props, ...children) => renderToString(React.createElement(SkewGuard, props, ...children))

function throwsCode(fn, code, pattern) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof TypeError, 'a TypeError')
    assert.ok(e instanceof SkewGuardOptionError)
    assert.equal(e.code, code)
    if (pattern) assert.match(e.message, pattern)
    return true
  })
}

test('<SkewGuard> renders nothing by default and its children as they are, on the server', () => {
  assert.equal(render(null), '')
  assert.equal(render({}, React.createElement('p', null, 'app')), '<p>app</p>')
  // A fallback banner appears only once skew has been seen: never during SSR.
  assert.equal(render({ fallback: React.createElement('div', null, 'new version') }), '')
  const seen = []
  const html = render({
    buildId: 'b1',
    children: (state) => {
      seen.push(state)
      return React.createElement('span', null, state.version.status)
    },
  })
  assert.equal(html, '<span>unknown</span>')
  assert.equal(seen[0].skew, null)
  assert.deepEqual(seen[0].version, { status: 'unknown', serverBuildId: null, clientBuildId: 'b1', lastChecked: null })
  assert.equal(typeof seen[0].reload, 'function')
})

test('<SkewGuard> props: an unknown key or bad value never takes the layout down; it is reported once and its default used', () => {
  const logged = []
  const error = console.error
  console.error = (...args) => logged.push(args.join(' '))
  try {
    const cases = [
      [{ reload: 'soon' }, /"reload" must be one of 'safe', 'eager', 'manual'; received "soon"/],
      [{ reload: true }, /"reload" must be one of 'safe', 'eager', 'manual'/],
      [
        { pollInterval: 5000 },
        /no option "pollInterval".*buildId, healthPath, pollIntervalMs, reload, onSkew, cooldownMs, children, fallback/,
      ],
      // `pollIntervalMs={Number(process.env.NEXT_PUBLIC_POLL)}` with the variable unset.
      [{ pollIntervalMs: Number(undefined) }, /"pollIntervalMs" must be a finite number of milliseconds, at least 1000; received NaN/],
      [{ pollIntervalMs: 10 }, /at least 1000/],
      [{ pollIntervalMs: '60000' }, /"pollIntervalMs" must be a number/],
      [{ cooldownMs: -1 }, /"cooldownMs"/],
      [{ cooldownMs: Infinity }, /"cooldownMs"/],
      [{ onSkew: 'reload' }, /function/],
      [{ healthPath: 'api/health' }, /"healthPath" must start with '\/'/],
      [{ healthPath: true }, /false to disable/],
      [{ buildId: 42 }, /"buildId" must be a string/],
    ]
    for (const [props, message] of cases) {
      const before = logged.length
      assert.equal(render(props, React.createElement('p', null, 'app')), '<p>app</p>', JSON.stringify(props))
      assert.equal(logged.length, before + 1, `reported: ${JSON.stringify(props)}`)
      assert.match(logged.at(-1), message)
      assert.match(logged.at(-1), /^\[next-skew-guard\] <SkewGuard>.*Using the default instead\.$/)
      // Once: a layout re-renders on every navigation.
      render(props)
      assert.equal(logged.length, before + 1, 'reported once')
    }
    // Valid edge values render, silently.
    const before = logged.length
    assert.equal(render({ healthPath: false, cooldownMs: 0, reload: 'manual', buildId: null, pollIntervalMs: 1000 }), '')
    assert.equal(render({ healthPath: 'https://status.example/health', buildId: '' }), '')
    assert.equal(logged.length, before)
  } finally {
    console.error = error
  }
})

test('useVersionCheck options are validated the same way', () => {
  function Probe(props) {
    guard.useVersionCheck(props.options)
    return null
  }
  const run = (options) => renderToString(React.createElement(Probe, { options }))
  assert.equal(run(undefined), '')
  assert.equal(run({ intervalMs: 5_000, maxBackoffMs: 60_000, healthPath: false }), '')
  throwsCode(() => run({ interval: 5 }), 'ERR_UNKNOWN_OPTION', /buildId, healthPath, intervalMs, maxBackoffMs/)
  throwsCode(() => run({ intervalMs: 0 }), 'ERR_INVALID_ARG_VALUE')
  throwsCode(() => run('fast'), 'ERR_INVALID_ARG_TYPE')
})

test('installActionInterceptor and subscribeToSkew validate their arguments', () => {
  throwsCode(() => installActionInterceptor({ build: 'x' }), 'ERR_UNKNOWN_OPTION', /buildId, now/)
  throwsCode(() => installActionInterceptor({ now: 5 }), 'ERR_INVALID_ARG_TYPE')
  throwsCode(() => installActionInterceptor([]), 'ERR_INVALID_ARG_TYPE')
  throwsCode(() => subscribeToSkew(null), 'ERR_INVALID_ARG_TYPE')
})

test('useSkewState renders null on the server', () => {
  let value = 'unset'
  function Probe() {
    value = guard.useSkewState()
    return null
  }
  renderToString(React.createElement(Probe))
  assert.equal(value, null)
})

test('importing and rendering in a bare Node process (SSR) touches no browser API', () => {
  const script = `
    for (const name of ['window', 'document', 'sessionStorage', 'location']) {
      Object.defineProperty(globalThis, name, { get() { throw new Error('touched ' + name) }, configurable: true })
    }
    const React = require('react')
    const { renderToString } = require('react-dom/server')
    const m = require('./dist/react/index.js')
    process.stdout.write(JSON.stringify([renderToString(React.createElement(m.SkewGuard)), m.getLastSkew(), typeof m.SkewGuard]))`
  const r = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, '["",null,"function"]')
})

test("the entry and the hook module start with 'use client'; nothing imports the core or non-React packages", () => {
  for (const file of ['index', 'guard']) {
    const src = fs.readFileSync(path.join(root, 'lib', 'react', `${file}.ts`), 'utf8')
    assert.match(src, /^'use client'\n/, `lib/react/${file}.ts`)
    const js = fs.readFileSync(path.join(dist, `${file}.js`), 'utf8')
    // tsc puts "use strict" first; both are directives of the prologue.
    assert.match(js, /^"use strict";\s*'use client';/, `dist/react/${file}.js`)
  }
  const requires = new Set()
  for (const file of fs.readdirSync(dist).filter((f) => f.endsWith('.js'))) {
    const js = fs.readFileSync(path.join(dist, file), 'utf8')
    for (const m of js.matchAll(/require\("([^"]+)"\)/g)) requires.add(m[1])
  }
  const external = [...requires].filter((r) => !r.startsWith('./') && r !== '../shared/protocol' && r !== '../shared/options')
  assert.deepEqual(external.sort(), ['react'])
  assert.equal(
    [...requires].some((r) => r.includes('core')),
    false,
  )
  // No `export *` in the client boundary (Next.js refuses it).
  assert.doesNotMatch(fs.readFileSync(path.join(root, 'lib', 'react', 'index.ts'), 'utf8'), /^export \*/m)
})

test('every export is documented in the published declarations', () => {
  const dts = fs.readFileSync(path.join(dist, 'index.d.ts'), 'utf8')
  const names = Object.keys(guard)
  assert.deepEqual(names.sort(), [
    'DEFAULT_COOLDOWN_MS',
    'SkewGuard',
    'SkewGuardBanner',
    'SkewGuardOptionError',
    'bannerText',
    'classifyActionResponse',
    'getClientBuildId',
    'getLastSkew',
    'getPageLoadedAt',
    'installActionInterceptor',
    'reportSkew',
    'shouldReloadForRotation',
    'subscribeToSkew',
    'useSkewState',
    'useVersionCheck',
  ])
  assert.match(dts, /SkewGuard/)
  // Each exported value's declaration carries a doc comment.
  for (const file of fs.readdirSync(dist).filter((f) => f.endsWith('.d.ts') && f !== 'index.d.ts')) {
    const text = fs.readFileSync(path.join(dist, file), 'utf8')
    for (const m of text.matchAll(/^export (?:declare )?(?:function|class|const|interface|type) (\w+)/gm)) {
      if (!names.includes(m[1]) && !/^(Skew|Reload|Version|Action|Rotation|Response|OptionErrorCode)/.test(m[1])) continue
      const before = text.slice(0, m.index).trimEnd()
      assert.ok(before.endsWith('*/'), `${file}: ${m[1]} has no doc comment`)
    }
  }
})

test('the default banner: an accessible notice with a Reload button, its sentence fitted to what happened', () => {
  const { SkewGuardBanner, bannerText } = guard
  const event = (over = {}) => ({
    type: 'VERSION_SKEW',
    kind: 'build-mismatch',
    source: 'version-check',
    actionId: null,
    clientBuildId: 'a',
    serverBuildId: 'b',
    actionRan: false,
    at: 1,
    ...over,
  })
  const html = renderToString(React.createElement(SkewGuardBanner, { skew: event(), reload() {} }))
  assert.match(html, /^<div role="status" aria-live="polite" class="next-skew-guard-banner" data-next-skew-guard="build-mismatch"/)
  assert.match(html, /A new version of this app is available\./)
  assert.match(html, /<button type="button"[^>]*>Reload<\/button>/)
  assert.match(html, /<button type="button" aria-label="Dismiss"/)
  assert.equal(
    bannerText(event({ kind: 'unknown-action', source: 'action', suppressed: true })),
    'This page is out of date, so your last action did not go through. Reload and try again.',
  )
  assert.equal(
    bannerText(event({ kind: 'missing-chunk', source: 'chunk' })),
    'Part of this page could not load because the app was updated.',
  )
  assert.equal(bannerText(event({ kind: 'build-mismatch', source: 'action', actionRan: true })), 'A new version of this app is available.')
})
