'use strict'
// Runs Next.js's own encryptActionBoundArgs / decryptActionBoundArgs in plain
// Node, outside a Next server (how: docs/nextjs-internals.md §1 and the comments below).
//
//   node child.cjs <abs path to node_modules/next>   < job.json   > result.json
//
// job:    { key: "<base64>", ops: [ {op:'encrypt', actionId, args, iv:[16 bytes]}
//                                 | {op:'decrypt', actionId, payload} ] }
//         `args` is the tagged encoding of scripts/next-harness/tagged.cjs.
// result: { nextVersion, major, results: [ {ok:true, payload} | {ok:true, args}
//                                        | {ok:false, errorName, errorMessage, ...} ] }
//
// One process serves exactly one key: Next memoises the imported key in a
// module variable on first use (`__next_loaded_action_key`, §1.4 step 9).

// Step 2/3: production Flight output (dev adds debug rows), and make sure the
// manifest key is the one used (the env var would override it at runtime).
process.env.NODE_ENV = 'production'
delete process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY
delete process.env.NEXT_RUNTIME // not 'edge': use the Node module mappings

const path = require('node:path')
const Module = require('node:module')
const tagged = require('./tagged.cjs')

// Next (or React) may log; stdout is reserved for the JSON result.
for (const m of ['log', 'info', 'debug', 'warn']) console[m] = console.error

const OP_TIMEOUT_MS = 20_000 // a Flight stream that never closes must not hang us

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = []
    process.stdin.on('data', (c) => chunks.push(c))
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    process.stdin.on('error', reject)
  })
}

// Step 4: resolve the bare specifiers Next's RSC-layer code requires to the
// react-server builds it ships under dist/compiled (mirrors
// dist/build/create-compiler-aliases.js). Without this `react` would resolve
// to the client build installed next to next, or not at all.
function installAliases(nextDir, major) {
  const c = (p) => path.join(nextDir, 'dist/compiled', p)
  const aliases = {
    'server-only': c('server-only/empty.js'),
    react: c('react/react.react-server.js'),
    'next/dist/compiled/react': c('react/react.react-server.js'),
    'react-dom': c('react-dom/react-dom.react-server.js'),
    'next/dist/compiled/react-dom': c('react-dom/react-dom.react-server.js'),
  }
  if (major === 14) {
    aliases['react-server-dom-webpack/server.edge'] = c('react-server-dom-webpack/server.edge.js')
    aliases['react-server-dom-webpack/client.edge'] = c('react-server-dom-webpack/client.edge.js')
  } else {
    aliases['react-server-dom-webpack/server'] = c('react-server-dom-webpack/server.node.js')
    aliases['react-server-dom-webpack/client'] = c('react-server-dom-webpack/client.node.js')
  }
  const original = Module._resolveFilename
  Module._resolveFilename = function resolveWithAliases(request, ...rest) {
    const target = Object.hasOwn(aliases, request) ? aliases[request] : request
    return original.call(this, target, ...rest)
  }
}

// Step 6: the manifests singleton that getActionEncryptionKey() and the Flight
// (de)serialisers read. The key travels in the server-actions manifest.
function setManifests(appRender, major, key) {
  const serverActionsManifest = { encryptionKey: key, node: {}, edge: {} }
  const clientReferenceManifest = { clientModules: {}, rscModuleMapping: {}, edgeRscModuleMapping: {} }
  if (major >= 16) {
    require(path.join(appRender, 'manifests-singleton.js')).setManifestsSingleton({
      page: '/page',
      clientReferenceManifest,
      serverActionsManifest,
    })
  } else {
    // 14 ignores `page`; 15 keeps a per-page map of client manifests.
    require(path.join(appRender, 'encryption-utils.js')).setReferenceManifestsSingleton({
      page: '/page',
      clientReferenceManifest,
      serverActionsManifest,
      serverModuleMap: {},
    })
  }
}

// Step 8: Next asks crypto.getRandomValues for exactly one 16-byte Uint8Array
// per encryption. Fill that one request with our IV; everything else (and
// every call after the swap is undone) gets real randomness.
async function withFixedIv(iv, fn) {
  const cryptoObj = globalThis.crypto
  const ownBefore = Object.getOwnPropertyDescriptor(cryptoObj, 'getRandomValues')
  const real = cryptoObj.getRandomValues
  let served = 0
  cryptoObj.getRandomValues = function fixedIvGetRandomValues(arr) {
    if (served === 0 && arr instanceof Uint8Array && arr.length === 16) {
      served++
      arr.set(iv)
      return arr
    }
    return real.call(cryptoObj, arr)
  }
  try {
    const out = await fn()
    if (served !== 1) throw new Error(`fixed IV was requested ${served} times, expected exactly once`)
    return out
  } finally {
    if (ownBefore) Object.defineProperty(cryptoObj, 'getRandomValues', ownBefore)
    else delete cryptoObj.getRandomValues
  }
}

function describeError(err) {
  if (!(err instanceof Error) && !(err && typeof err === 'object' && 'name' in err)) {
    return { ok: false, errorName: 'NonError', errorMessage: String(err) }
  }
  const out = { ok: false, errorName: err.name, errorMessage: err.message }
  if (err.__NEXT_ERROR_CODE) out.nextErrorCode = err.__NEXT_ERROR_CODE
  if (err.cause instanceof Error) out.causeMessage = err.cause.message
  return out
}

function withTimeout(promise, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const e = new Error(`${what} did not settle within ${OP_TIMEOUT_MS} ms`)
      e.name = 'HarnessTimeout'
      reject(e)
    }, OP_TIMEOUT_MS)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

async function runOp(encryption, major, op) {
  try {
    if (op.op === 'encrypt') {
      const args = tagged.decode(op.args)
      if (!Array.isArray(args)) throw new Error('encrypt: args must describe an array')
      if (!Array.isArray(op.iv) || op.iv.length !== 16) throw new Error('encrypt: iv must be 16 bytes')
      // Step 7: 14 takes the args array, 15/16 take them spread (React.cache'd).
      const payload = await withFixedIv(Uint8Array.from(op.iv), () =>
        withTimeout(
          major === 14 ? encryption.encryptActionBoundArgs(op.actionId, args) : encryption.encryptActionBoundArgs(op.actionId, ...args),
          'encryptActionBoundArgs',
        ),
      )
      return { ok: true, payload }
    }
    if (op.op === 'decrypt') {
      const args = await withTimeout(encryption.decryptActionBoundArgs(op.actionId, Promise.resolve(op.payload)), 'decryptActionBoundArgs')
      return { ok: true, args: tagged.encode(args) }
    }
    return { ok: false, errorName: 'HarnessError', errorMessage: `unknown op ${JSON.stringify(op.op)}` }
  } catch (err) {
    return describeError(err)
  }
}

async function main() {
  const nextDir = process.argv[2]
  if (!nextDir) throw new Error('usage: child.cjs <node_modules/next dir> < job.json')
  const nextVersion = require(path.join(nextDir, 'package.json')).version
  const major = Number(nextVersion.split('.')[0])
  if (![14, 15, 16].includes(major)) throw new Error(`unsupported next version ${nextVersion}`)

  const job = JSON.parse(await readStdin())
  if (typeof job.key !== 'string' || !Array.isArray(job.ops)) throw new Error('job needs {key, ops[]}')

  installAliases(nextDir, major)
  // Step 5: work-unit-async-storage falls back to a fake whose .exit() throws.
  if (major >= 15) globalThis.AsyncLocalStorage = require('node:async_hooks').AsyncLocalStorage
  const appRender = path.join(nextDir, 'dist/server/app-render')
  setManifests(appRender, major, job.key)
  const encryption = require(path.join(appRender, 'encryption.js'))

  // Sequential on purpose: the IV swap is process-global.
  const results = []
  for (const op of job.ops) results.push(await runOp(encryption, major, op))
  // Wait for the write to flush: stdout is asynchronous for pipes on some platforms.
  await new Promise((resolve) => process.stdout.write(JSON.stringify({ nextVersion, major, results }), resolve))
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err?.stack ? err.stack : String(err))
    process.exit(2)
  },
)
