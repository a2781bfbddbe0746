// Server Action requests as Next.js 16's browser client sends them (docs/nextjs-internals.md §7), for the
// HTTP-level tests: the guard and Next.js see exactly the wire format of a real tab.

/** A JS call of a module-level action: `next-action` header, the arguments as a JSON array. */
export async function callAction(baseUrl, actionId, args, headers = {}) {
  const response = await fetch(`${baseUrl}/`, {
    method: 'POST',
    headers: { 'next-action': actionId, accept: 'text/x-component', 'content-type': 'text/plain;charset=UTF-8', ...headers },
    body: JSON.stringify(args),
  })
  return { status: response.status, headers: response.headers, body: await response.text() }
}

/**
 * A JS call of an inline closure: always multipart; field `0` is `["$@1", ...args]` and field `1`
 * the encrypted bound arguments as a JSON string (what React's client sends).
 */
export async function callClosure(baseUrl, actionId, payload, args = [], headers = {}) {
  const form = new FormData()
  form.set('1', JSON.stringify(payload))
  form.set('0', JSON.stringify(['$@1', ...args]))
  const response = await fetch(`${baseUrl}/`, {
    method: 'POST',
    headers: { 'next-action': actionId, accept: 'text/x-component', ...headers },
    body: form,
  })
  return { status: response.status, headers: response.headers, body: await response.text() }
}

/**
 * A browser's form post without JavaScript: no `next-action` header, `$ACTION_ID_<id>` in the body,
 * HTML wanted. `headers`: what else the browser sends (e.g. the cookie its page set).
 */
export async function postNoJsForm(baseUrl, actionId, fields = {}, headers = {}) {
  const form = new FormData()
  form.set(`$ACTION_ID_${actionId}`, '')
  for (const [name, value] of Object.entries(fields)) form.set(name, value)
  const response = await fetch(`${baseUrl}/`, {
    method: 'POST',
    headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', ...headers },
    body: form,
    redirect: 'manual',
  })
  return { status: response.status, headers: response.headers, body: await response.text() }
}

/** The React Flight rows a Next.js page inlines into its HTML (`self.__next_f.push([1, "…"])`). */
export function flightOf(html) {
  let flight = ''
  for (const match of html.matchAll(/self\.__next_f\.push\(\[1,("(?:[^"\\]|\\.)*")\]\)/g)) flight += JSON.parse(match[1])
  return flight
}

/**
 * The encrypted bound arguments of the closure `actionId` as rendered into a page: the server
 * reference row `{"id":"<id>","bound":"$@a"}`, row `a` = `["$@b"]`, row `b` = the payload string.
 */
export function closurePayloadOf(html, actionId) {
  const flight = flightOf(html)
  const row = (id) => {
    const match = new RegExp(`^${id}:(.*)$`, 'm').exec(flight)
    if (!match) throw new Error(`Flight row ${id} not found in the page`)
    return JSON.parse(match[1])
  }
  const ref = new RegExp(`^[0-9a-f]+:\\{"id":"${actionId}","bound":"\\$@([0-9a-f]+)"\\}$`, 'm').exec(flight)
  if (!ref) throw new Error(`the page does not reference closure ${actionId} with bound arguments`)
  const bound = row(ref[1])
  if (!Array.isArray(bound) || typeof bound[0] !== 'string' || !bound[0].startsWith('$@')) {
    throw new Error(`unexpected bound-arguments row: ${JSON.stringify(bound)}`)
  }
  const payload = row(bound[0].slice(2))
  if (typeof payload !== 'string') throw new Error('the bound-arguments payload is not a string')
  return payload
}

/** `GET /` → `{ html, note, payload }`: the rendered note and its closure's sealed payload. */
export async function loadPage(baseUrl, closureId) {
  const response = await fetch(`${baseUrl}/`)
  if (response.status !== 200) throw new Error(`GET / answered ${response.status}`)
  const html = await response.text()
  const note = /<code id="page-note">([^<]*)<\/code>/.exec(html)?.[1]
  return { html, note, payload: closurePayloadOf(html, closureId) }
}

/** The server's skew counters, through the example's `/api/skew-stats` route. */
export async function skewStats(baseUrl) {
  const response = await fetch(`${baseUrl}/api/skew-stats`, { cache: 'no-store' })
  if (response.status !== 200) throw new Error(`/api/skew-stats answered ${response.status}`)
  return response.json()
}

/** The value a safe action returned, from the Flight response of a JS call (row 1). */
export function actionResult(body) {
  const match = /^1:(\{.*\})$/m.exec(body)
  return match ? JSON.parse(match[1]) : null
}
