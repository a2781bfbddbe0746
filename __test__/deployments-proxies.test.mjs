// The routing contract through the real proxies, fast: nginx, Caddy (Debian's 2.6 and the
// current release from PyPI), HAProxy and Traefik v3, each its own process on a loopback port,
// configured only by `next-skew-guard deployments render`, in front of two small Node HTTP
// servers standing for deployment dpl_v1 (retained) and dpl_v2 (current). Every answer says
// which server produced it. The same cases against real `next start` processes:
// __test__/deployments-next.test.mjs.
//
// Needs root to install missing proxies (apt-get; pip into a venv under os.tmpdir()).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'

import { ensureProxies } from '../scripts/proxies/install.mjs'
import { createProxy } from '../scripts/proxies/launch.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'next-skew-guard.js')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-routing-'))

const A1 = `40${'a1'.repeat(20)}` // only v1 knows it
const B1 = `40${'b1'.repeat(20)}` // both know it
const C2 = `7f${'c2'.repeat(20)}` // only v2 knows it

/** A stand-in deployment: answers every request with who it is and what it received. */
function backend(name) {
  const server = http.createServer((req, res) => {
    let bytes = 0
    req.on('data', (c) => (bytes += c.length))
    req.on('end', () => {
      const body = JSON.stringify({
        backend: name,
        method: req.method,
        url: req.url,
        host: req.headers.host,
        xfh: req.headers['x-forwarded-host'] ?? null,
        bytes,
      })
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name })
      res.end(req.method === 'HEAD' ? undefined : body)
    })
  })
  server.keepAliveTimeout = 1000
  return {
    name,
    port: 0,
    async listen(port = 0) {
      await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
      this.port = server.address().port
    },
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** One request through a proxy; resolves { status, backend, json }. */
function request(proxy, { method = 'GET', path: p = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: proxy.port,
        method,
        path: p,
        headers: { host: `127.0.0.1:${proxy.port}`, connection: 'close', ...headers },
        agent: false,
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (c) => (text += c))
        res.on('end', () => {
          let json = null
          try {
            json = JSON.parse(text)
          } catch {
            // not from a backend
          }
          resolve({ status: res.statusCode, backend: res.headers['x-backend'] ?? null, json, text })
        })
      },
    )
    req.on('error', reject)
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')))
    if (body) req.write(body)
    req.end()
  })
}

/** A browser's multipart form post without JavaScript (no Next-Action header). */
function formPost(extra = {}) {
  const boundary = '----nsgBoundary7MA4YWxkTrZu0gW'
  const body = `--${boundary}\r\nContent-Disposition: form-data; name="$ACTION_ID_${A1}"\r\n\r\n\r\n--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n${'x'.repeat(2000)}\r\n--${boundary}--\r\n`
  return { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'text/html', ...extra }, body }
}

function cli(args, state) {
  const r = spawnSync(process.execPath, [BIN, 'deployments', ...args], {
    encoding: 'utf8',
    env: { ...process.env, SKEW_GUARD_DEPLOYMENTS: state },
    timeout: 120_000,
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

function fakeBuild(name, ids) {
  const dir = path.join(tmp, `app-${name}`)
  fs.mkdirSync(path.join(dir, '.next', 'server'), { recursive: true })
  fs.writeFileSync(
    path.join(dir, '.next', 'server', 'server-reference-manifest.json'),
    JSON.stringify({ node: Object.fromEntries(ids.map((id) => [id, { workers: {} }])), edge: {} }),
  )
  return dir
}

async function eventually(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    last = await check().catch((e) => e)
    if (last === true) return
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${last instanceof Error ? last.message : JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const v1 = backend('v1')
const v2 = backend('v2')
const env = { bins: null, baseState: null }

before(
  async () => {
    env.bins = await ensureProxies(['nginx', 'caddy', 'haproxy', 'traefik', 'caddy-latest'])
    await v1.listen()
    await v2.listen()
    env.baseState = path.join(tmp, 'base.json')
    for (const args of [
      ['add', 'dpl_v1', '--upstream', `127.0.0.1:${v1.port}`, '--dir', fakeBuild('v1', [A1, B1])],
      ['promote', 'dpl_v1'],
      ['add', 'dpl_v2', '--upstream', `127.0.0.1:${v2.port}`, '--dir', fakeBuild('v2', [B1, C2])],
      ['promote', 'dpl_v2'],
    ]) {
      const r = cli(args, env.baseState)
      assert.equal(r.code, 0, r.err)
    }
  },
  { timeout: 10 * 60_000 },
)

after(async () => {
  await v1.close().catch(() => {})
  await v2.close().catch(() => {})
  fs.rmSync(tmp, { recursive: true, force: true })
})

/** Every case of the routing contract: [what, request, expected backend]. */
const CASES = [
  ['a document: GET / → current', {}, 'v2'],
  ['HEAD / → current', { method: 'HEAD' }, 'v2'],
  [
    'an action of v1 with x-deployment-id: dpl_v1 → v1',
    { method: 'POST', headers: { 'next-action': A1, 'x-deployment-id': 'dpl_v1' }, body: '["x"]' },
    'v1',
  ],
  [
    'a shared action with x-deployment-id: dpl_v1 → v1 (the header decides)',
    { method: 'POST', headers: { 'next-action': B1, 'x-deployment-id': 'dpl_v1' }, body: '[]' },
    'v1',
  ],
  ['a v1-only action ID, no header → v1 (action inventory)', { method: 'POST', headers: { 'next-action': A1 }, body: '["x"]' }, 'v1'],
  ['an action ID the current build knows, no header → current', { method: 'POST', headers: { 'next-action': B1 }, body: '[]' }, 'v2'],
  [
    'an action ID the current build knows, with a v1 cookie → current',
    { method: 'POST', headers: { 'next-action': B1, cookie: '__vdpl=dpl_v1' }, body: '[]' },
    'v2',
  ],
  [
    'an action ID nobody knows, with a v1 cookie → current',
    { method: 'POST', headers: { 'next-action': `40${'9'.repeat(40)}`, cookie: '__vdpl=dpl_v1' }, body: '[]' },
    'v2',
  ],
  ['a no-JS form post with __vdpl=dpl_v1 → v1', formPost({ cookie: 'theme=dark; __vdpl=dpl_v1; other=1' }), 'v1'],
  ['a no-JS form post without the cookie → current', formPost(), 'v2'],
  ['GET with __vdpl=dpl_v1 → current (a reload gets the new build)', { headers: { cookie: '__vdpl=dpl_v1' } }, 'v2'],
  ['HEAD with __vdpl=dpl_v1 → current', { method: 'HEAD', headers: { cookie: '__vdpl=dpl_v1' } }, 'v2'],
  [
    'x-deployment-id naming current beats a stale cookie',
    { method: 'POST', headers: { 'x-deployment-id': 'dpl_v2', cookie: '__vdpl=dpl_v1' }, body: 'x' },
    'v2',
  ],
  ['x-deployment-id beats ?dpl=', { path: '/_next/static/chunks/a.js?dpl=dpl_v1', headers: { 'x-deployment-id': 'dpl_v2' } }, 'v2'],
  ['?dpl= beats the action inventory', { method: 'POST', path: '/?dpl=dpl_v2', headers: { 'next-action': A1 }, body: '[]' }, 'v2'],
  ['a static asset with ?dpl=dpl_v1 → v1', { path: '/_next/static/chunks/app/page-0123abcd.js?dpl=dpl_v1' }, 'v1'],
  ['a static asset with ?dpl=dpl_v2 → current', { path: '/_next/static/chunks/app/page-4567efab.js?dpl=dpl_v2' }, 'v2'],
  [
    'an unknown x-deployment-id → current (not the cookie)',
    { method: 'POST', headers: { 'x-deployment-id': 'dpl_gone', cookie: '__vdpl=dpl_v1' }, body: 'x' },
    'v2',
  ],
  ['an unknown ?dpl= → current', { path: '/_next/static/x.js?dpl=dpl_gone' }, 'v2'],
  ['an unknown cookie → current', formPost({ cookie: '__vdpl=dpl_gone' }), 'v2'],
  ['exact: x-deployment-id dpl_v10 is not dpl_v1', { method: 'POST', headers: { 'x-deployment-id': 'dpl_v10' }, body: 'x' }, 'v2'],
  ['exact: x-deployment-id dpl_v is not dpl_v1', { method: 'POST', headers: { 'x-deployment-id': 'dpl_v' }, body: 'x' }, 'v2'],
  ['exact: ?dpl=dpl_v10 is not dpl_v1', { path: '/_next/static/x.js?dpl=dpl_v10' }, 'v2'],
  ['exact: ?xdpl=dpl_v1 is not ?dpl=', { path: '/_next/static/x.js?xdpl=dpl_v1' }, 'v2'],
  ['exact: __vdpl=dpl_v10 is not dpl_v1', formPost({ cookie: '__vdpl=dpl_v10' }), 'v2'],
  ['exact: x__vdpl=dpl_v1 is not __vdpl', formPost({ cookie: 'x__vdpl=dpl_v1' }), 'v2'],
  ['exact: a Next-Action that extends a v1 ID → current', { method: 'POST', headers: { 'next-action': `${A1}0` }, body: '[]' }, 'v2'],
]

const PROXIES = [
  ['nginx', 'nginx'],
  ['caddy', 'caddy'],
  ['caddy', 'caddy-latest'],
  ['haproxy', 'haproxy'],
  ['traefik', 'traefik'],
]

for (const [kind, flavour] of PROXIES) {
  describe(`routing through ${flavour}`, { timeout: 5 * 60_000 }, () => {
    const ctx = { proxy: null, state: null }

    before(async () => {
      ctx.state = path.join(tmp, `${flavour}.json`)
      fs.copyFileSync(env.baseState, ctx.state)
      ctx.proxy = await createProxy(kind, { bin: env.bins[flavour], root: tmp, flavour })
      // A 2 s fail timeout (default 10 s) brings a restarted deployment back sooner.
      ctx.proxy.cliArgs.push('--fail-timeout', '2')
      const r = cli(['render', ...ctx.proxy.cliArgs], ctx.state)
      assert.equal(r.code, 0, r.err)
      assert.match(r.err, /wrote .*, validated/)
      await ctx.proxy.start()
    })

    after(async () => {
      await ctx.proxy?.stop()
    })

    it('every carrier routes as the contract says', async () => {
      const wrong = []
      for (const [what, req, expected] of CASES) {
        const res = await request(ctx.proxy, req)
        if (res.status !== 200 || res.backend !== expected) wrong.push(`${what}: got ${res.status} from ${res.backend}`)
      }
      assert.deepEqual(wrong, [], ctx.proxy.output().slice(-3000))
    })

    it('Host and X-Forwarded-Host reach the deployment unchanged (port included)', async () => {
      const host = `127.0.0.1:${ctx.proxy.port}`
      for (const headers of [{ 'x-deployment-id': 'dpl_v1' }, {}]) {
        const plain = await request(ctx.proxy, { method: 'POST', headers: { origin: `http://${host}`, ...headers }, body: 'x' })
        assert.equal(plain.json.host, host)
        assert.ok(plain.json.xfh === null || plain.json.xfh === host, `X-Forwarded-Host ${plain.json.xfh}`)
        // Behind another proxy: its X-Forwarded-Host is passed on (Caddy and Traefik trust loopback here).
        const outer = await request(ctx.proxy, {
          method: 'POST',
          headers: { 'x-forwarded-host': 'shop.example.com:8443', ...headers },
          body: 'x',
        })
        assert.equal(outer.json.host, host)
        assert.equal(outer.json.xfh, 'shop.example.com:8443')
      }
    })

    it('a retained deployment that is down: its requests reach the current one, never a 502', async () => {
      assert.equal((await request(ctx.proxy, { method: 'POST', headers: { 'x-deployment-id': 'dpl_v1' }, body: 'x' })).backend, 'v1')
      await v1.close()
      try {
        const statuses = []
        // Straight after the kill: the first request finds v1 dead, nothing has marked it down yet.
        for (const req of [
          formPost({ 'x-deployment-id': 'dpl_v1' }),
          { method: 'POST', headers: { 'next-action': A1 }, body: '["x"]' },
          formPost({ cookie: '__vdpl=dpl_v1' }),
          { path: '/_next/static/x.js?dpl=dpl_v1' },
        ]) {
          const res = await request(ctx.proxy, req)
          statuses.push(`${res.status} ${res.backend}`)
        }
        assert.deepEqual(statuses, ['200 v2', '200 v2', '200 v2', '200 v2'])
        // And a full second of requests, none of them failed.
        const until = Date.now() + 1_000
        while (Date.now() < until) {
          const res = await request(ctx.proxy, formPost({ 'x-deployment-id': 'dpl_v1' }))
          assert.equal(`${res.status} ${res.backend}`, '200 v2')
        }
      } finally {
        await v1.listen(v1.port)
      }
    })

    it('retire dpl_v1 + render --reload: requests naming dpl_v1 go to the current deployment', async () => {
      // The proxy may still skip the restarted v1 for a while (fail timeout): wait until it is back.
      await eventually(
        async () => (await request(ctx.proxy, { method: 'POST', headers: { 'x-deployment-id': 'dpl_v1' }, body: 'x' })).backend === 'v1',
        'dpl_v1 to be reachable again',
      )
      assert.equal(cli(['retire', 'dpl_v1'], ctx.state).code, 0)
      const r = cli(['render', ...ctx.proxy.cliArgs, '--reload'], ctx.state)
      assert.equal(r.code, 0, r.err)
      assert.match(r.err, /reload: /)
      await ctx.proxy.settled()
      // A graceful reload: the old workers may take a last few connections; then only the new config answers.
      let streak = 0
      await eventually(async () => {
        streak =
          (await request(ctx.proxy, { method: 'POST', headers: { 'x-deployment-id': 'dpl_v1' }, body: 'x' })).backend === 'v2'
            ? streak + 1
            : 0
        return streak >= 10
      }, 'the reload')
      for (const req of [
        { path: '/_next/static/x.js?dpl=dpl_v1' },
        { method: 'POST', headers: { 'next-action': A1 }, body: '[]' },
        formPost({ cookie: '__vdpl=dpl_v1' }),
      ]) {
        const res = await request(ctx.proxy, req)
        assert.equal(`${res.status} ${res.backend}`, '200 v2')
      }
      assert.ok(!fs.readFileSync(ctx.proxy.out, 'utf8').includes('dpl_v1'), 'the config no longer names dpl_v1')
    })
  })
}
