// A round-robin load balancer on loopback, for the mixed-fleet test: during a rolling update the
// replicas of two builds serve side by side, and one balancer in front of them sends each request to
// the next replica in turn, whatever page it comes from. Host is passed through unchanged (Next.js
// checks it against Origin on Server Actions). Every request goes to exactly one upstream, never
// retried; the balancer counts what it sent where.
import * as http from 'node:http'

import { freePort } from './server.mjs'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'])

/** What a request is, for the turn it takes: health polls, actions and documents each alternate on their own. */
function kindOf(req) {
  if (req.headers['next-action']) return 'action'
  const path = (req.url ?? '/').split('?')[0]
  if (path.endsWith('/api/health') || path.endsWith('/api/health/')) return 'health'
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html') ? 'document' : 'other'
}

/**
 * Starts the balancer over `upstreams` (`http://127.0.0.1:port` URLs). Each kind of request (health
 * polls, Server Actions, documents, the rest) takes its own turn, so each alternates strictly.
 * `assets` maps a deployment ID to its upstream: a build's static files (`/_next/static/…?dpl=<id>`)
 * go there, as a shared asset store or CDN would serve every build's files. Returns `{ url, port,
 * setUpstreams(list), sent, stop() }`; `sent` maps an upstream origin to the number of requests it got.
 */
export async function startRoundRobin(upstreams, { assets = {} } = {}) {
  let targets = [...upstreams]
  const turns = new Map()
  const sent = new Map()
  const sockets = new Set()
  const server = http.createServer((req, res) => {
    const dpl = /^\/_next\/static\//.test(req.url ?? '') ? new URL(req.url ?? '/', 'http://x').searchParams.get('dpl') : null
    const kind = kindOf(req)
    const turn = turns.get(kind) ?? 0
    turns.set(kind, turn + 1)
    const target = new URL(dpl && assets[dpl] ? assets[dpl] : targets[turn % targets.length])
    sent.set(target.origin, (sent.get(target.origin) ?? 0) + 1)
    const headers = {}
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: false },
      (answer) => {
        const out = {}
        for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name)) out[name] = value
        res.writeHead(answer.statusCode ?? 502, out)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
      res.end('upstream unavailable')
    })
    req.pipe(upstream)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const port = await freePort()
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    sent,
    /** Replaces the replicas (a rolling update moves on); the turn continues where it was. */
    setUpstreams(list) {
      targets = [...list]
    },
    stop() {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
