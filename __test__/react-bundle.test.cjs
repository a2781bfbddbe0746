// The client guard as bundlers receive it (issue 16: what <SkewGuard /> adds to a page's first-load
// JavaScript). The client entries ship twice: CommonJS for Node.js (dist/react, dist/action) and ES
// modules for bundlers (dist/esm, the `module` condition), which they can tree-shake and split.
// What holds here: the ES build is the current source's, it is ES syntax, package.json points
// bundlers at it and marks it side-effect free, the first-load half of <SkewGuard /> does not reach
// the half loaded after hydration (deferred.ts), that half works when loaded, and production
// builds check <SkewGuard>'s props as development builds do, without the messages.
// The sizes themselves come from real Next.js builds: benchmark/cases/client.mjs.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const esm = path.join(root, 'dist', 'esm')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))

function filesUnder(dir, base = dir) {
  const out = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...filesUnder(file, base))
    else out.push(path.relative(base, file))
  }
  return out.sort()
}

test('dist/esm is the ES build of the current lib/ (npm run build:ts, or npm pack, makes it)', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-esm-'))
  try {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    const r = spawnSync(
      process.execPath,
      [tsc, '-p', 'tsconfig.esm.json', '--outDir', out, '--tsBuildInfoFile', path.join(out, '.tsbuildinfo')],
      {
        cwd: root,
        encoding: 'utf8',
      },
    )
    assert.equal(r.status, 0, r.stdout + r.stderr)
    const fresh = filesUnder(out).filter((f) => f !== '.tsbuildinfo')
    const shipped = filesUnder(esm).filter((f) => f !== '.tsbuildinfo')
    assert.deepEqual(shipped, fresh, 'dist/esm holds other files than lib/ compiles to: run `npm run build:ts`')
    for (const file of fresh) {
      const same = fs.readFileSync(path.join(out, file), 'utf8') === fs.readFileSync(path.join(esm, file), 'utf8')
      assert.ok(same, `dist/esm/${file} is older than lib/: run \`npm run build:ts\``)
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true })
  }
})

test('package.json: bundlers get the ES build of ./react and ./action (the module condition), Node.js the CommonJS one', () => {
  for (const entry of ['./react', './action']) {
    const conditions = pkg.exports[entry]
    assert.deepEqual(Object.keys(conditions), ['types', 'module', 'default'], entry)
    assert.ok(fs.existsSync(path.join(root, conditions.module)), conditions.module)
    assert.ok(fs.existsSync(path.join(root, conditions.default)), conditions.default)
    // Node.js never reads `module`: import and require both resolve to the CommonJS build.
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `console.log(import.meta.resolve('next-skew-guard/${entry.slice(2)}'))`],
      { cwd: root, encoding: 'utf8' },
    )
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout.trim(), new RegExp(`/dist/${entry.slice(2)}/index\\.js$`))
  }
  assert.equal(pkg.scripts['build:ts'], 'tsc -p tsconfig.json && tsc -p tsconfig.esm.json')
  assert.equal(pkg.scripts.prepack, 'tsc -p tsconfig.esm.json', 'every tarball carries the ES build of what it ships')
  assert.ok(pkg.files.includes('dist/') && pkg.files.includes('!dist/esm/.tsbuildinfo'))
})

test('sideEffects: only the files that do something when imported are listed; the client entries are not', () => {
  // bin/ runs the CLI; dist/core/index.js loads the native module (or warns once and falls back).
  assert.deepEqual(pkg.sideEffects, ['./bin/*.js', './dist/core/index.js'])
  assert.ok(fs.existsSync(path.join(root, 'dist', 'core', 'index.js')))
  // A bundler drops what a page does not use only from modules not listed here.
  const listed = (file) => file === 'dist/core/index.js' || file.startsWith('bin/')
  for (const dir of ['react', 'action', 'shared', 'esm/react', 'esm/action', 'esm/shared']) {
    for (const file of filesUnder(path.join(root, 'dist', dir))) {
      assert.equal(listed(`dist/${dir}/${file}`), false, `dist/${dir}/${file} is marked as having side effects`)
    }
  }
  // Nothing in the ES build runs at import time beyond declarations (the premise of sideEffects).
  for (const file of filesUnder(esm).filter((f) => f.endsWith('.js'))) {
    const src = fs
      .readFileSync(path.join(esm, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '')
    for (const line of src.split('\n')) {
      if (!/^[^\s}\])]/.test(line)) continue
      assert.match(
        line,
        /^('use client'|(export )?(const|let|function|async function|class) |export \{|export \*|import |export default )/,
        `${file}: top-level statement ${line}`,
      )
    }
  }
})

test('the ES build is ES syntax; its only require is the hook module\'s lazy require("react")', () => {
  for (const file of filesUnder(esm).filter((f) => f.endsWith('.js'))) {
    const src = fs
      .readFileSync(path.join(esm, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
    assert.doesNotMatch(src, /\bexports\.|module\.exports|Object\.defineProperty\(exports/, file)
    const requires = [...src.matchAll(/\brequire\(([^)]*)\)/g)].map((m) => m[1])
    assert.deepEqual(requires, file === path.join('action', 'hooks.js') ? ["'react'"] : [], file)
  }
  for (const file of ['react/index.js', 'react/guard.js', 'action/hooks.js']) {
    assert.match(fs.readFileSync(path.join(esm, file), 'utf8'), /^'use client';/, `dist/esm/${file} starts with 'use client'`)
  }
})

/** The modules `file` (in dist/esm) reaches through static imports and re-exports. */
function staticGraph(file) {
  const seen = new Set()
  const visit = (rel) => {
    if (seen.has(rel)) return
    seen.add(rel)
    const src = fs.readFileSync(path.join(esm, rel), 'utf8')
    for (const m of src.matchAll(/(?:^|;|\n)\s*(?:import|export)\s+(?:[^;'"]*?\sfrom\s+)?['"](\.[^'"]+)['"]/g)) {
      visit(path.join(path.dirname(rel), `${m[1]}.js`))
    }
  }
  visit(file)
  return seen
}

test("<SkewGuard>'s first-load modules never import the half loaded after hydration; loader.ts is its one way in", () => {
  const eager = staticGraph('react/guard.js')
  for (const late of ['input', 'version', 'version-hook', 'banner', 'deferred', 'rotation']) {
    assert.equal(eager.has(path.join('react', `${late}.js`)), false, `guard.js reaches react/${late}.js statically`)
  }
  for (const needed of ['chunks', 'interceptor', 'classify', 'policy', 'cooldown', 'store', 'edits', 'health', 'loader', 'dom']) {
    assert.ok(eager.has(path.join('react', `${needed}.js`)), `react/${needed}.js is needed from the first moment`)
  }
  assert.match(fs.readFileSync(path.join(esm, 'react', 'loader.js'), 'utf8'), /\bimport\('\.\/deferred'\)/)
  const late = staticGraph('react/deferred.js')
  for (const part of ['input', 'version', 'banner']) assert.ok(late.has(path.join('react', `${part}.js`)), part)
  // useVersionCheck (the public hook) brings the checker with it; <SkewGuard> does not need it.
  assert.ok(staticGraph('react/version-hook.js').has(path.join('react', 'version.js')))
})

test('typed input is saved before deferred.ts has loaded (a reload may come first); deferred.ts restores it', () => {
  const script = `
    const assert = require('node:assert/strict')
    const data = new Map()
    const storage = { getItem: (k) => (data.has(k) ? data.get(k) : null), setItem: (k, v) => data.set(k, String(v)), removeItem: (k) => data.delete(k) }
    const listeners = new Map()
    class Field extends EventTarget {
      constructor(id) { super(); this.tagName = 'INPUT'; this.type = 'text'; this.id = id; this.isConnected = true; this._value = '' }
      get value() { return this._value }
      set value(v) { this._value = v }
    }
    const title = new Field('title')
    const doc = {
      body: {}, forms: [], visibilityState: 'visible',
      getElementById: (id) => (id === 'title' ? title : null),
      addEventListener: (type, fn) => listeners.set(type, fn),
      removeEventListener: (type) => listeners.delete(type),
    }
    globalThis.document = doc
    globalThis.window = { sessionStorage: storage, location: { pathname: '/form', search: '?a=1' } }
    const { trackInput, hasSavedInput } = require('./dist/react/edits.js')
    const { saveBrowserInput } = require('./dist/react/dom.js')
    const { deferredModule, loadDeferred } = require('./dist/react/loader.js')
    const stop = trackInput(doc)
    assert.equal(saveBrowserInput(), true, 'nothing typed: nothing to save')
    title.value = 'draft'
    listeners.get('input')({ target: title })
    assert.equal(saveBrowserInput(), true, 'typed input is saved with the first-load code alone')
    assert.equal(deferredModule(), null, 'saving loaded nothing')
    assert.equal(hasSavedInput(storage), true)
    assert.equal(JSON.parse(data.get('next-skew-guard:input')).page, '/form?a=1')
    loadDeferred().then((deferred) => {
      assert.equal(deferredModule(), deferred)
      assert.deepEqual(['SkewGuardBanner', 'VersionChecker', 'restoreSavedInput'].filter((k) => typeof deferred[k] !== 'function'), [])
      title.value = ''
      const seen = []
      title.addEventListener('input', () => seen.push(title.value))
      const cancel = deferred.restoreSavedInput()
      cancel()
      stop()
      assert.equal(title.value, 'draft')
      assert.deepEqual(seen, ['draft'], 'an input event follows, for React')
      assert.equal(hasSavedInput(storage), false, 'taken: restored once')
      console.log('ok')
    })`
  const r = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), 'ok')
})

test('<SkewGuard> props in production: the same kept and dropped as in development, without a word', () => {
  const { guardProps } = require('../dist/react/guard.js')
  const fn = () => {}
  const cases = [
    undefined,
    null,
    'props',
    [],
    {},
    { reload: 'soon' },
    { reload: true },
    { reload: 'eager', pollInterval: 5000 },
    { pollIntervalMs: Number(undefined) },
    { pollIntervalMs: 10 },
    { pollIntervalMs: 999.5 },
    { pollIntervalMs: '60000' },
    { pollIntervalMs: 1000, cooldownMs: 0 },
    { cooldownMs: -1 },
    { cooldownMs: Infinity },
    { onSkew: 'reload' },
    { onSkew: fn },
    { healthPath: 'api/health' },
    { healthPath: '/api/health' },
    { healthPath: 'HTTPS://status.example/health' },
    { healthPath: 'ftp://x' },
    { healthPath: true },
    { healthPath: false },
    { buildId: 42 },
    { buildId: null, children: 'x', fallback: false },
    { buildId: '', fallback: null, children: undefined },
  ]
  const logged = []
  const error = console.error
  const env = process.env.NODE_ENV
  console.error = (...args) => logged.push(args.join(' '))
  try {
    for (const props of cases) {
      delete process.env.NODE_ENV
      const development = guardProps(props)
      const before = logged.length
      process.env.NODE_ENV = 'production'
      assert.deepEqual(guardProps(props), development, JSON.stringify(props))
      assert.equal(logged.length, before, `production says nothing: ${JSON.stringify(props)}`)
    }
    assert.ok(logged.length >= 10, 'development reported the invalid props')
  } finally {
    console.error = error
    if (env === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = env
  }
})
