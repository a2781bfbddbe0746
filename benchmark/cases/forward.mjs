// What in-app forwarding (skewGuard({ forward })) costs, in a child process:
// - requests of the current build (the load run's action mix, made as Next.js 16 hands them to
//   proxy.ts): the guard with forwarding on (a registry with one retained deployment) against the
//   same guard without it: the routing decision is all forwarding adds to them;
// - a forwarded Server Action POST: the guard sending it to a retained deployment's server on
//   loopback, against the same POST sent straight to that server (what the hop adds).
// Interleaved rounds, medians; microseconds per request.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const SELF = fileURLToPath(import.meta.url)

/** Runs the measurement in a child process; resolves `{ currentUs, currentForwardUs, ratio, directUs, forwardedUs, requests }`. */
export function measureForward() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, '--child'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`forward bench exited ${code}`))))
  })
}

async function child() {
  const fs = await import('node:fs')
  const http = await import('node:http')
  const os = await import('node:os')
  const path = await import('node:path')
  const { Readable } = await import('node:stream')
  const { createRequire } = await import('node:module')
  const require = createRequire(import.meta.url)

  process.env.NODE_ENV = 'production'
  process.env.SKEW_GUARD_LOG = 'off'
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-bench-forward-'))
  process.env.__SKEW_GUARD_DIST_DIR = tmp
  const { generateKey } = require('../..')
  const { NextRequest } = require('next/server')
  const KEY = generateKey()
  const SHOUT = `40${'a'.repeat(40)}`
  const GREET = `40${'c'.repeat(40)}` // only the retained deployment knows it
  fs.mkdirSync(path.join(tmp, 'server'))
  fs.writeFileSync(path.join(tmp, 'BUILD_ID'), 'bench-v2\n')
  fs.writeFileSync(
    path.join(tmp, 'server', 'server-reference-manifest.json'),
    JSON.stringify({
      node: { [SHOUT]: { workers: { 'app/page': {} }, filename: 'app/actions.ts', exportedName: 'shout' } },
      edge: {},
      encryptionKey: KEY,
    }),
  )
  process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY = KEY

  // The retained deployment: answers like a Server Action, at once.
  const retained = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/x-component' })
      res.end('0:{"a":"$@1"}\n1:"Hello, Ada!"\n')
    })
  })
  await new Promise((resolve) => retained.listen(0, '127.0.0.1', resolve))
  const port = retained.address().port
  const { writeStateFile } = require('../../dist/deployments/state.js')
  const registry = path.join(tmp, 'deployments.json')
  const at = '2026-01-01T00:00:00.000Z'
  writeStateFile(registry, {
    format: 'next-skew-guard/deployments@1',
    current: 'v2',
    deployments: [
      { id: 'v1', upstream: `127.0.0.1:${port}`, addedAt: at, promotedAt: at, supersededAt: at, build: null, actions: [GREET, SHOUT] },
      { id: 'v2', upstream: '127.0.0.1:1', addedAt: at, promotedAt: at, supersededAt: null, build: null, actions: [SHOUT] },
    ],
  })

  const { skewGuard } = require('../../dist/proxy/index.js')
  const plain = skewGuard({ keyring: false })
  const forwarding = skewGuard({ keyring: false, forward: { registry } })
  const make = (id, deployment) => {
    const body = Buffer.from('["Ada"]')
    const headers = {
      'next-action': id,
      accept: 'text/x-component',
      'content-type': 'text/plain;charset=UTF-8',
      'content-length': String(body.length),
      'x-skew-guard-build': 'bench-v2',
    }
    if (deployment) headers['x-deployment-id'] = deployment
    const request = new NextRequest('http://127.0.0.1:3000/', { method: 'POST', headers, body: Readable.from([body]), duplex: 'half' })
    request.sourcePage = '/proxy'
    return request
  }
  const run = async (n, makeOne, fn) => {
    const requests = Array.from({ length: n }, makeOne)
    const t = process.hrtime.bigint()
    for (const r of requests) {
      const response = await fn(r)
      await response?.arrayBuffer?.()
    }
    return Number(process.hrtime.bigint() - t) / 1000 / n
  }
  const direct = () =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/',
          agent: false,
          headers: { 'next-action': GREET, 'content-type': 'text/plain;charset=UTF-8' },
        },
        (res) => {
          res.resume()
          res.on('end', resolve)
        },
      )
      req.on('error', reject)
      req.end('["Ada"]')
    })
  const current = () => make(SHOUT, 'v2')
  const old = () => make(GREET, 'v1')
  for (let i = 0; i < 3; i++) {
    await run(300, current, (r) => plain(r))
    await run(300, current, (r) => forwarding(r))
    await run(100, old, (r) => forwarding(r))
  }
  const times = { plain: [], forwardingCurrent: [], forwarded: [], direct: [] }
  for (let round = 0; round < 15; round++) {
    times.plain.push(await run(400, current, (r) => plain(r)))
    times.forwardingCurrent.push(await run(400, current, (r) => forwarding(r)))
    times.forwarded.push(await run(100, old, (r) => forwarding(r)))
    times.direct.push(
      await run(
        100,
        () => null,
        () => direct(),
      ),
    )
  }
  const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1]
  retained.close()
  fs.rmSync(tmp, { recursive: true, force: true })
  const currentUs = median(times.plain)
  const currentForwardUs = median(times.forwardingCurrent)
  process.stdout.write(
    JSON.stringify({
      currentUs,
      currentForwardUs,
      ratio: currentUs / currentForwardUs,
      forwardedUs: median(times.forwarded),
      directUs: median(times.direct),
      rounds: 15,
    }),
  )
}

if (process.argv.includes('--child')) {
  child().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
