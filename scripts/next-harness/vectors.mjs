// Test-vector definitions for scripts/gen-vectors.mjs: the keys, action IDs,
// bound args and IVs of the valid vectors, and the mutations that make the
// negative vectors. Pure data + node:crypto helpers; no Next.js code here.

import { createCipheriv, createDecipheriv, createHash } from 'node:crypto'
import tagged from './tagged.cjs'

// ---------------------------------------------------------------------------
// Helpers

export const b64 = (buf) => Buffer.from(buf).toString('base64')
const sha256 = (s) => createHash('sha256').update(s).digest()
const hex40 = (label) => createHash('sha1').update(`next-skew-guard/action/${label}`).digest('hex')
export const fail = (msg) => {
  throw new Error(msg)
}

function aesGcmAlgo(keyBytes) {
  return { 16: 'aes-128-gcm', 24: 'aes-192-gcm', 32: 'aes-256-gcm' }[keyBytes.length] ?? fail(`bad key length ${keyBytes.length}`)
}

export function sealWithIv(key, actionId, rows, iv) {
  const k = Buffer.from(key, 'base64')
  const c = createCipheriv(aesGcmAlgo(k), k, iv)
  const ct = Buffer.concat([c.update(actionId + rows, 'utf8'), c.final()])
  return b64(Buffer.concat([iv, ct, c.getAuthTag()]))
}

/** Independent check of a payload with node:crypto (not Next's code). */
export function openWithNodeCrypto(key, payload) {
  const k = Buffer.from(key, 'base64')
  const bytes = Buffer.from(payload, 'base64')
  if (bytes.length < 32) fail('payload shorter than iv + tag')
  const d = createDecipheriv(aesGcmAlgo(k), k, bytes.subarray(0, 16))
  d.setAuthTag(bytes.subarray(bytes.length - 16))
  return Buffer.concat([d.update(bytes.subarray(16, bytes.length - 16)), d.final()]).toString('utf8')
}

// ---------------------------------------------------------------------------
// Valid vectors

export const KEYS = {
  // §1.3 keys: 32 × 0x07 (AES-256) and bytes 00..0f (AES-128).
  sevens32: b64(Buffer.alloc(32, 7)),
  seq16: b64(Buffer.from(Array.from({ length: 16 }, (_, i) => i))),
  // Deterministic, non-trivial keys for every AES size.
  k16: b64(sha256('next-skew-guard/key/16').subarray(0, 16)),
  k24: b64(sha256('next-skew-guard/key/24').subarray(0, 24)),
  k32: b64(sha256('next-skew-guard/key/32')),
}
const KEY_ROTATION = [KEYS.k16, KEYS.k24, KEYS.k32, KEYS.seq16, KEYS.sevens32]

// 15/16 IDs start with a byte that encodes the action kind and which
// arguments it uses (see docs/nextjs-internals.md §2); vary it.
const ID42_PREFIXES = ['40', '60', '7f', '00']

const SPEC = [
  {
    name: 'spec-1.3-1-aes256-closure-secret',
    key: KEYS.sevens32,
    actionId: '60c6dd4c8b146d5c3453cdc7c1eb87f87a63a6a732',
    args: ['closure-secret'],
    payload:
      'AAECAwQFBgcICQoLDA0OD5QgrZXDxYX7giXFoiLJTuypjyyDgeKxStw/jQ5zDyTbN/6QgsntvIgJyrCdf7+4wTYLabLIUU87h9RlFd0FF4aSS61k7+1NDMEv2AvNRh0=',
  },
  {
    name: 'spec-1.3-2-aes128-empty',
    key: KEYS.seq16,
    actionId: '00aabbccddeeff00112233445566778899aabbccdd',
    args: [],
    payload: 'AAECAwQFBgcICQoLDA0OD5qY8v/74KqgldxyC+IZmM910I6R+mr5VBIU5tPSotNId7jRoO+5wwMi2Hw06ufMXqgV21YMDqMtuxVcoT8RLA==',
  },
]

/** 64 KiB of printable ASCII, including `$`, `"` and `\` (which Flight/JSON escape). */
function string64k() {
  let s = ''
  for (let i = 0; i < 65536; i++) s += String.fromCharCode(32 + ((i * 7) % 95))
  return s
}

/** Bound-args cases; each becomes a 40-char-ID vector (Next 14) and a 42-char one (15 or 16). */
function argCases() {
  return [
    ['empty', () => []],
    ['string', () => ['closure-secret']],
    ['unicode-cjk', () => ['日本語のテキスト', '中文字符', '한국어', '𠮷野家']],
    ['unicode-emoji', () => ['👋🏽', '👨‍👩‍👧‍👦', '🇺🇳', 'a😀b']],
    ['unicode-combining', () => ['e\u0301', 'A\u030A', 'Z\u0351\u0352\u0353\u0354', '\u0915\u094D\u0937']],
    ['numbers', () => [0, -0, 1.5, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, -1e-7, 1e21]],
    ['bigint', () => [0n, 10n, -12345678901234567890123n]],
    ['date', () => [new Date(0), new Date('2024-02-29T12:34:56.789Z'), new Date(-1)]],
    [
      'map',
      () => [
        new Map([
          ['k', 1],
          ['nested', { a: [1, 2] }],
          [2, 'two'],
        ]),
      ],
    ],
    ['set', () => [new Set([1, 'two', 3n])]],
    [
      'nested',
      () => [
        {
          user: {
            id: 7,
            tags: ['a', 'b'],
            profile: {
              name: 'Ada',
              langs: [
                ['en', 1],
                ['fr', 2],
              ],
            },
          },
          empty: {},
        },
        [[1, [2, [3, []]]]],
      ],
    ],
    // Flight writes {a: undefined} as {"a":"$undefined"}, but its decoder's
    // JSON reviver returns undefined for it, which DELETES the property: Next
    // hands the action {b: 1}. The third element says what comes back.
    ['undefined', () => [undefined, { a: undefined, b: 1 }, [undefined, null]], () => [undefined, { b: 1 }, [undefined, null]]],
    ['dollar', () => ['$', '$$x', '$undefined', '$1', 'price: $5', '$@1', 'a$b']],
    ['primitives', () => [true, false, null, '', 'line\nbreak "quoted" \\ back\ttab', 0]],
    // The row observed in a production build (docs/nextjs-internals.md §1).
    ['rich-mix', () => [undefined, new Date(0), 10n, new Map([['k', 1]]), new Set([1]), -0, NaN, Infinity, '$x', 1.5]],
    ['string-64k', () => [string64k()]],
  ]
}

function ivFor(name) {
  return [...sha256(`next-skew-guard/iv/${name}`).subarray(0, 16)]
}

export function vectorDefs() {
  const defs = SPEC.map((s) => ({
    name: s.name,
    key: s.key,
    actionId: s.actionId,
    args: tagged.encode(s.args),
    iv: Array.from({ length: 16 }, (_, i) => i),
    producedBy: '16',
    expectPayload: s.payload,
  }))
  argCases().forEach(([caseName, build, decoded], i) => {
    const common = { args: tagged.encode(build()), decodedArgs: decoded ? tagged.encode(decoded()) : undefined }
    defs.push({
      name: `next14-id40-${caseName}`,
      key: KEY_ROTATION[i % KEY_ROTATION.length],
      actionId: hex40(caseName),
      producedBy: '14',
      ...common,
    })
    defs.push({
      name: `next${i % 2 ? 16 : 15}-id42-${caseName}`,
      // Offset the rotation so each case uses different keys for 40 and 42.
      key: KEY_ROTATION[(i + 2) % KEY_ROTATION.length],
      actionId: ID42_PREFIXES[i % ID42_PREFIXES.length] + hex40(`${caseName}/42`),
      producedBy: i % 2 ? '16' : '15',
      ...common,
    })
  })
  for (const d of defs) d.iv ??= ivFor(d.name)
  return defs
}

// ---------------------------------------------------------------------------
// Negative vectors

const flipBit = (payload, byteIndex, mask) => {
  const bytes = Buffer.from(payload, 'base64')
  const i = byteIndex < 0 ? bytes.length + byteIndex : byteIndex
  bytes[i] ^= mask
  return b64(bytes)
}
const truncateBytes = (payload, n) => b64(Buffer.from(payload, 'base64').subarray(0, n))
const replaceCharAt = (s, i, ch) => s.slice(0, i) + ch + s.slice(i + 1)
const insertAt = (s, i, ins) => s.slice(0, i) + ins + s.slice(i)
const everyN = (s, n, sep) => s.match(new RegExp(`.{1,${n}}`, 'gs')).join(sep)
const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** Change only the bits atob discards in the last data char before '=='/'='. */
function nonCanonicalTrailingBits(payload) {
  const pad = payload.endsWith('==') ? 2 : payload.endsWith('=') ? 1 : fail('needs a padded payload')
  const i = payload.length - pad - 1
  // Before '==' the low 4 bits of this char are unused, before '=' the low 2:
  // flipping bit 0 changes the text but not the decoded bytes.
  return replaceCharAt(payload, i, B64_ALPHABET[B64_ALPHABET.indexOf(payload[i]) ^ 1])
}

/**
 * Each negative: the key and action ID our verifier is given, a payload, what
 * it is derived from, and the status we expect our verifier to report.
 * `expectNext` says what Next must do on every major for the run to pass:
 * 'accept' (same args as the base), 'operation-error', 'wrong-action', 'reject'.
 */
export function negativeDefs(vectors) {
  const byName = (n) => vectors.find((v) => v.def.name === n) ?? fail(`no vector ${n}`)
  const A = byName('spec-1.3-1-aes256-closure-secret') // ends with one '=', contains '+' and '/'
  const B = byName('spec-1.3-2-aes128-empty') // ends with '=='
  const N14 = vectors.find((v) => v.def.producedBy === '14' && v.def.key === KEYS.k24) ?? fail('no 14 vector with k24')
  if (!A.payload.endsWith('=') || A.payload.endsWith('==') || !B.payload.endsWith('=='))
    fail('padding assumptions about §1.3 payloads broke')
  const mid = (p) => Math.floor(p.length / 2) & ~3 // a quantum boundary in the middle

  const neg = []
  const add = (name, base, fields) =>
    neg.push({ name, key: base.def.key, actionId: base.def.actionId, derivedFrom: base.def.name, base, ...fields })

  // --- GCM authentication failures: unknown-key
  add('wrong-key-aes128-for-aes256-payload', A, {
    key: KEYS.seq16,
    payload: A.payload,
    mutation: 'decrypt with another key (16 bytes) than the one it was sealed with (32 bytes)',
    expectedStatus: 'unknown-key',
    expectNext: 'operation-error',
  })
  add('wrong-key-same-size', A, {
    key: KEYS.k32,
    payload: A.payload,
    mutation: 'decrypt with another 32-byte key',
    expectedStatus: 'unknown-key',
    expectNext: 'operation-error',
  })
  add('wrong-key-next14-id40', N14, {
    key: KEYS.k16,
    payload: N14.payload,
    mutation: 'decrypt a Next 14 payload (40-char ID, 24-byte key) with a 16-byte key',
    expectedStatus: 'unknown-key',
    expectNext: 'operation-error',
  })
  add('iv-bit-flip', A, {
    payload: flipBit(A.payload, 0, 0x01),
    mutation: 'flip bit 0x01 of decoded byte 0 (IV)',
    expectedStatus: 'unknown-key',
    expectNext: 'operation-error',
  })
  add('iv-last-byte-flip', A, {
    payload: flipBit(A.payload, 15, 0x80),
    mutation: 'flip bit 0x80 of decoded byte 15 (last IV byte; a 12-byte-IV implementation would miss it)',
    expectedStatus: 'unknown-key',
    expectNext: 'operation-error',
  })
  add('ciphertext-bit-flip', A, {
    payload: flipBit(A.payload, 16, 0x01),
    mutation: 'flip bit 0x01 of decoded byte 16 (first ciphertext byte)',
    expectedStatus: 'unknown-key',
    expectNext: 'operation-error',
  })
  add('tag-bit-flip', A, {
    payload: flipBit(A.payload, -1, 0x80),
    mutation: 'flip bit 0x80 of the last decoded byte (tag)',
    expectedStatus: 'unknown-key',
    expectNext: 'operation-error',
  })
  add('truncated-drop-last-byte', A, {
    payload: truncateBytes(A.payload, Buffer.from(A.payload, 'base64').length - 1),
    mutation: 'drop the last decoded byte (tag is now misaligned; still long enough to hold iv + tag + id)',
    expectedStatus: 'unknown-key',
    expectNext: 'operation-error',
  })

  // --- right key, plaintext not for this action: wrong-action
  add('other-action-id42', A, {
    actionId: B.def.actionId,
    payload: A.payload,
    mutation: `right key, verified against another 42-char action ID (${B.def.actionId})`,
    expectedStatus: 'wrong-action',
    expectNext: 'wrong-action',
  })
  add('other-action-id40-next14', N14, {
    actionId: hex40('some-other-action'),
    payload: N14.payload,
    mutation: 'right key, Next 14 payload verified against another 40-char action ID',
    expectedStatus: 'wrong-action',
    expectNext: 'wrong-action',
  })
  add('action-id-uppercase', A, {
    actionId: A.def.actionId.toUpperCase(),
    payload: A.payload,
    mutation: 'right key, the same action ID in upper case (IDs are compared byte for byte)',
    expectedStatus: 'invalid-action-id',
    note: 'Next would report a failed decrypt; next-skew-guard refuses the ID itself (ERR_ACTION_ID): Next.js IDs are lowercase hex.',
    expectNext: 'wrong-action',
  })
  add('action-id-40-prefix-of-42', A, {
    actionId: A.def.actionId.slice(0, 40),
    payload: A.payload,
    mutation: 'right key, verified against the first 40 chars of its 42-char ID',
    expectedStatus: 'current',
    expectNext: 'reject',
    note:
      'Next only checks plaintext.startsWith(actionId), so its prefix check PASSES here; the 2 leftover ID chars ' +
      'then corrupt the first Flight row id and Flight rejects. next-skew-guard makes the same prefix check and ' +
      'does not parse Flight rows, so it reports current. A 40-char ID reaches only a Next.js 14 server, which ' +
      'never sees 42-char-ID payloads.',
  })
  add('action-id-extended-into-row-id', A, {
    actionId: A.def.actionId + '0',
    payload: A.payload,
    mutation: "right key, verified against its ID plus the next plaintext char ('0', the first Flight row id)",
    expectedStatus: 'invalid-action-id',
    expectNext: 'accept',
    note:
      "Next ACCEPTS this: startsWith(id + '0') holds, and Flight parses the leftover ':[...]' as row 0 (an empty " +
      'hex row id reads as 0). The 43-char ID fits no Next version (40 or 42 hex), so a verifier may also ' +
      'refuse the ID itself; it must not report current.',
  })

  // --- structurally impossible: malformed
  add('truncated-iv-plus-8', A, {
    payload: truncateBytes(A.payload, 24),
    mutation: 'keep the IV and 8 more bytes (fewer than 16 after the IV: no room for a tag)',
    expectedStatus: 'malformed',
    expectNext: 'reject',
  })
  add('truncated-iv-plus-16', A, {
    payload: truncateBytes(A.payload, 32),
    mutation: 'keep the IV and exactly 16 more bytes (a tag with an empty ciphertext)',
    expectedStatus: 'malformed',
    expectNext: 'operation-error',
    note:
      'Next reports a GCM tag failure (OperationError) here. A verifier knows the plaintext must hold the ' +
      'action ID, so anything shorter than 16 + 16 + actionId.length bytes is malformed before any crypto.',
  })
  add('truncated-iv-only', A, {
    payload: truncateBytes(A.payload, 16),
    mutation: 'only the 16 IV bytes',
    expectedStatus: 'malformed',
    expectNext: 'reject',
  })
  add('empty-string', A, {
    payload: '',
    mutation: 'empty payload',
    expectedStatus: 'malformed',
    expectNext: 'reject',
  })
  for (const [label, ch] of [
    ['dash', '-'],
    ['underscore', '_'],
    ['bang', '!'],
  ]) {
    add(`non-base64-${label}`, A, {
      payload: replaceCharAt(A.payload, mid(A.payload), ch),
      mutation: `replace the char at ${mid(A.payload)} with ${JSON.stringify(ch)}`,
      expectedStatus: 'malformed',
      expectNext: 'reject',
    })
  }
  add('base64url-alphabet', A, {
    payload: A.payload.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''),
    mutation: "re-encode as base64url ('+' → '-', '/' → '_', no padding); atob does not accept it",
    expectedStatus: 'malformed',
    expectNext: 'reject',
  })
  add('json-quoted', A, {
    payload: JSON.stringify(A.payload),
    mutation: 'the multipart field value as sent (a JSON string literal, quotes included), not JSON.parse()d',
    expectedStatus: 'malformed',
    expectNext: 'reject',
  })
  add('vertical-tab-inserted', A, {
    payload: insertAt(A.payload, mid(A.payload), '\v'),
    mutation: 'insert U+000B (vertical tab), which is not ASCII whitespace for atob',
    expectedStatus: 'malformed',
    expectNext: 'reject',
  })
  add('nbsp-inserted', A, {
    payload: insertAt(A.payload, mid(A.payload), '\u00a0'),
    mutation: 'insert U+00A0 (no-break space)',
    expectedStatus: 'malformed',
    expectNext: 'reject',
  })
  add('extra-padding', A, {
    payload: A.payload + '=',
    mutation: "append one more '='",
    expectedStatus: 'malformed',
    expectNext: 'reject',
  })
  add('padding-in-middle', A, {
    payload: insertAt(A.payload, mid(A.payload), '=='),
    mutation: "insert '==' at a quantum boundary in the middle",
    expectedStatus: 'malformed',
    expectNext: 'reject',
  })
  add('length-mod-4-is-1', A, {
    payload: A.payload.replace(/=+$/, '').slice(0, -2),
    mutation: 'drop the padding and two more chars (length % 4 == 1 is never valid base64)',
    expectedStatus: 'malformed',
    expectNext: 'reject',
  })

  // --- atob accepts these: same bytes as the base, so current
  add('whitespace-space-inserted', A, {
    payload: insertAt(A.payload, mid(A.payload), ' '),
    mutation: "insert one ' ' in the middle (atob strips ASCII whitespace)",
    expectedStatus: 'current',
    expectNext: 'accept',
  })
  add('whitespace-mime-crlf', A, {
    payload: everyN(A.payload, 76, '\r\n'),
    mutation: 'wrap at 76 chars with CRLF (MIME style)',
    expectedStatus: 'current',
    expectNext: 'accept',
  })
  add('whitespace-tab-lf-ff', A, {
    payload: '\t' + insertAt(insertAt(A.payload, 40, '\f'), 20, '\n') + '\n',
    mutation: 'leading tab, LF and form feed inside, trailing LF (all ASCII whitespace for atob)',
    expectedStatus: 'current',
    expectNext: 'accept',
  })
  add('missing-padding-1', A, {
    payload: A.payload.slice(0, -1),
    mutation: "drop the single trailing '=' (atob accepts unpadded input)",
    expectedStatus: 'current',
    expectNext: 'accept',
  })
  add('missing-padding-2', B, {
    payload: B.payload.slice(0, -2),
    mutation: "drop the trailing '=='",
    expectedStatus: 'current',
    expectNext: 'accept',
  })
  add('non-canonical-trailing-bits', B, {
    payload: nonCanonicalTrailingBits(B.payload),
    mutation: "change a bit atob discards in the last char before '==' (same decoded bytes)",
    expectedStatus: 'current',
    expectNext: 'accept',
    note: 'Strict decoders (e.g. the Rust base64 crate by default) reject non-zero trailing bits; atob does not.',
  })

  // --- authentic ciphertext whose rows Next's Flight decoder refuses
  add('empty-rows-sealed', A, {
    payload: sealWithIv(A.def.key, A.def.actionId, '', Buffer.alloc(16, 0xa5)),
    mutation: 'sealed with node:crypto (IV 16 × 0xa5) with the right key and ID but no Flight rows after the ID',
    expectedStatus: 'current',
    expectNext: 'reject',
    note:
      'Cryptographically authentic and bound to this action, so a verifier that does not parse Flight reports ' +
      'current; Next itself then fails in Flight (no root row).',
  })
  return neg
}
