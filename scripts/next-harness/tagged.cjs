'use strict'
// Tagged JSON encoding for Server Action bound args.
//
// The fixture and the parent<->child job protocol are JSON, but bound args can
// hold values JSON cannot represent (-0, NaN, ±Infinity, BigInt, Date, Map,
// Set, undefined). Those are written as `{ "$tag": <kind>, "value": ... }`.
// Everything JSON can carry losslessly (strings, booleans, null, finite
// numbers other than -0, arrays, plain objects) is written as itself, so the
// fixture stays readable. A plain object that happens to own a `$tag` key is
// wrapped as `{ "$tag": "object", "value": {...} }` so decoding is unambiguous.
//
// Shared by scripts/gen-vectors.mjs (ESM, via default import) and
// scripts/next-harness/child.cjs.

const TAG = '$tag'

function encodeNumber(n) {
  if (Object.is(n, -0)) return { [TAG]: 'number', value: '-0' }
  if (Number.isNaN(n)) return { [TAG]: 'number', value: 'NaN' }
  if (n === Infinity) return { [TAG]: 'number', value: 'Infinity' }
  if (n === -Infinity) return { [TAG]: 'number', value: '-Infinity' }
  return n
}

function isPlainObject(v) {
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** Turn a live JS value into its tagged-JSON description. */
function encode(v) {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (v === undefined) return { [TAG]: 'undefined' }
  if (typeof v === 'number') return encodeNumber(v)
  if (typeof v === 'bigint') return { [TAG]: 'bigint', value: v.toString() }
  if (v instanceof Date) {
    return { [TAG]: 'date', value: Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString() }
  }
  if (v instanceof Map) return { [TAG]: 'map', value: [...v].map(([k, x]) => [encode(k), encode(x)]) }
  if (v instanceof Set) return { [TAG]: 'set', value: [...v].map(encode) }
  if (Array.isArray(v)) return Array.from(v, encode)
  if (typeof v === 'object' && isPlainObject(v)) {
    const out = {}
    for (const k of Object.keys(v)) out[k] = encode(v[k])
    return Object.hasOwn(v, TAG) ? { [TAG]: 'object', value: out } : out
  }
  // Anything else (functions, promises, class instances, symbols) cannot be a
  // plain bound arg in our vectors; record what it was instead of guessing.
  const kind = typeof v === 'object' ? v.constructor?.name || 'object' : typeof v
  return { [TAG]: 'unsupported', value: kind }
}

function decodeNumber(s) {
  switch (s) {
    case '-0':
      return -0
    case 'NaN':
      return NaN
    case 'Infinity':
      return Infinity
    case '-Infinity':
      return -Infinity
    default:
      throw new Error(`tagged: unknown number ${JSON.stringify(s)}`)
  }
}

function decodeTagged(t) {
  switch (t[TAG]) {
    case 'undefined':
      return undefined
    case 'number':
      return decodeNumber(t.value)
    case 'bigint':
      return BigInt(t.value)
    case 'date':
      return new Date(t.value === 'Invalid Date' ? NaN : t.value)
    case 'map':
      return new Map(t.value.map(([k, x]) => [decode(k), decode(x)]))
    case 'set':
      return new Set(t.value.map(decode))
    case 'object':
      return decodeObject(t.value)
    default:
      throw new Error(`tagged: cannot build a value for tag ${JSON.stringify(t[TAG])}`)
  }
}

function decodeObject(o) {
  const out = {}
  for (const k of Object.keys(o)) out[k] = decode(o[k])
  return out
}

/** Build the live JS value described by a tagged-JSON description. */
function decode(t) {
  if (t === null || typeof t !== 'object') return t
  if (Array.isArray(t)) return t.map(decode)
  if (Object.hasOwn(t, TAG)) return decodeTagged(t)
  return decodeObject(t)
}

/** Canonical string for deep-equality of two tagged descriptions. */
function canonical(t) {
  return JSON.stringify(t)
}

module.exports = { encode, decode, canonical, TAG }
