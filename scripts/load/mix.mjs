// The request mix of the load run: every kind of Server Action request a guarded server meets after
// a redeploy, in Next.js's own wire format, each with the one answer the guard's documented
// behaviour (README, "proxy.ts" table) allows for it.
//
// The server under load is build v2, started with a rotated runtime key (`keys.runtime`) and the
// build's key as its previous key (SKEW_GUARD_PREVIOUS_KEYS), policy 'reload-after'.
import { randomBytes } from 'node:crypto'

const BOUNDARY = '----nsg-load-boundary'

/** A multipart body as React's client sends it for a closure call: field `1` the payload, `0` the args. */
export function closureBody(payload, args = []) {
  const part = (name, value) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  return part('1', JSON.stringify(payload)) + part('0', JSON.stringify(['$@1', ...args])) + `--${BOUNDARY}--\r\n`
}

const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`
const FLIGHT = 'text/x-component'

/** The value a safe action returned, from the Flight answer of a JS call (row 1). */
function resultOf(body) {
  const match = /^1:(\{.*\})$/m.exec(body)
  if (!match) return null
  try {
    return JSON.parse(match[1])
  } catch {
    return null
  }
}

/**
 * The kinds, each `{ kind, why, requests: [{ variant, method, path, headers, body }], expect }`.
 * `expect(status, headers, body, variant)` returns a short label of the answer when it is the
 * expected one, or null. Headers are lower-case (autocannon's onResponse gives them as sent).
 *
 * @param {object} o
 * @param {{ buildId: string, actions: Record<string, string> }} o.v1  the previous deploy
 * @param {{ buildId: string, actions: Record<string, string> }} o.v2  the deploy under load
 * @param {{ current: string, previous: string, foreign: string }} o.payloads  sealed closure arguments
 *   of v2's readNote: under the runtime key, under the previous key, under a key the server never had
 */
export function requestKinds({ v1, v2, payloads }) {
  const closure = v2.actions.readNote
  const call = (actionId, args, extra = {}) => ({
    method: 'POST',
    path: '/',
    headers: { 'next-action': actionId, accept: FLIGHT, 'content-type': 'text/plain;charset=UTF-8', ...extra },
    body: JSON.stringify(args),
  })
  const closureCall = (payload, extra = {}) => ({
    method: 'POST',
    path: '/',
    headers: { 'next-action': closure, accept: FLIGHT, 'content-type': MULTIPART, 'x-skew-guard-build': v2.buildId, ...extra },
    body: closureBody(payload),
  })
  const refused = (verdict) => (status, headers) =>
    status === 409 && headers['x-skew-guard'] === verdict && headers['x-nextjs-action-not-found'] === '1' ? `409 ${verdict}` : null
  const ran = (status, _headers, body) => {
    const result = resultOf(body)
    return status === 200 && result?.success === true && result.buildId === v2.buildId
  }

  return [
    {
      kind: 'valid call',
      why: 'a v2 page calls a v2 action: runs, no verdict',
      requests: [{ variant: 'shout', ...call(v2.actions.shout, ['load'], { 'x-skew-guard-build': v2.buildId }) }],
      expect: (status, headers, body) => (ran(status, headers, body) && !headers['x-skew-guard'] ? '200 ran' : null),
    },
    {
      kind: 'valid closure',
      why: 'a v2 page calls its inline closure, arguments sealed with the runtime key: runs, no verdict',
      requests: [{ variant: 'current key', ...closureCall(payloads.current) }],
      expect: (status, headers, body) => (ran(status, headers, body) && !headers['x-skew-guard'] ? '200 ran' : null),
    },
    {
      kind: 'unknown ID',
      why: "v1's renamed action, an ID no build has, a no-JS form post of the old ID: 409 unknown-action (form: HTML)",
      requests: [
        { variant: 'renamed (v1 greet)', ...call(v1.actions.greet, ['load'], { 'x-skew-guard-build': v1.buildId }) },
        { variant: 'never built', ...call(`7f${randomBytes(20).toString('hex')}`, ['load']) },
        {
          variant: 'no-JS form',
          method: 'POST',
          path: '/',
          headers: { accept: 'text/html,application/xhtml+xml', 'content-type': MULTIPART },
          body: `--${BOUNDARY}\r\nContent-Disposition: form-data; name="$ACTION_ID_${v1.actions.greet}"\r\n\r\n\r\n--${BOUNDARY}--\r\n`,
        },
      ],
      expect: (status, headers, body, variant) => {
        const label = refused('unknown-action')(status, headers)
        if (!label) return null
        const html = (headers['content-type'] ?? '').startsWith('text/html') && body.includes('Reload the page')
        return variant === 'no-JS form' ? (html ? `${label} (html)` : null) : label
      },
    },
    {
      kind: 'stale build',
      why: "a v1 page calls shout, which v2 still has: runs (policy 'reload-after'), answer says x-skew-guard: reload",
      requests: [{ variant: 'v1 page', ...call(v2.actions.shout, ['load'], { 'x-skew-guard-build': v1.buildId }) }],
      expect: (status, headers, body) => (ran(status, headers, body) && headers['x-skew-guard'] === 'reload' ? '200 reload' : null),
    },
    {
      kind: 'previous-key closure',
      why: 'closure arguments sealed before the key rotation: 409 key-rotated (the page reloads)',
      requests: [{ variant: 'previous key', ...closureCall(payloads.previous) }],
      expect: refused('key-rotated'),
    },
    {
      kind: 'unknown-key closure',
      why:
        'closure arguments no key of the server opens (skew or tampering): the guard records unknown-key and lets Next.js answer; ' +
        "Next.js's answer is its own 500 with an error digest, which the guard marks x-skew-guard: unknown-key so the page can recover",
      requests: [{ variant: 'foreign key', ...closureCall(payloads.foreign) }],
      expect: (status, headers, body) =>
        status === 500 && headers['x-skew-guard'] === 'unknown-key' && /^1:E\{"digest":/m.test(body)
          ? '500 Next.js refused (digest), marked unknown-key'
          : null,
    },
    {
      kind: 'malformed',
      why:
        'bodies no client sends (truncated multipart, junk payload, junk args): the guard never fails on them and never ' +
        "answers for them; Next.js's decoding throws and it answers with its own 500 and an error digest, expected here",
      requests: [
        {
          variant: 'truncated multipart',
          ...closureCall(payloads.current),
          body: closureBody(payloads.current).slice(0, 60),
        },
        { variant: 'payload not base64', ...closureCall('%%% not a payload %%%') },
        { variant: 'args not JSON', ...call(v2.actions.shout, [], { 'x-skew-guard-build': v2.buildId }), body: '{"unterminated' },
      ],
      // Filled in by the run's probe (see probeMalformed): what Next.js answers each variant.
      expect: null,
    },
  ]
}
