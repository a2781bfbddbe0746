// Chunk-load skew: which failures are a chunk that is gone (webpack's and Turbopack's wordings, a
// failed <script>/<link> of the build), and when the guard believes it is skew rather than a
// network hiccup. The real thing (next/dynamic after a redeploy, webpack and Turbopack) is in the
// e2e suites.
const test = require('node:test')
const assert = require('node:assert/strict')

const { isChunkError, chunkUrlOf, watchChunkFailures, confirmChunkSkew } = require('../dist/react/chunks.js')

test('isChunkError: the spellings webpack, Turbopack and browsers use; nothing else', () => {
  const named = Object.assign(new Error('Loading chunk 123 failed.\n(error: http://a.test/_next/static/chunks/123.js)'), {
    name: 'ChunkLoadError',
  })
  for (const error of [
    named,
    new Error('Loading chunk app/page-abc failed.'),
    new Error('Loading CSS chunk 42 failed.'),
    new Error('Failed to load chunk /_next/static/chunks/0f1e2d.js from module 4711'),
    new Error('Module 4711 was instantiated because it was required from module 12, but the module factory is not available.'),
    new TypeError('Failed to fetch dynamically imported module: http://a.test/_next/static/chunks/x.js'),
    'ChunkLoadError: Loading chunk 7 failed.',
  ]) {
    assert.equal(isChunkError(error), true, String(error?.message ?? error))
  }
  for (const error of [new Error('boom'), new TypeError('Failed to fetch'), null, undefined, 42, { message: 5 }]) {
    assert.equal(isChunkError(error), false, String(error))
  }
})

test('chunkUrlOf: the build file a message names, made absolute', () => {
  assert.equal(
    chunkUrlOf('Failed to load chunk /_next/static/chunks/0f1e.js from module 4711', 'http://a.test/x'),
    'http://a.test/_next/static/chunks/0f1e.js',
  )
  assert.equal(
    chunkUrlOf('Loading chunk 1 failed.\n(error: http://a.test/base/_next/static/chunks/1.js?dpl=v1)', 'http://a.test/'),
    'http://a.test/base/_next/static/chunks/1.js?dpl=v1',
  )
  assert.equal(chunkUrlOf('Loading chunk 1 failed.', 'http://a.test/'), null)
  assert.equal(chunkUrlOf(null, 'http://a.test/'), null)
})

test('watchChunkFailures: a failed build <script>/<link> (capture phase) and chunk errors/rejections; others ignored', () => {
  const listeners = {}
  const win = {
    addEventListener: (type, fn, capture) => (listeners[type] = { fn, capture }),
    removeEventListener: (type) => delete listeners[type],
  }
  const seen = []
  const stop = watchChunkFailures(win, (failure) => seen.push(failure))
  assert.equal(listeners.error.capture, true, 'resource errors do not bubble: capture phase')
  listeners.error.fn({ target: { tagName: 'SCRIPT', src: 'http://a.test/_next/static/chunks/9.js?dpl=v1' } })
  listeners.error.fn({ target: { tagName: 'LINK', rel: 'stylesheet', href: 'http://a.test/_next/static/css/a.css' } })
  listeners.error.fn({ target: { tagName: 'SCRIPT', src: 'https://analytics.example/tag.js' } })
  listeners.error.fn({ target: { tagName: 'IMG', src: 'http://a.test/_next/static/media/x.png' } })
  listeners.error.fn({ error: new Error('Failed to load chunk /_next/static/chunks/2.js from module 1') })
  listeners.error.fn({ error: new Error('boom') })
  listeners.unhandledrejection.fn({ reason: Object.assign(new Error('Loading chunk 5 failed.'), { name: 'ChunkLoadError' }) })
  listeners.unhandledrejection.fn({ reason: new Error('nope') })
  assert.deepEqual(seen, [
    { url: 'http://a.test/_next/static/chunks/9.js?dpl=v1', message: null },
    { url: 'http://a.test/_next/static/css/a.css', message: null },
    { url: null, message: 'Failed to load chunk /_next/static/chunks/2.js from module 1' },
    { url: null, message: 'Loading chunk 5 failed.' },
  ])
  stop()
  assert.deepEqual(Object.keys(listeners), [])
})

test('confirmChunkSkew: a file the server no longer has, or a server on another build; never a network hiccup', async () => {
  const base = 'http://a.test/page'
  const failure = { url: 'http://a.test/_next/static/chunks/9.js', message: null }
  const build = (id) => async () => id
  const down = async () => {
    throw new TypeError('Failed to fetch')
  }
  assert.equal(await confirmChunkSkew(failure, base, 'v1', async () => 404, build('v1')), true, 'the file is gone')
  assert.equal(await confirmChunkSkew(failure, base, 'v1', async () => 200, build('v1')), false, 'it is there: a hiccup')
  assert.equal(
    await confirmChunkSkew(failure, base, 'v1', async () => 200, build('v2')),
    true,
    'served by another build (an SPA fallback, a CDN)',
  )
  assert.equal(await confirmChunkSkew(failure, base, 'v1', down, down), false, 'offline')
  assert.equal(await confirmChunkSkew(failure, base, 'v1', down, build('v2')), true)
  // No file named (Turbopack's "module factory is not available"): ask which build runs.
  const bare = { url: null, message: 'module factory is not available' }
  let probed = false
  const probe = async () => ((probed = true), 404)
  assert.equal(await confirmChunkSkew(bare, base, 'v1', probe, build('v2')), true)
  assert.equal(await confirmChunkSkew(bare, base, 'v1', probe, build('v1')), false)
  assert.equal(await confirmChunkSkew(bare, base, null, probe, build('v2')), false, 'no page build known: no claim')
  assert.equal(probed, false)
})
