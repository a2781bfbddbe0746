#!/usr/bin/env node
// Generate Server Action bound-args test vectors with Next.js's OWN code.
//
//   node scripts/gen-vectors.mjs [--out __test__/fixtures/next-vectors.json]
//                                [--work-dir DIR] [--sealer=package|node-crypto]
//
// 1. Installs the Next.js versions of scripts/next-versions.json (vectors) into throwaway dirs (reused when
//    the installed versions already match).
// 2. Runs Next's encryptActionBoundArgs / decryptActionBoundArgs standalone in
//    child processes (scripts/next-harness/child.cjs, one process per key and
//    major) with fixed IVs, as described in scripts/next-harness/child.cjs.
// 3. Writes valid vectors (with their plaintext, checked with node:crypto),
//    negative vectors (with Next's reaction on every major) and a
//    "sealed by this package, opened by Next" check into the fixture.
// Exits 0 only when every check passed.

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import tagged from './next-harness/tagged.cjs'
import { VECTOR_VERSIONS } from './next-versions.mjs'
import { b64, fail, negativeDefs, openWithNodeCrypto, sealWithIv, vectorDefs } from './next-harness/vectors.mjs'

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url))
const REPO_ROOT = path.resolve(SCRIPT_DIR, '..')
const CHILD = path.join(SCRIPT_DIR, 'next-harness', 'child.cjs')

/** The exact installs (scripts/next-versions.json). React 18 is 14's peer; 15/16 take React 19. */
const NEXT = VECTOR_VERSIONS
const MAJORS = ['14', '15', '16']

const CHILD_TIMEOUT_MS = 180_000
const INSTALL_TIMEOUT_MS = 600_000
const MAX_PARALLEL_CHILDREN = Math.max(1, Math.min(6, os.availableParallelism?.() ?? 2))

class CheckLog {
  constructor() {
    this.failures = []
    this.notes = []
  }
  check(cond, msg) {
    if (!cond) this.failures.push(msg)
    return cond
  }
  note(msg) {
    this.notes.push(msg)
  }
}

function usage() {
  return `usage: node scripts/gen-vectors.mjs [--out FILE] [--work-dir DIR] [--sealer=package|node-crypto]
  --out       fixture path (default: __test__/fixtures/next-vectors.json in the repo)
  --work-dir  where next@14/15/16 are installed (default: ${path.join(os.tmpdir(), 'nsg-next-vectors')})
  --sealer    'package' (default): seal with this package's Keyring.sealSync;
              'node-crypto': development stand-in while the package is not built
  --install-only  install (or reuse) the three Next.js versions and stop; \`npm test\` uses this for the
              compatibility tests that run Next.js's own client code`
}

function parseCli() {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      'work-dir': { type: 'string' },
      sealer: { type: 'string', default: 'package' },
      'install-only': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    console.log(usage())
    process.exit(0)
  }
  if (!['package', 'node-crypto'].includes(values.sealer)) fail(`--sealer must be 'package' or 'node-crypto'\n${usage()}`)
  return {
    out: values.out ? path.resolve(values.out) : path.join(REPO_ROOT, '__test__/fixtures/next-vectors.json'),
    workDir: path.resolve(values['work-dir'] ?? path.join(os.tmpdir(), 'nsg-next-vectors')),
    sealer: values.sealer,
    installOnly: !!values['install-only'],
  }
}

// ---------------------------------------------------------------------------
// Sealer: this package's Keyring, or a node:crypto stand-in for development.

function loadSealer(kind) {
  if (kind === 'node-crypto') {
    console.warn('! --sealer=node-crypto: using the development stand-in, NOT the package. Do not ship this fixture.')
    return { kind, seal: nodeCryptoSeal }
  }
  let pkg
  try {
    pkg = createRequire(import.meta.url)('../')
  } catch (err) {
    fail(
      `cannot load the package from ${REPO_ROOT} (is it built? run the build first):\n  ${err.message}\n` +
        `For development only, rerun with --sealer=node-crypto.`,
    )
  }
  if (typeof pkg.Keyring !== 'function') fail(`the package at ${REPO_ROOT} does not export a Keyring class`)
  return {
    kind,
    backend: pkg.backend,
    seal(key, actionId, rows) {
      const payload = new pkg.Keyring({ current: key }).sealSync(actionId, rows)
      if (typeof payload !== 'string') fail(`Keyring.sealSync returned ${typeof payload}, expected a base64 string`)
      return payload
    },
  }
}

/** Stand-in sealer: the Next format, random 16-byte IV, base64(iv ‖ ct ‖ tag). */
function nodeCryptoSeal(key, actionId, rows) {
  return sealWithIv(key, actionId, rows, randomBytes(16))
}

// ---------------------------------------------------------------------------
// Installing Next

function run(cmd, args, { cwd, input, timeoutMs, env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      env: env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: process.platform === 'win32' && cmd === 'npm',
    })
    const out = []
    const err = []
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout.on('data', (c) => out.push(c))
    child.stderr.on('data', (c) => err.push(c))
    child.on('error', (e) => err.push(Buffer.from(String(e))))
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') })
    })
    child.stdin.on('error', () => {}) // child may exit before reading everything
    child.stdin.end(input ?? '')
  })
}

const tail = (s, n = 25) => s.trimEnd().split('\n').slice(-n).join('\n')

function installedVersion(dir, name) {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version
  } catch {
    return null
  }
}

/** Install one major into workDir/next-<version>, or reuse a matching install. */
async function installNext(workDir, major) {
  const want = NEXT[major]
  const dir = path.join(workDir, `next-${want.next}`)
  const nextDir = path.join(dir, 'node_modules', 'next')
  // An interrupted install can leave package.json without dist/: check a file we load.
  const matches = () =>
    existsSync(path.join(nextDir, 'dist/server/app-render/encryption.js')) &&
    installedVersion(dir, 'next') === want.next &&
    installedVersion(dir, 'react') === want.react &&
    installedVersion(dir, 'react-dom') === want.react
  if (matches()) return { major, dir, nextDir, reused: true }

  rmSync(path.join(dir, 'node_modules'), { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const pkg = {
    name: `nsg-vectors-next-${major}`,
    private: true,
    dependencies: { next: want.next, react: want.react, 'react-dom': want.react },
  }
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
  // --ignore-scripts: Next's postinstall is not needed to load its dist files.
  const res = await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: dir,
    timeoutMs: INSTALL_TIMEOUT_MS,
  })
  if (res.code !== 0 || !matches()) {
    fail(
      `npm install of next@${want.next} (react ${want.react}) failed in ${dir} ` +
        `(exit ${res.code}${res.signal ? `, ${res.signal}` : ''}). npm stderr (tail):\n${tail(res.stderr) || '(empty)'}`,
    )
  }
  return { major, dir, nextDir, reused: false }
}

// ---------------------------------------------------------------------------
// Running Next's code in child processes

/** One child = one (major, key). Returns the per-op results in order. */
async function runChild(install, key, ops) {
  const env = { ...process.env, NODE_ENV: 'production' }
  delete env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY
  delete env.NEXT_RUNTIME
  delete env.NODE_OPTIONS // no loaders/conditions from the caller's shell
  const res = await run(process.execPath, [CHILD, install.nextDir], {
    input: JSON.stringify({ key, ops }),
    timeoutMs: CHILD_TIMEOUT_MS,
    env,
  })
  if (res.code !== 0) {
    fail(`next ${NEXT[install.major].next} harness failed (exit ${res.code}${res.signal ? `, ${res.signal}` : ''}):\n${tail(res.stderr)}`)
  }
  let parsed
  try {
    parsed = JSON.parse(res.stdout)
  } catch {
    fail(`next ${NEXT[install.major].next} harness printed no JSON result:\n${tail(res.stdout)}\n${tail(res.stderr)}`)
  }
  if (parsed.nextVersion !== NEXT[install.major].next)
    fail(`harness loaded next ${parsed.nextVersion}, expected ${NEXT[install.major].next}`)
  if (parsed.results.length !== ops.length) fail(`harness returned ${parsed.results.length} results for ${ops.length} ops`)
  return parsed.results
}

/** Run async task factories with a bounded number in flight. */
async function pool(tasks, limit) {
  const results = new Array(tasks.length)
  let next = 0
  async function worker() {
    while (next < tasks.length) {
      const i = next++
      results[i] = await tasks[i]()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return results
}

/**
 * Run ops on every major. `items` are {key, op, ...}; ops are grouped so that
 * each (major, key) gets one child. Returns, per item, {"14": r, "15": r, "16": r}.
 */
async function runOnAllMajors(installs, items) {
  const byKey = new Map()
  items.forEach((item, index) => {
    if (!byKey.has(item.key)) byKey.set(item.key, [])
    byKey.get(item.key).push(index)
  })
  const out = items.map(() => ({}))
  const tasks = []
  for (const major of MAJORS) {
    for (const [key, indexes] of byKey) {
      tasks.push(async () => {
        const results = await runChild(
          installs[major],
          key,
          indexes.map((i) => items[i].op),
        )
        indexes.forEach((itemIndex, j) => (out[itemIndex][major] = results[j]))
      })
    }
  }
  await pool(tasks, MAX_PARALLEL_CHILDREN)
  return out
}

// ---------------------------------------------------------------------------
// Phase 1: encrypt with Next on every major

async function encryptVectors(installs, defs, log) {
  const items = defs.map((d) => ({ key: d.key, op: { op: 'encrypt', actionId: d.actionId, args: d.args, iv: d.iv } }))
  const perMajor = await runOnAllMajors(installs, items)
  return defs.map((d, i) => {
    const results = perMajor[i]
    for (const m of MAJORS) {
      if (!log.check(results[m].ok, `${d.name}: encrypt on ${m} failed: ${results[m].errorName}: ${results[m].errorMessage}`)) return null
    }
    const payload = results[d.producedBy].payload
    const differing = MAJORS.filter((m) => results[m].payload !== payload)
    if (differing.length) log.note(`${d.name}: Next ${differing.join(', ')} encrypt differently from ${d.producedBy} with the same IV`)
    if (d.expectPayload) {
      for (const m of MAJORS) {
        log.check(
          results[m].payload === d.expectPayload,
          `${d.name}: Next ${NEXT[m].next} does not reproduce the §1.3 payload byte for byte`,
        )
      }
    }
    return { def: d, payload, sameBytesOn: MAJORS.filter((m) => results[m].payload === payload) }
  })
}

/** node:crypto cross-check of one Next-made payload; returns {plaintext, rows}. */
function checkPlaintext(v, log) {
  const bytes = Buffer.from(v.payload, 'base64')
  log.check(b64(bytes) === v.payload, `${v.def.name}: payload is not canonical padded base64`)
  log.check(bytes.subarray(0, 16).equals(Buffer.from(v.def.iv)), `${v.def.name}: payload does not start with the fixed IV`)
  let plaintext
  try {
    plaintext = openWithNodeCrypto(v.def.key, v.payload)
  } catch (err) {
    log.check(false, `${v.def.name}: node:crypto cannot open Next's payload: ${err.message}`)
    return { plaintext: null, rows: null }
  }
  log.check(plaintext.startsWith(v.def.actionId), `${v.def.name}: plaintext does not start with the action ID`)
  const rows = plaintext.slice(v.def.actionId.length)
  // Payload size (docs/nextjs-internals.md §1): 16 (iv) + 16 (tag) + id + rows.
  const expectLen = 4 * Math.ceil((32 + v.def.actionId.length + Buffer.byteLength(rows)) / 3)
  log.check(v.payload.length === expectLen, `${v.def.name}: payload length ${v.payload.length}, formula says ${expectLen}`)
  return { plaintext, rows }
}

// ---------------------------------------------------------------------------
// Phase 2: decrypt everything with Next on every major

const OPERATION_FAILED = 'The operation failed for an operation-specific reason'
const WRONG_ACTION = 'Invalid Server Action payload: failed to decrypt.'

function reactionMatches(kind, r, baseArgs) {
  switch (kind) {
    case 'accept':
      return r.ok && tagged.canonical(r.args) === tagged.canonical(baseArgs)
    case 'operation-error': // GCM authentication failure, not "data too small"
      return !r.ok && r.errorName === 'OperationError' && r.errorMessage === OPERATION_FAILED
    case 'wrong-action':
      return !r.ok && r.errorName === 'Error' && r.errorMessage === WRONG_ACTION
    case 'reject':
      return !r.ok
    default:
      return fail(`unknown expectNext ${kind}`)
  }
}

/** What Next's decrypt hands the action: the args, unless Flight is lossy for them. */
const expectedDecoded = (def) => def.decodedArgs ?? def.args

const compactReaction = (r) => (r.ok ? 'accepted' : `${r.errorName}: ${r.errorMessage}${r.nextErrorCode ? ` (${r.nextErrorCode})` : ''}`)

// ---------------------------------------------------------------------------
// Fixture entries from the phase-2 reactions

/** Valid vectors: every major must hand back exactly the args we encrypted. */
function buildValid(encrypted, reactions, log) {
  return encrypted.map((v, i) => {
    const decryptedBy = {}
    for (const m of MAJORS) {
      const r = reactions[i][m]
      decryptedBy[m] = reactionMatches('accept', r, expectedDecoded(v.def))
      log.check(
        decryptedBy[m],
        `${v.def.name}: Next ${NEXT[m].next} decrypt → ${r.ok ? 'different args ' + JSON.stringify(r.args).slice(0, 200) : compactReaction(r)}`,
      )
    }
    return {
      name: v.def.name,
      key: v.def.key,
      keyBytes: Buffer.from(v.def.key, 'base64').length,
      actionId: v.def.actionId,
      args: v.def.args,
      ...(v.def.decodedArgs ? { decodedArgs: v.def.decodedArgs } : {}),
      iv: b64(Buffer.from(v.def.iv)),
      payload: v.payload,
      plaintext: v.plaintext,
      rows: v.rows,
      producedBy: v.def.producedBy,
      sameBytesOn: v.sameBytesOn,
      decryptedBy,
    }
  })
}

/** Sealed by the package: every major must accept it with identical args. */
function tallySealed(sealerKind, sealedItems, reactions, log) {
  const out = { sealer: sealerKind, checked: sealedItems.length, acceptedBy: {}, rejected: [] }
  for (const m of MAJORS) out.acceptedBy[m] = 0
  sealedItems.forEach((s, i) => {
    for (const m of MAJORS) {
      const r = reactions[i][m]
      if (reactionMatches('accept', r, expectedDecoded(s.v.def))) {
        out.acceptedBy[m]++
        continue
      }
      out.rejected.push({ name: s.v.def.name, major: m, reaction: r.ok ? { ok: true, argsDiffer: true } : r })
      log.check(false, `sealed ${s.v.def.name}: Next ${NEXT[m].next} → ${compactReaction(r)}`)
    }
  })
  return out
}

/** Negative vectors: Next must react as declared (expectNext) on every major. */
function buildNegative(negatives, reactions, log) {
  return negatives.map((n, i) => {
    const nextReaction = reactions[i]
    for (const m of MAJORS) {
      log.check(
        reactionMatches(n.expectNext, nextReaction[m], expectedDecoded(n.base.def)),
        `negative ${n.name}: Next ${NEXT[m].next} → ${compactReaction(nextReaction[m])}, expected ${n.expectNext}`,
      )
    }
    // Compare name + message only: 15 adds __NEXT_ERROR_CODE (e.g. E191), 14/16 do not.
    const distinct = new Set(MAJORS.map((m) => compactReaction({ ...nextReaction[m], nextErrorCode: undefined })))
    if (distinct.size > 1)
      log.note(`negative ${n.name}: majors differ: ${MAJORS.map((m) => `${m}: ${compactReaction(nextReaction[m])}`).join(' | ')}`)
    const out = {
      name: n.name,
      key: n.key,
      actionId: n.actionId,
      payload: n.payload,
      derivedFrom: n.derivedFrom,
      mutation: n.mutation,
      expectedStatus: n.expectedStatus,
      nextReaction,
    }
    if (n.note) out.note = n.note
    return out
  })
}

// ---------------------------------------------------------------------------
// Main

async function main() {
  const opts = parseCli()
  const log = new CheckLog()
  const sealer = opts.installOnly ? null : loadSealer(opts.sealer) // fail fast, before minutes of installs

  mkdirSync(opts.workDir, { recursive: true })
  console.log(`installing next ${MAJORS.map((m) => NEXT[m].next).join(', ')} under ${opts.workDir} ...`)
  const installList = await Promise.all(MAJORS.map((m) => installNext(opts.workDir, m)))
  const installs = Object.fromEntries(installList.map((i) => [i.major, i]))
  for (const i of installList) console.log(`  next@${NEXT[i.major].next}: ${i.reused ? 'reused' : 'installed'} (${i.dir})`)
  if (opts.installOnly) return

  // Phase 1: Next encrypts every vector on every major (fixed IV).
  const defs = vectorDefs()
  const encrypted = await encryptVectors(installs, defs, log)
  if (encrypted.includes(null)) return finish(log)
  for (const v of encrypted) Object.assign(v, checkPlaintext(v, log))
  if (log.failures.length) return finish(log)

  // Sealed by this package (random IV), for every valid vector.
  const sealedItems = encrypted.map((v) => {
    let payload
    try {
      payload = sealer.seal(v.def.key, v.def.actionId, v.rows)
    } catch (err) {
      fail(`${sealer.kind} sealer threw for ${v.def.name}: ${err.message}`)
    }
    return { key: v.def.key, v, op: { op: 'decrypt', actionId: v.def.actionId, payload } }
  })

  const negatives = negativeDefs(encrypted)

  // Phase 2: one round of children decrypts the valid, sealed and negative payloads.
  const validItems = encrypted.map((v) => ({ key: v.def.key, op: { op: 'decrypt', actionId: v.def.actionId, payload: v.payload } }))
  const negItems = negatives.map((n) => ({ key: n.key, op: { op: 'decrypt', actionId: n.actionId, payload: n.payload } }))
  const allItems = [...validItems, ...sealedItems, ...negItems]
  const reactions = await runOnAllMajors(installs, allItems)
  const validReactions = reactions.slice(0, validItems.length)
  const sealedReactions = reactions.slice(validItems.length, validItems.length + sealedItems.length)
  const negReactions = reactions.slice(validItems.length + sealedItems.length)

  const valid = buildValid(encrypted, validReactions, log)
  const sealedByPackage = tallySealed(sealer.kind, sealedItems, sealedReactions, log)
  // Which of the package's backends sealed ('native' = the Rust core).
  if (sealer.backend) sealedByPackage.backend = sealer.backend
  const negative = buildNegative(negatives, negReactions, log)

  const fixture = {
    meta: {
      generatedBy: 'scripts/gen-vectors.mjs',
      next: Object.fromEntries(MAJORS.map((m) => [m, NEXT[m].next])),
      react: Object.fromEntries(MAJORS.map((m) => [m, NEXT[m].react])),
      node: process.version,
      fields: {
        args: 'tagged JSON (scripts/next-harness/tagged.cjs): JSON values as themselves; {"$tag": "undefined"|"number"|"bigint"|"date"|"map"|"set"|"object", "value"} otherwise',
        decodedArgs:
          'present only where Next (Flight) does not hand the action back `args` exactly; compare decrypted args with decodedArgs ?? args',
        plaintext: 'UTF-8 plaintext of the payload = actionId + rows (checked with node:crypto AES-GCM)',
        sameBytesOn: 'majors whose encrypt, given the same key, action ID and IV, produced exactly this payload',
        nextReaction:
          "Next's decryptActionBoundArgs per major: {ok:true, args} or {ok:false, errorName, errorMessage, nextErrorCode?, causeMessage?}",
      },
      expectedStatus: {
        current: 'authentic for this key and action ID (includes whitespace / unpadded / non-canonical base64 that atob accepts)',
        'unknown-key': 'GCM authentication fails with every key held',
        'wrong-action': 'authentic, but the plaintext is not for this action ID',
        malformed: 'not base64 per atob, or too short to hold iv + tag + action ID',
        'invalid-action-id': 'the action ID is not 40/42 lowercase hex, so next-skew-guard throws ERR_ACTION_ID before reading the payload',
      },
      sealedByPackage,
    },
    valid,
    negative,
  }

  // Never replace a good fixture with one that failed its checks; keep the
  // failed one in the work dir for inspection.
  const target = log.failures.length ? path.join(opts.workDir, 'next-vectors.failed.json') : opts.out
  mkdirSync(path.dirname(target), { recursive: true })
  writeFileSync(target, JSON.stringify(fixture, null, 2) + '\n')
  printSummary(fixture, log, target)
  return finish(log)
}

function printSummary(fixture, log, out) {
  const { valid, negative, meta } = fixture
  console.log(`\nwrote ${path.relative(process.cwd(), out) || out} (${valid.length} valid, ${negative.length} negative)`)
  const produced = MAJORS.map((m) => `${m}: ${valid.filter((v) => v.producedBy === m).length}`).join(', ')
  console.log(`valid vectors produced by   ${produced}`)
  const decrypted = MAJORS.map((m) => `${m}: ${valid.filter((v) => v.decryptedBy[m]).length}/${valid.length}`).join(', ')
  console.log(`valid vectors decrypted by  ${decrypted}`)
  const same = valid.filter((v) => v.sameBytesOn.length === MAJORS.length).length
  console.log(`same payload bytes on all majors (same key, ID, IV): ${same}/${valid.length}`)
  const statuses = {}
  for (const n of negative) statuses[n.expectedStatus] = (statuses[n.expectedStatus] ?? 0) + 1
  console.log(`negative vectors by expectedStatus: ${JSON.stringify(statuses)}`)
  const s = meta.sealedByPackage
  console.log(
    `sealed by ${s.sealer === 'package' ? 'the package' : 'the node:crypto STAND-IN'}: ${s.checked} checked, accepted by ` +
      MAJORS.map((m) => `${m}: ${s.acceptedBy[m]}`).join(', ') +
      `, rejected: ${s.rejected.length}`,
  )
  for (const n of log.notes) console.log(`note: ${n}`)
}

function finish(log) {
  if (log.failures.length) {
    console.error(`\nFAILED: ${log.failures.length} check(s):`)
    for (const f of log.failures.slice(0, 50)) console.error(`  ✗ ${f}`)
    process.exitCode = 1
  } else {
    console.log('\nall checks passed')
  }
}

main().catch((err) => {
  console.error(`gen-vectors: ${err.message}`)
  process.exitCode = 1
})
