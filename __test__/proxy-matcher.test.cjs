// The matcher recipe (docs/performance.md, "The matcher"): which requests reach the guard, decided
// by Next.js's own matcher code (the functions `next build` compiles `config.matcher` with and
// `next start` runs per request), for the recipe as the doc writes it, the deployment-cookie entry,
// and the example app's proxy.ts / middleware.ts. Next.js 16 is the repo's devDependency; 14.2 and
// 15.5 are used where `npm test` installed them (NSG_NEXT_VECTORS_DIR).
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')

/**
 * Next.js installs to check against: `{ version, dir }`. 14.2 and 15.5 come from the reference
 * installs (`npm run vectors`; NSG_NEXT_VECTORS_DIR, which `npm test` sets and fills: there a
 * missing one fails the test instead of being left out).
 */
function nextInstalls() {
  const pins = JSON.parse(fs.readFileSync(path.join(root, 'scripts', 'next-versions.json'), 'utf8')).matrix
  const installs = [{ version: require('next/package.json').version, dir: path.dirname(require.resolve('next/package.json')) }]
  const vectors = process.env.NSG_NEXT_VECTORS_DIR || path.join(os.tmpdir(), 'nsg-next-vectors')
  for (const version of [pins['14'].next, pins['15.5'].next]) {
    const dir = path.join(vectors, `next-${version}`, 'node_modules', 'next')
    if (fs.existsSync(path.join(dir, 'package.json'))) installs.push({ version, dir })
    else if (process.env.NSG_NEXT_VECTORS_DIR) throw new Error(`Next.js ${version} is not installed in ${vectors} (npm run vectors)`)
  }
  return installs
}

/** The object literal after `export const config = ` in `text`, evaluated. */
function configIn(text, where) {
  const start = text.indexOf('export const config = {')
  assert.notEqual(start, -1, `${where} has no config`)
  let depth = 0
  let i = text.indexOf('{', start)
  const from = i
  for (; i < text.length; i++) {
    if (text[i] === '{') depth++
    else if (text[i] === '}' && --depth === 0) break
  }
  return new Function(`return (${text.slice(from, i + 1)})`)()
}

const doc = fs.readFileSync(path.join(root, 'docs', 'performance.md'), 'utf8')
const RECIPE = configIn(doc, 'docs/performance.md').matcher
const COOKIE_ENTRY = new Function(`return (${/`(\{ source: [^`]*sec-fetch-dest[^`]*\})`/.exec(doc)[1]})`)()
const EXAMPLES = {
  'examples/next-app/proxy.ts': 'nodejs',
  'examples/next-app/versions/14/middleware.ts': undefined,
  'examples/next-app/versions/15.3/middleware.ts': undefined,
  'examples/next-app/versions/15.5/middleware.ts': 'nodejs',
}

/** `(pathname, headers) => boolean`: whether Next.js `version` runs the proxy for the request. */
function matcherOf(install, matcher, nextConfig = {}) {
  const { getMiddlewareMatchers } = require(path.join(install.dir, 'dist/build/analysis/get-page-static-info.js'))
  const { getMiddlewareRouteMatcher } = require(path.join(install.dir, 'dist/shared/lib/router/utils/middleware-route-matcher.js'))
  // A copy: some versions rewrite the entries they are given.
  const matches = getMiddlewareRouteMatcher(getMiddlewareMatchers(structuredClone(matcher), nextConfig))
  return (pathname, headers = {}) => matches(pathname, { headers }, {})
}

const ACTION = '40' + 'a'.repeat(40)
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
const FORM = 'multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW'

/** Requests the guard must see. */
const MUST_RUN = [
  ['JS action call on the root', '/', { 'next-action': ACTION, accept: 'text/x-component', 'content-type': 'text/plain;charset=UTF-8' }],
  [
    'JS closure call (multipart) on a nested page',
    '/blog/post-1',
    { 'next-action': ACTION, accept: 'text/x-component', 'content-type': FORM },
  ],
  ['no-JS form post', '/', { accept: HTML, 'content-type': FORM }],
  ['no-JS form post on a nested page', '/settings/profile', { accept: HTML, 'content-type': FORM }],
  ['health poll', '/api/health', { accept: 'application/json' }],
  ['health poll after a trailingSlash redirect', '/api/health/', {}],
]
/** Requests that cannot be skew: the proxy must not run. */
const MUST_SKIP = [
  ['document', '/', { accept: HTML, 'sec-fetch-dest': 'document' }],
  ['nested document', '/blog/post-1', { accept: HTML, 'sec-fetch-dest': 'document' }],
  ['client navigation (RSC)', '/blog/post-1', { rsc: '1', accept: '*/*' }],
  ['prefetch', '/blog', { rsc: '1', 'next-router-prefetch': '1' }],
  ['script', '/_next/static/chunks/app.js', { 'sec-fetch-dest': 'script' }],
  ['image', '/_next/image', {}],
  ['API route', '/api/notes', { accept: 'application/json' }],
  ['upload from fetch (multipart, no action)', '/api/upload', { accept: '*/*', 'content-type': FORM }],
  ['another path starting like the health one', '/api/healthz', {}],
]

for (const install of nextInstalls()) {
  test(`Next.js ${install.version}: the recipe runs the guard on actions and the health poll only`, () => {
    const runs = matcherOf(install, RECIPE)
    for (const [what, pathname, headers] of MUST_RUN) assert.equal(runs(pathname, headers), true, `${what} must reach the guard`)
    for (const [what, pathname, headers] of MUST_SKIP) assert.equal(runs(pathname, headers), false, `${what} must not`)
    // basePath is added by Next.js; trailingSlash changes nothing.
    const based = matcherOf(install, RECIPE, { basePath: '/docs', trailingSlash: true })
    assert.equal(based('/docs/api/health/', {}), true)
    assert.equal(based('/docs/', { 'next-action': ACTION }), true)
    assert.equal(based('/docs/', { accept: HTML, 'sec-fetch-dest': 'document' }), false)
  })

  test(`Next.js ${install.version}: the deployment-cookie entry adds documents, not navigations or assets`, () => {
    const runs = matcherOf(install, [...RECIPE, COOKIE_ENTRY])
    for (const [what, pathname, headers] of MUST_RUN) assert.equal(runs(pathname, headers), true, what)
    assert.equal(runs('/', { accept: HTML, 'sec-fetch-dest': 'document' }), true)
    assert.equal(runs('/blog/post-1', { 'sec-fetch-dest': 'document' }), true)
    assert.equal(runs('/blog/post-1', { rsc: '1', 'sec-fetch-dest': 'empty' }), false)
    assert.equal(runs('/_next/static/chunks/app.js', { 'sec-fetch-dest': 'script' }), false)
    assert.equal(runs('/api/notes', { 'sec-fetch-dest': 'empty' }), false)
  })

  test(`Next.js ${install.version}: the example's matcher is the recipe plus its routing demo's pages`, () => {
    for (const [file, runtime] of Object.entries(EXAMPLES)) {
      const config = configIn(fs.readFileSync(path.join(root, file), 'utf8'), file)
      assert.equal(config.runtime, runtime === 'nodejs' && file.endsWith('middleware.ts') ? 'nodejs' : undefined, `${file}: runtime`)
      assert.deepEqual(config.matcher.slice(0, RECIPE.length), RECIPE, `${file} starts with the recipe`)
      const runs = matcherOf(install, config.matcher)
      for (const [what, pathname, headers] of MUST_RUN) assert.equal(runs(pathname, headers), true, `${file}: ${what}`)
      // Pages (the routing tests read x-build-id off a plain GET /), never navigations or assets.
      assert.equal(runs('/', {}), true, `${file}: GET /`)
      assert.equal(runs('/', { accept: HTML, 'sec-fetch-dest': 'document' }), true)
      for (const [what, pathname, headers] of MUST_SKIP.filter(([w]) => /RSC|prefetch|script|image/.test(w))) {
        assert.equal(runs(pathname, headers), false, `${file}: ${what}`)
      }
      // The in-app forwarding entries (Node runtime only): what names a deployment reaches the guard.
      if (runtime === 'nodejs' || file.endsWith('proxy.ts')) {
        assert.equal(runs('/blog/post-1', { rsc: '1', 'x-deployment-id': 'dpl_v1' }), true, `${file}: a navigation naming its deployment`)
        assert.equal(runs('/_next/static/chunks/app.js', { 'sec-fetch-dest': 'script' }), false, `${file}: a script without ?dpl=`)
        assert.equal(
          queryRuns(install, config.matcher, '/_next/static/chunks/app.js', { dpl: 'dpl_v1' }),
          true,
          `${file}: a script with ?dpl=`,
        )
      }
    }
  })
}

/** Like matcherOf, with a query string (Next.js hands the matcher the parsed query). */
function queryRuns(install, matcher, pathname, query) {
  const { getMiddlewareMatchers } = require(path.join(install.dir, 'dist/build/analysis/get-page-static-info.js'))
  const { getMiddlewareRouteMatcher } = require(path.join(install.dir, 'dist/shared/lib/router/utils/middleware-route-matcher.js'))
  return getMiddlewareRouteMatcher(getMiddlewareMatchers(structuredClone(matcher), {}))(pathname, { headers: {} }, query)
}
