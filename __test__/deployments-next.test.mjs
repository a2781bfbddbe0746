// Version-locked routing end to end: real `next start` of two builds of the example app (v1
// retained, v2 current; v2 renames `greet` to `welcome` and changes `shout`), registered with
// `next-skew-guard deployments add --dir`, behind each of the four real proxies configured by
// `deployments render`. Every routing case of the contract, asserted from the answer itself: the
// build identity the guard stamps on responses (x-build-id), the action's result (which carries
// the build that ran it), or a static file's bytes. Then v1's process is killed (its requests
// must reach v2, never a 502) and restarted; in headless Chromium a tab opened on v1 completes
// everything on v1 after v2 is promoted (scripts/e2e/routed.mjs); finally v1 is retired (its
// requests go to v2, and the old tab recovers with one reload).
//
// Next.js versions: NSG_ROUTED_VERSIONS (default 16,15.5,14); one pair of builds per version.
// NSG_SKIP_E2E=1 skips the suite. Needs what the e2e suites need (dist/, native/*.node, npm
// registry access on the first run) and root to install missing proxies.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { launchChromium } from '../scripts/e2e/browser.mjs'
import { progress, step } from '../scripts/e2e/log.mjs'
import { assertStayedOnV1, recoverAfterRetire, routedResultsFile, runRoutedStory, summarize } from '../scripts/e2e/routed.mjs'
import { startServer } from '../scripts/e2e/server.mjs'
import { MATRIX, ROOT, ensureChromium } from '../scripts/e2e/setup.mjs'
import { sharedGuardBuilds } from '../scripts/e2e/shared-builds.mjs'
import { ensureProxies } from '../scripts/proxies/install.mjs'
import { createProxy } from '../scripts/proxies/launch.mjs'

const BIN = path.join(ROOT, 'bin', 'next-skew-guard.js')

const SKIP = process.env.NSG_SKIP_E2E === '1' ? 'NSG_SKIP_E2E=1' : false
const VERSIONS = (process.env.NSG_ROUTED_VERSIONS ?? '16,15.5,14')
  .split(',')
  .map((v) => v.trim())
  .filter(Boolean)
const PROXIES = ['nginx', 'caddy', 'haproxy', 'traefik']

let bins = null
let chromium = null
const roots = []
after(async () => {
  await chromium?.close().catch(() => {})
  for (const dir of roots) fs.rmSync(dir, { recursive: true, force: true })
})

async function browser() {
  if (!chromium) {
    await ensureChromium()
    chromium = await step('launching Chromium', () => launchChromium())
  }
  return chromium
}

/** One HTTP request with full control over Host, Cookie and Origin; resolves { status, headers, text }. */
function send(port, { method = 'GET', path: p = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: p, agent: false, headers: { host: `127.0.0.1:${port}`, connection: 'close', ...headers } },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            bytes: Buffer.concat(chunks),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        )
      },
    )
    req.on('error', reject)
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')))
    if (body) req.write(body)
    req.end()
  })
}

/** A JS call of a Server Action, as Next.js's client sends it. */
const actionCall = (id, args, headers = {}) => ({
  method: 'POST',
  headers: { 'next-action': id, accept: 'text/x-component', 'content-type': 'text/plain;charset=UTF-8', ...headers },
  body: JSON.stringify(args),
})

/** A form post without JavaScript: multipart, no Next-Action header, `$ACTION_ID_<id>` in the body. */
function noJsForm(id, fields, headers = {}) {
  const boundary = `----nsg${randomBytes(8).toString('hex')}`
  let body = `--${boundary}\r\nContent-Disposition: form-data; name="$ACTION_ID_${id}"\r\n\r\n\r\n`
  for (const [k, v] of Object.entries(fields)) body += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`
  body += `--${boundary}--\r\n`
  return { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'text/html', ...headers }, body }
}

/** The value a safe action returned (Flight row 1), or null. */
function result(text) {
  const m = /^1:(\{.*\})$/m.exec(text)
  return m ? JSON.parse(m[1]) : null
}

function cli(args, state) {
  const r = spawnSync(process.execPath, [BIN, 'deployments', ...args], {
    encoding: 'utf8',
    env: { ...process.env, SKEW_GUARD_DEPLOYMENTS: state },
    timeout: 120_000,
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

function files(dir) {
  return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : []
}

async function eventually(check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    last = await check().catch((e) => e)
    if (last === true) return
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${last instanceof Error ? last.message : JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, 150))
  }
}

for (const version of VERSIONS) {
  const pins = MATRIX[version]
  describe(`routed deployments on Next.js ${pins?.next ?? version}`, {
    skip: SKIP || (pins ? false : `unknown version ${version}`),
    timeout: 30 * 60_000,
  }, () => {
    const ctx = { app: null, key: null, v1: null, v2: null, servers: {}, ids: {}, state: null, v1Only: null, chunk: null, results: {} }

    const startV = (name, port) =>
      startServer({
        app: ctx.app,
        build: ctx[name],
        key: ctx.key,
        label: `routed ${version} ${name}`,
        port,
        env: { SKEW_GUARD_DEPLOYMENT_COOKIE: '1' },
      })

    before(
      async () => {
        bins ??= await ensureProxies(PROXIES)
        // The run's shared guarded builds (the matrix suite serves the same ones).
        Object.assign(ctx, await sharedGuardBuilds(version))
        ctx.servers.v1 = await startV('v1')
        ctx.servers.v2 = await startV('v2')
        // The deployment IDs Next.js stamps (withSkewGuard sets deploymentId; the guard reports it).
        for (const name of ['v1', 'v2']) {
          const health = JSON.parse((await send(ctx.servers[name].port, { path: '/api/health' })).text)
          ctx.ids[name] = health.deploymentId ?? ctx[name].buildId
          progress(
            `routed ${version} ${name}: deployment ID ${ctx.ids[name]}${health.deploymentId ? '' : ' (no deploymentId reported; using the build ID)'}`,
          )
        }
        // greet, renamed in v2: the one action ID only v1 knows.
        ctx.v1Only = ctx.v1.actionIds.filter((id) => !ctx.v2.actionIds.includes(id))
        assert.equal(ctx.v1Only.length, 1, `v1-only action IDs: ${ctx.v1Only}`)
        // A static file only v1 has (v2 changed the action panel, so its chunk hash differs).
        const v2Files = new Set(files(path.join(ctx.app.dir, ctx.v2.distDir, 'static')))
        ctx.v2StaticFiles = [...v2Files]
        const only = files(path.join(ctx.app.dir, ctx.v1.distDir, 'static')).filter((f) => f.endsWith('.js') && !v2Files.has(f))
        assert.ok(only.length > 0, 'v1 has a static chunk v2 does not')
        ctx.chunk = { url: `/_next/static/${only[0]}`, bytes: fs.readFileSync(path.join(ctx.app.dir, ctx.v1.distDir, 'static', only[0])) }
        ctx.root = fs.mkdtempSync(path.join(ctx.app.work, 'routed-proxies-'))
        roots.push(ctx.root)
        ctx.state = path.join(ctx.root, 'base.json')
        for (const args of [
          [
            'add',
            ctx.ids.v1,
            '--upstream',
            `127.0.0.1:${ctx.servers.v1.port}`,
            '--dir',
            ctx.app.dir,
            '--dist-dir',
            ctx.v1.distDir,
            '--require-listening',
          ],
          ['promote', ctx.ids.v1],
          [
            'add',
            ctx.ids.v2,
            '--upstream',
            `127.0.0.1:${ctx.servers.v2.port}`,
            '--dir',
            ctx.app.dir,
            '--dist-dir',
            ctx.v2.distDir,
            '--require-listening',
          ],
          ['promote', ctx.ids.v2],
        ]) {
          const r = cli(args, ctx.state)
          assert.equal(r.code, 0, r.err)
        }
      },
      { timeout: 20 * 60_000 },
    )

    after(async () => {
      await Promise.all(Object.values(ctx.servers).map((s) => s?.stop().catch(() => {})))
      // What the browser saw, per proxy, for generated docs (a table column "guarded + routed").
      if (ctx.app && Object.keys(ctx.results).length) {
        fs.writeFileSync(routedResultsFile(ctx.app.work), `${JSON.stringify({ next: pins.next, proxies: ctx.results }, null, 2)}\n`)
      }
    })

    it('the registry holds both builds with their action inventories', () => {
      const state = JSON.parse(fs.readFileSync(ctx.state, 'utf8'))
      assert.equal(state.current, ctx.ids.v2)
      assert.deepEqual(state.deployments[0].actions, [...new Set(ctx.v1.actionIds)].sort())
      assert.deepEqual(state.deployments[1].actions, [...new Set(ctx.v2.actionIds)].sort())
    })

    for (const kind of PROXIES) {
      describe(kind, () => {
        const p = { proxy: null, state: null }
        const build = (r) => r.headers['x-build-id'] ?? null

        before(async () => {
          p.state = path.join(ctx.root, `${kind}.json`)
          fs.copyFileSync(ctx.state, p.state)
          p.proxy = await createProxy(kind, { bin: bins[kind], root: ctx.root })
          p.proxy.cliArgs.push('--fail-timeout', '2')
          const r = cli(['render', ...p.proxy.cliArgs], p.state)
          assert.equal(r.code, 0, r.err)
          await p.proxy.start()
        })

        after(async () => {
          await p.oldTab?.close().catch(() => {})
          await p.proxy?.stop()
        })

        it('every routing case of the contract reaches the right next start', async () => {
          const { v1, v2 } = ctx.ids
          const greet = ctx.v1Only[0]
          const port = p.proxy.port
          const origin = { origin: `http://127.0.0.1:${port}` }
          const cases = [
            ['GET / → v2', { path: '/' }, (r) => r.status === 200 && build(r) === ctx.v2.buildId],
            [
              'greet + x-deployment-id v1 → v1 runs it',
              actionCall(greet, ['Ada'], { 'x-deployment-id': v1, ...origin }),
              (r) => result(r.text)?.data === 'Hello, Ada!' && result(r.text)?.buildId === ctx.v1.buildId,
            ],
            [
              'greet without a header → v1 (action inventory)',
              actionCall(greet, ['Ada'], origin),
              (r) => result(r.text)?.data === 'Hello, Ada!' && build(r) === ctx.v1.buildId,
            ],
            [
              'no-JS form post + __vdpl=v1 → v1',
              noJsForm(greet, { name: 'Ada' }, { cookie: `__vdpl=${v1}`, ...origin }),
              (r) => r.status < 500 && build(r) === ctx.v1.buildId,
            ],
            ['no-JS form post without the cookie → v2', noJsForm(greet, { name: 'Ada' }, origin), (r) => build(r) === ctx.v2.buildId],
            [
              'GET / with __vdpl=v1 → v2',
              { path: '/', headers: { cookie: `__vdpl=${v1}` } },
              (r) => r.status === 200 && build(r) === ctx.v2.buildId,
            ],
            [
              'x-deployment-id v2 + stale __vdpl=v1 → v2',
              actionCall(greet, ['Ada'], { 'x-deployment-id': v2, cookie: `__vdpl=${v1}`, ...origin }),
              (r) => build(r) === ctx.v2.buildId,
            ],
            [
              'v1 static chunk ?dpl=v1 → 200 from v1',
              { path: `${ctx.chunk.url}?dpl=${v1}` },
              (r) => r.status === 200 && r.bytes.equals(ctx.chunk.bytes),
            ],
            ['the same chunk without ?dpl= → v2 has none', { path: ctx.chunk.url }, (r) => r.status === 404],
            [
              'unknown x-deployment-id → v2',
              actionCall(greet, ['Ada'], { 'x-deployment-id': 'dpl-gone', ...origin }),
              (r) => build(r) === ctx.v2.buildId,
            ],
            [
              'unknown __vdpl → v2',
              noJsForm(greet, { name: 'Ada' }, { cookie: '__vdpl=dpl-gone', ...origin }),
              (r) => build(r) === ctx.v2.buildId,
            ],
            [
              `exact: x-deployment-id ${v1}0 → v2`,
              actionCall(greet, ['Ada'], { 'x-deployment-id': `${v1}0`, ...origin }),
              (r) => build(r) === ctx.v2.buildId,
            ],
            [
              `exact: x-deployment-id ${v1.slice(0, -1)} → v2`,
              actionCall(greet, ['Ada'], { 'x-deployment-id': v1.slice(0, -1), ...origin }),
              (r) => build(r) === ctx.v2.buildId,
            ],
            [
              `exact: __vdpl=${v1}0 → v2`,
              noJsForm(greet, { name: 'Ada' }, { cookie: `__vdpl=${v1}0`, ...origin }),
              (r) => build(r) === ctx.v2.buildId,
            ],
            [`exact: ?dpl=${v1}0 → v2`, { path: `${ctx.chunk.url}?dpl=${v1}0` }, (r) => r.status === 404],
          ]
          const wrong = []
          for (const [what, req, ok] of cases) {
            const r = await send(port, req)
            if (!ok(r)) wrong.push(`${what}: HTTP ${r.status}, x-build-id ${build(r)}, ${r.text.slice(0, 160).replace(/\s+/g, ' ')}`)
          }
          assert.deepEqual(wrong, [])
        })

        it('Origin and Host survive the proxy: v1 accepts the action (no "Invalid Server Actions request")', async () => {
          const port = p.proxy.port
          const greet = ctx.v1Only[0]
          const direct = await send(port, actionCall(greet, ['Ada'], { 'x-deployment-id': ctx.ids.v1, origin: `http://127.0.0.1:${port}` }))
          assert.equal(direct.status, 200, direct.text.slice(0, 300))
          assert.equal(result(direct.text)?.data, 'Hello, Ada!')
          // Behind an outer proxy (TLS, another port): its X-Forwarded-Host must reach Next.js.
          const outer = await send(
            port,
            actionCall(greet, ['Ada'], {
              'x-deployment-id': ctx.ids.v1,
              origin: 'https://shop.example.com:8443',
              'x-forwarded-host': 'shop.example.com:8443',
              'x-forwarded-proto': 'https',
            }),
          )
          assert.equal(outer.status, 200, outer.text.slice(0, 300))
          assert.equal(result(outer.text)?.data, 'Hello, Ada!')
          const logs = ctx.servers.v1.output()
          assert.ok(!/Invalid Server Actions request/.test(logs), logs.slice(-2000))
        })

        it('v1 killed: its requests reach v2 at once, never a 502; back on v1 once it is up again', async () => {
          const port = p.proxy.port
          const greet = ctx.v1Only[0]
          const v1Port = ctx.servers.v1.port
          await ctx.servers.v1.stop()
          try {
            const seen = []
            for (const req of [
              actionCall(greet, ['Ada'], { 'x-deployment-id': ctx.ids.v1 }),
              actionCall(greet, ['Ada']),
              noJsForm(greet, { name: 'Ada' }, { cookie: `__vdpl=${ctx.ids.v1}` }),
              { path: `/?dpl=${ctx.ids.v1}` },
            ]) {
              const r = await send(port, req)
              seen.push(
                `${r.status === 502 || r.status === 503 || r.status === 504 ? `HTTP ${r.status}` : 'answered'} by ${build(r) === ctx.v2.buildId ? 'v2' : build(r)}`,
              )
            }
            assert.deepEqual(seen, Array(4).fill('answered by v2'))
          } finally {
            ctx.servers.v1 = await startV('v1', v1Port)
          }
          await eventually(
            async () => build(await send(port, actionCall(greet, ['Ada'], { 'x-deployment-id': ctx.ids.v1 }))) === ctx.v1.buildId,
            'v1 to be routed to again',
          )
        })

        /** Render + reload, then wait until `GET /` is answered by `build` five times running. */
        async function routeNewPagesTo(build) {
          const r = cli(['render', ...p.proxy.cliArgs, '--reload'], p.state)
          assert.equal(r.code, 0, r.err)
          await p.proxy.settled()
          let streak = 0
          await eventually(async () => {
            streak = (await send(p.proxy.port, { path: '/' })).headers['x-build-id'] === build ? streak + 1 : 0
            return streak >= 5
          }, `new pages from ${build}`)
        }

        it('in Chromium: a tab of v1 finishes its work on v1 after v2 is promoted (0 reloads); a new tab gets v2', async () => {
          assert.equal(cli(['promote', ctx.ids.v1], p.state).code, 0)
          await routeNewPagesTo(ctx.v1.buildId)
          const story = await runRoutedStory({
            browser: await browser(),
            url: p.proxy.url,
            builds: { v1: ctx.v1.buildId, v2: ctx.v2.buildId },
            ids: ctx.ids,
            v2StaticFiles: ctx.v2StaticFiles,
            ops: {
              promoteV2: async () => {
                assert.equal(cli(['promote', ctx.ids.v2], p.state).code, 0)
                await routeNewPagesTo(ctx.v2.buildId)
              },
            },
          })
          p.oldTab = story.oldTab
          p.story = story
          ctx.results[kind] = summarize(story)
          assertStayedOnV1(story)
        })

        it('retire v1 + render --reload: requests naming v1 go to v2', async () => {
          const port = p.proxy.port
          const greet = ctx.v1Only[0]
          assert.equal(cli(['retire', ctx.ids.v1], p.state).code, 0)
          const r = cli(['render', ...p.proxy.cliArgs, '--reload'], p.state)
          assert.equal(r.code, 0, r.err)
          await p.proxy.settled()
          let streak = 0
          await eventually(async () => {
            streak =
              build(await send(port, actionCall(greet, ['Ada'], { 'x-deployment-id': ctx.ids.v1 }))) === ctx.v2.buildId ? streak + 1 : 0
            return streak >= 5
          }, 'the reload')
          const afterRetire = [
            await send(port, actionCall(greet, ['Ada'])),
            await send(port, noJsForm(greet, { name: 'Ada' }, { cookie: `__vdpl=${ctx.ids.v1}` })),
          ]
          assert.deepEqual(afterRetire.map(build), [ctx.v2.buildId, ctx.v2.buildId])
          // What the old tab then gets from v2: the guard's unknown-action answer, which makes it reload once.
          assert.equal(afterRetire[0].status, 409)
          assert.equal(afterRetire[0].headers['x-skew-guard'], 'unknown-action')
          assert.equal((await send(port, { path: `${ctx.chunk.url}?dpl=${ctx.ids.v1}` })).status, 404)
          // The old tab: its next action reaches v2, the guard's recovery reloads it once, then it works.
          if (p.oldTab) {
            const recovered = await recoverAfterRetire(p.oldTab)
            if (p.story) ctx.results[kind] = summarize(p.story, recovered)
            assert.deepEqual([recovered.first?.status, recovered.first?.build], [409, ctx.v2.buildId], JSON.stringify(recovered))
            assert.equal(recovered.reloads, 1)
            assert.equal(recovered.pageBuild, ctx.v2.buildId)
            assert.equal(recovered.retry, 'Welcome, Ada!')
            await p.oldTab.close()
          }
        })
      })
    }
  })
}
