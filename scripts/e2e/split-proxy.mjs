// A deliberately broken "load balancer" for the loop test: pages come from one server (the old
// build) while Server Action calls go to another (the new build), like a CDN still serving cached
// HTML of the old deploy, or a rolling deploy whose replicas disagree. Reloading cannot fix such a
// tab: it must not reload in a loop.
import * as http from 'node:http'
import { once } from 'node:events'

/**
 * @param {string} pagesUrl    everything but Server Action calls goes here
 * @param {string} actionsUrl  POSTs carrying `next-action` go here
 * @returns {Promise<{ url: string, counts: { pages: number, actions: number }, close(): Promise<void> }>}
 */
export async function startSplitProxy(pagesUrl, actionsUrl) {
  const counts = { pages: 0, actions: 0 }
  const server = http.createServer((req, res) => {
    const isAction = req.method === 'POST' && req.headers['next-action'] !== undefined
    if (isAction) counts.actions++
    else counts.pages++
    const target = new URL(req.url, isAction ? actionsUrl : pagesUrl)
    const upstream = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
      res.end(`split proxy: ${error.message}`)
    })
    req.pipe(upstream)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close').catch(() => {})
    },
  }
}
