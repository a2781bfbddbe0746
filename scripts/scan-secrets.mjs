#!/usr/bin/env node
// Secret scan: proves that no test key (and no decrypted test payload) ever
// reaches runtime output — the test run's log, the end-to-end servers' and
// builds' logs, benchmark output.
//
//   node scripts/scan-secrets.mjs [options] <file or directory>...
//
//   --e2e           also scan os.tmpdir()/nsg-e2e/*/logs*/ and look for the keys
//                   of the builds made there (their server-reference-manifest.json)
//   --builds DIR    look for the keys of the Next.js builds under DIR (repeatable)
//   --keys-file F   also look for the base64 keys listed in F, one a line (the keys a test run
//                   generated: scripts/test-log.mjs records them)
//   --no-repo-keys  skip the keys written in this repository's tests and fixtures
//   --list-keys     print the labels (check values) of the keys searched for, then scan
//
// Exit codes: 0 clean, 1 something found (each hit printed as file:line with the key's
// check value, never the key), 2 usage error or nothing to scan.
//
// What is searched for, per key: base64 (unpadded, canonical and as the tests write it),
// base64url, hex (lower and upper case), `util.inspect(Buffer)` spaced hex and a byte list. Per test payload of
// __test__/fixtures/next-vectors.json: its plaintext (action ID + Flight rows).
//
// Keys: every key literal in the repository's tests, scripts, fixtures and Rust sources; with
// --e2e, the keys of the end-to-end builds; with --keys-file, the keys a test run generated
// (recorded by scripts/test-log.mjs). `node scripts/test-log.mjs <command>` wires all three up.
//
// Source files are not scanned: tests and fixtures must contain their keys. Output of
// `next-skew-guard keygen` needs no exception either: it prints a fresh random key, which
// is never one of the keys searched for. A test key in keygen-shaped output is a leak.

import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Where this repository writes test keys: tests, scripts, fixtures, benchmarks, the Rust tests. */
const KEY_SOURCES = ['__test__', 'scripts', 'benchmark', 'examples', 'src']
const SOURCE_EXT = /\.(?:[cm]?js|tsx?|rs|json)$/
const SKIP_DIRS = new Set(['node_modules', '.git', 'target', 'dist'])
const MAX_DEPTH = 8
/** Larger files are scanned too, in full; this only bounds the walk of key sources. */
const MAX_SOURCE_BYTES = 4 * 1024 * 1024

/** A quoted literal of key shape: 16 bytes = 22 (+2 `=`), 24 bytes = 32, 32 bytes = 43 (+1 `=`) characters. */
const KEY_LITERAL = /(?<=["'`])(?:[A-Za-z0-9+/]{22}(?:==)?|[A-Za-z0-9+/]{32}|[A-Za-z0-9+/]{43}=?)(?=["'`])/g

/** Node's `atob`-compatible decode of canonical-alphabet text; null unless 16, 24 or 32 bytes. */
function keyBytes(text) {
  const bytes = Buffer.from(text, 'base64')
  if (![16, 24, 32].includes(bytes.length)) return null
  // Buffer.from skips junk; accept only text that is exactly these bytes in base64.
  if (bytes.toString('base64').replace(/=+$/, '').slice(0, -1) !== text.replace(/=+$/, '').slice(0, -1)) return null
  return bytes
}

/** The classic key check value (AES-ECB of the zero block, 3 bytes): the same label the package prints. */
async function checkValue(bytes) {
  const { createCipheriv } = await import('node:crypto')
  const cipher = createCipheriv(`aes-${bytes.length * 8}-ecb`, bytes, null).setAutoPadding(false)
  return cipher.update(Buffer.alloc(16)).subarray(0, 3).toString('hex')
}

function* walk(dir, depth = 0) {
  if (depth > MAX_DEPTH) return
  let entries
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.next')) yield* walk(full, depth + 1)
    } else if (entry.isFile()) {
      yield full
    }
  }
}

/**
 * Key literals in the repository's tests and sources. Left out: pure-hex literals (a
 * 32-character hash or ID is valid base64 but never meant as a key) and literals without a
 * digit, `+`, `/` or `=` (identifiers such as `decryptActionBoundArgs` have key length; a
 * random key lacks all four with odds of about 1 in 100). In JSON fixtures only the values of
 * key fields count: their IVs have key length too, and every payload starts with its IV.
 */
function repoKeys() {
  const found = new Map()
  const add = (literal, file) => {
    const bytes = keyBytes(literal)
    if (bytes && !found.has(bytes.toString('hex')))
      found.set(bytes.toString('hex'), { bytes, origin: `from ${path.relative(root, file)}`, literals: new Set() })
    if (bytes) found.get(bytes.toString('hex')).literals.add(literal)
  }
  for (const top of KEY_SOURCES) {
    for (const file of walk(path.join(root, top))) {
      if (!SOURCE_EXT.test(file) || fs.statSync(file).size > MAX_SOURCE_BYTES) continue
      const text = fs.readFileSync(file, 'utf8')
      if (file.endsWith('.json')) {
        let json
        try {
          json = JSON.parse(text)
        } catch {
          continue
        }
        for (const value of keyFieldValues(json)) add(value.trim(), file)
        continue
      }
      for (const [literal] of text.matchAll(KEY_LITERAL)) {
        if (/^[0-9a-f]+$/i.test(literal.replace(/=+$/, '')) || !/[0-9+/=]/.test(literal)) continue
        add(literal, file)
      }
    }
  }
  return found
}

const KEY_FIELD = /^(?:key|keys|current|previous|encryptionKey)$/i

/** String values of key-named fields, anywhere in a JSON document. */
function* keyFieldValues(value, depth = 0) {
  if (depth > 32 || value === null || typeof value !== 'object') return
  for (const [name, v] of Object.entries(value)) {
    if (KEY_FIELD.test(name)) {
      for (const item of [v].flat()) if (typeof item === 'string') yield item
    } else {
      yield* keyFieldValues(v, depth + 1)
    }
  }
}

/** Keys Next.js builds wrote into their manifests (the e2e suites generate theirs per run). */
function buildKeys(dir) {
  const found = new Map()
  for (const file of walkBuilds(dir)) {
    try {
      const { encryptionKey } = JSON.parse(fs.readFileSync(file, 'utf8'))
      const bytes = typeof encryptionKey === 'string' ? keyBytes(encryptionKey.trim()) : null
      if (bytes) found.set(bytes.toString('hex'), { bytes, origin: `from ${path.relative(dir, file)}` })
    } catch {
      // A build being written right now: nothing to learn from it.
    }
  }
  return found
}

/** `<build>/server/server-reference-manifest.json` of every `.next*` directory under `dir`. */
function* walkBuilds(dir, depth = 0) {
  if (depth > 4) return
  let entries
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === 'node_modules') continue
    const full = path.join(dir, entry.name)
    if (entry.name.startsWith('.next')) {
      const manifest = path.join(full, 'server', 'server-reference-manifest.json')
      if (fs.existsSync(manifest)) yield manifest
    } else {
      yield* walkBuilds(full, depth + 1)
    }
  }
}

/** The plaintexts of the fixture payloads: action ID + rows. */
function payloadMarkers() {
  const file = path.join(root, '__test__', 'fixtures', 'next-vectors.json')
  if (!fs.existsSync(file)) return []
  const { valid = [] } = JSON.parse(fs.readFileSync(file, 'utf8'))
  const markers = new Map()
  for (const v of valid) {
    if (typeof v.plaintext === 'string' && v.plaintext.length >= 48) {
      markers.set(v.plaintext, `plaintext of test payload "${v.name}"`)
    }
  }
  return [...markers].map(([needle, label]) => ({ needle, label }))
}

/**
 * Every textual form a key may take in output: canonical base64 without padding (a 16-byte
 * key is also the first 22 characters of any payload whose IV it equals, so the whole text
 * is searched, never a prefix), each form the repository writes it in (with whitespace or
 * stray trailing bits), base64url, hex, `util.inspect(Buffer)` spaced hex and a byte list.
 */
function keyForms(bytes, literals = []) {
  const b64 = bytes.toString('base64').replace(/=+$/, '')
  const hex = bytes.toString('hex')
  const forms = [
    ['base64', b64],
    ...[...literals].map((l) => ['base64 as written in the tests', l.replace(/=+$/, '')]),
    ['base64url', b64.replace(/\+/g, '-').replace(/\//g, '_')],
    ['hex', hex],
    ['HEX', hex.toUpperCase()],
    ['inspected bytes', hex.replace(/(..)(?!$)/g, '$1 ')],
    ['byte list', [...bytes].join(',')],
  ]
  const unique = new Map()
  for (const [form, needle] of forms) if (!unique.has(needle)) unique.set(needle, form)
  return [...unique].map(([needle, form]) => ({ needle, form }))
}

function* scanTargets(paths) {
  for (const p of paths) {
    let stat
    try {
      stat = fs.statSync(p)
    } catch {
      continue
    }
    if (stat.isFile()) yield p
    else if (stat.isDirectory()) yield* walk(p)
  }
}

/** Logs directories of the end-to-end work copies (next-14, next-16, …; logs, logs-demo, …). */
function e2eLogDirs(e2eRoot) {
  const dirs = []
  for (const version of safeList(e2eRoot)) {
    for (const name of safeList(path.join(e2eRoot, version))) {
      if (name.startsWith('logs')) dirs.push(path.join(e2eRoot, version, name))
    }
  }
  return dirs
}

function safeList(dir) {
  try {
    return fs.readdirSync(dir)
  } catch {
    return []
  }
}

/** Scans `paths` for `needles`; returns the hits (file, line, label) and what was scanned. */
export function scan(paths, needles) {
  const hits = []
  let files = 0
  let bytes = 0
  for (const file of scanTargets(paths)) {
    const text = fs.readFileSync(file).toString('latin1')
    files++
    bytes += text.length
    for (const { needle, label } of needles) {
      for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
        const line = text.slice(0, at).split('\n').length
        hits.push({ file, line, label })
      }
    }
  }
  return { hits, files, bytes }
}

/** The needles for a set of keys (labelled by check value) plus the payload markers. */
export async function needlesFor(keys, { payloads = true } = {}) {
  const needles = []
  for (const key of keys.values()) {
    const { bytes, origin } = key
    const kcv = await checkValue(bytes)
    for (const { needle, form } of keyForms(bytes, key.literals)) {
      needles.push({ needle, label: `test key ${kcv} (${bytes.length} bytes, ${origin}) as ${form}`, kcv })
    }
  }
  if (payloads) needles.push(...payloadMarkers())
  return needles
}

/** Keys listed one a line in `file` (a missing file lists none: the run generated no key). */
function fileKeys(file) {
  const found = new Map()
  let text = ''
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return found
  }
  for (const line of text.split('\n')) {
    const bytes = keyBytes(line.trim())
    if (bytes) found.set(bytes.toString('hex'), { bytes, origin: 'generated during the run' })
  }
  return found
}

/** Collects the keys: the repository's (default), those of builds under `buildDirs`, those in `keyFiles`. */
export function collectKeys({ repo = true, buildDirs = [], keyFiles = [] } = {}) {
  const keys = repo ? repoKeys() : new Map()
  const more = [...buildDirs.map(buildKeys), ...keyFiles.map(fileKeys)]
  for (const found of more) for (const [hex, key] of found) if (!keys.has(hex)) keys.set(hex, key)
  return keys
}

/** Relative to the working directory when inside it, else absolute. */
function displayPath(file) {
  const rel = path.relative(process.cwd(), file)
  return rel && !rel.startsWith('..') ? rel : path.resolve(file)
}

export const E2E_ROOT = path.join(os.tmpdir(), 'nsg-e2e')

/** The whole scan as the CLI runs it; returns the exit code. */
export async function main(argv, { log = console.log, error = console.error } = {}) {
  const paths = []
  const buildDirs = []
  const keyFiles = []
  let repo = true
  let listKeys = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--e2e') {
      buildDirs.push(E2E_ROOT)
      paths.push(...e2eLogDirs(E2E_ROOT))
    } else if (arg === '--builds') {
      if (!argv[i + 1]) return (error('scan-secrets: --builds needs a directory'), 2)
      buildDirs.push(argv[++i])
    } else if (arg === '--keys-file') {
      if (!argv[i + 1]) return (error('scan-secrets: --keys-file needs a file'), 2)
      keyFiles.push(argv[++i])
    } else if (arg === '--no-repo-keys') {
      repo = false
    } else if (arg === '--list-keys') {
      listKeys = true
    } else if (arg.startsWith('-')) {
      return (error(`scan-secrets: unknown option ${arg}`), 2)
    } else {
      paths.push(arg)
    }
  }
  if (paths.length === 0) return (error('scan-secrets: nothing to scan (give files or directories, or --e2e)'), 2)
  const keys = collectKeys({ repo, buildDirs, keyFiles })
  const needles = await needlesFor(keys)
  if (listKeys) {
    const labels = [...new Set(needles.map((n) => n.label.replace(/ as .*$/, '')))]
    for (const label of labels) log(`  ${label}`)
  }
  const { hits, files, bytes } = scan(paths, needles)
  const fingerprint = createHash('sha256')
    .update(needles.map((n) => n.needle).join('\0'))
    .digest('hex')
    .slice(0, 12)
  log(
    `scan-secrets: ${files} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB scanned for ${keys.size} keys ` +
      `(${needles.length} forms and payload markers, set ${fingerprint}): ${hits.length ? `${hits.length} found` : 'clean'}`,
  )
  for (const hit of hits) error(`${displayPath(hit.file)}:${hit.line}: ${hit.label}`)
  return hits.length ? 1 : 0
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2))
}
