// The three implementations of the core API, side by side, so every suite
// holds them to the same expectations: the Rust core (package main), the JS
// backend on node:crypto (Node without a binary) and the JS backend on
// WebCrypto (the edge entry).
const assert = require('node:assert/strict')

const main = require('..')
const { Keyring: KeyringBase, createCore } = require('../dist/core/api.js')
const { createJsBackend } = require('../dist/core/backend-js.js')
const { nodeCrypto } = require('../dist/core/crypto-node.js')
const edge = require('../dist/core/edge.js')

// The suites must exercise the Rust core, not a silent fallback.
assert.equal(main.backend, 'native', 'the native binary did not load: run `npm run build:native`')

// What the package main exports when the binary cannot load, built the same way.
const nodeJs = createJsBackend(nodeCrypto)
const nodeJsCore = {
  ...createCore(nodeJs),
  backend: 'js',
  Keyring: class Keyring extends KeyringBase {
    static backendImpl = nodeJs
  },
}

const backends = [
  { name: 'native', core: main, sync: true },
  { name: 'js/node:crypto', core: nodeJsCore, sync: true },
  { name: 'js/WebCrypto', core: edge, sync: false },
]

/** Asserts that `fn` throws (or rejects with) an error carrying `code`. */
async function rejectsWithCode(fn, code, messagePattern) {
  let error
  try {
    await fn()
  } catch (e) {
    error = e
  }
  assert.ok(error, `expected an error with code ${code}, but nothing was thrown`)
  assert.equal(error.code, code, `expected code ${code}, got ${error.code}: ${error.message}`)
  assert.ok(error instanceof Error)
  if (messagePattern) assert.match(error.message, messagePattern)
  return error
}

module.exports = { backends, rejectsWithCode }
