// A small reverse proxy on loopback, in front of `next start`, that misbehaves the way real ones do:
// it answers Server Action calls itself (nginx's 413, a rate limiter's 429, a WAF's 403, a 502 when
// the upstream is down, a 504 after the upstream took too long: that one forwards the call first, so
// the action did run), or forwards them with a wrong `x-forwarded-host` (a misconfigured proxy,
// which makes Next.js refuse the call as a cross-site request). Everything else passes unchanged,
// with the browser's own Host header.
import { once } from 'node:events'
import * as http from 'node:http'

const nginx = (status, text) =>
  `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`

/** What the proxy answers per status: the bodies and content types such gateways send. */
export const GATEWAY_ANSWERS = {
  413: { contentType: 'text/html', body: nginx(413, 'Request Entity Too Large') },
  429: { contentType: 'text/plain; charset=utf-8', body: 'Too Many Requests' },
  403: {
    contentType: 'text/html; charset=utf-8',
    body: '<!doctype html><title>Access denied</title><h1>Request blocked by the web application firewall.</h1>',
  },
  502: { contentType: 'text/html', body: nginx(502, 'Bad Gateway') },
  // The upstream got the call and ran the action; the gateway gave up waiting for it.
  504: { contentType: 'text/html', body: nginx(504, 'Gateway Time-out'), forwardFirst: true },
}

/** The wrong host a misconfigured proxy forwards (the upstream's internal name). */
export const WRONG_FORWARDED_HOST = 'web.internal:3000'

/**
 * The example's rules under `basePath`: action calls of `<basePath>/gateway/<status>/` get
 * {@link GATEWAY_ANSWERS}[status]; action calls of `<basePath>/csrf/` are forwarded with
 * `x-forwarded-host: WRONG_FORWARDED_HOST`. Action calls are POSTs with a `next-action` header.
 */
export function exampleRules(basePath = '') {
  return (req) => {
    if (req.method !== 'POST' || req.headers['next-action'] === undefined) return null
    const { pathname } = new URL(req.url, 'http://proxy')
    if (!pathname.startsWith(`${basePath}/`)) return null
    const rest = pathname.slice(basePath.length)
    const gateway = /^\/gateway\/(\d{3})\/?$/.exec(rest)
    if (gateway && GATEWAY_ANSWERS[gateway[1]]) return { answer: Number(gateway[1]), ...GATEWAY_ANSWERS[gateway[1]] }
    if (/^\/csrf\/?$/.test(rest)) return { forwardHeaders: { 'x-forwarded-host': WRONG_FORWARDED_HOST } }
    return null
  }
}

/**
 * Starts the proxy on 127.0.0.1 (a free port) in front of `upstreamUrl`. `rules(req)` returns null
 * (forward unchanged), `{ forwardHeaders }` (forward with these headers set), or
 * `{ answer: status, contentType, body, forwardFirst }` (answer itself; `forwardFirst`: forward the
 * request first and answer once the upstream has answered). `counts` tells what happened.
 */
export async function startGatewayProxy(upstreamUrl, rules) {
  const upstream = new URL(upstreamUrl)
  const counts = { forwarded: 0, answered: 0, answeredAfterForwarding: 0 }
  const sockets = new Set()

  const forward = (req, headers, onAnswer) => {
    const outgoing = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, onAnswer)
    req.pipe(outgoing)
    return outgoing
  }

  const server = http.createServer((req, res) => {
    const rule = rules(req)
    const fail = (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
      res.end(`gateway proxy: ${error.message}`)
    }
    const answer = () => {
      res.writeHead(rule.answer, {
        'content-type': rule.contentType,
        'content-length': Buffer.byteLength(rule.body),
        'cache-control': 'no-store',
      })
      res.end(rule.body)
    }
    if (rule?.answer && !rule.forwardFirst) {
      counts.answered++
      // Read the request to its end first: answering mid-upload resets the browser's connection.
      req.resume()
      req.on('end', answer)
      req.on('error', fail)
      return
    }
    counts.forwarded++
    const headers = { ...req.headers, ...(rule?.forwardHeaders ?? {}) }
    const outgoing = forward(req, headers, (incoming) => {
      if (rule?.answer) {
        counts.answeredAfterForwarding++
        incoming.resume()
        incoming.on('end', answer)
        return
      }
      res.writeHead(incoming.statusCode ?? 502, incoming.headers)
      incoming.pipe(res)
    })
    outgoing.on('error', fail)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    async close() {
      for (const socket of sockets) socket.destroy()
      server.close()
      await once(server, 'close').catch(() => {})
    },
  }
}
