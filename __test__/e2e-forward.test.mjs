// In-app forwarding end to end, for hosts whose proxy cannot be configured: the platform sends
// every request to the newest release (here a loopback balancer whose one upstream is switched from
// v1 to v2), and the app's own guard (`SKEW_GUARD_FORWARD=1`, the registry in
// SKEW_GUARD_DEPLOYMENTS) forwards what belongs to the retained v1 to v1's `next start`. Real
// `next start` of the run's shared v1/v2 builds of the example (Next.js 16 proxy.ts; 15.5 Node
// middleware), headless Chromium: a tab opened on v1 finishes its work on v1 after the switch
// (actions, closure, form with and without JavaScript, a script only v1 has; no reload, typed text
// kept), a new tab gets v2; then v1's process dies and the old tab's next action goes through the
// guard's recovery (one reload, then it works), never an error page.
//
// NSG_FORWARD_VERSIONS (default 16,15.5); NSG_SKIP_E2E=1 skips the suite.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { launchChromium } from '../scripts/e2e/browser.mjs'
import { progress, step } from '../scripts/e2e/log.mjs'
import { startRoundRobin } from '../scripts/e2e/round-robin.mjs'
import { assertStayedOnV1, deploymentsCli, recoverAfterRetire, runRoutedStory } from '../scripts/e2e/routed.mjs'
import { startServer, waitFor } from '../scripts/e2e/server.mjs'
import { MATRIX, ensureChromium } from '../scripts/e2e/setup.mjs'
import { sharedGuardBuilds } from '../scripts/e2e/shared-builds.mjs'

const SKIP = process.env.NSG_SKIP_E2E === '1' ? 'NSG_SKIP_E2E=1' : false
const VERSIONS = (process.env.NSG_FORWARD_VERSIONS ?? '16,15.5')
  .split(',')
  .map((v) => v.trim())
  .filter(Boolean)

let chromium = null
const cleanups = []
after(async () => {
  await chromium?.close().catch(() => {})
  for (const fn of cleanups.reverse()) await fn().catch(() => {})
})

function files(dir) {
  return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : []
}

for (const version of VERSIONS) {
  const pins = MATRIX[version]
  const nodeRuntime = pins && (pins.runtime === 'proxy' || pins.runtime === 'nodejs')
  const skip =
    SKIP ||
    (!pins
      ? `unknown version ${version}`
      : nodeRuntime
        ? false
        : `Next.js ${pins.next} runs the guard on Edge, where forwarding is not available`)

  describe(`in-app forwarding on Next.js ${pins?.next ?? version}`, { skip, timeout: 20 * 60_000 }, () => {
    const ctx = { servers: {}, ids: {} }

    before(
      async () => {
        await ensureChromium()
        chromium ??= await step('launching Chromium', () => launchChromium())
        Object.assign(ctx, await sharedGuardBuilds(version))
        const root = fs.mkdtempSync(path.join(ctx.app.work, 'forward-'))
        cleanups.push(async () => fs.rmSync(root, { recursive: true, force: true }))
        ctx.state = path.join(root, 'deployments.json')
        const env = { SKEW_GUARD_FORWARD: '1', SKEW_GUARD_DEPLOYMENTS: ctx.state, SKEW_GUARD_DEPLOYMENT_COOKIE: '1' }
        for (const name of ['v1', 'v2']) {
          const server = await startServer({ app: ctx.app, build: ctx[name], key: ctx.key, label: `forward ${version} ${name}`, env })
          ctx.servers[name] = server
          cleanups.push(() => server.stop())
          const health = await (await fetch(`${server.url}/api/health`)).json()
          ctx.ids[name] = health.deploymentId ?? ctx[name].buildId
        }
        deploymentsCli(
          ['add', ctx.ids.v1, '--upstream', `127.0.0.1:${ctx.servers.v1.port}`, '--dir', ctx.app.dir, '--dist-dir', ctx.v1.distDir],
          ctx.state,
        )
        deploymentsCli(['promote', ctx.ids.v1], ctx.state)
        deploymentsCli(
          ['add', ctx.ids.v2, '--upstream', `127.0.0.1:${ctx.servers.v2.port}`, '--dir', ctx.app.dir, '--dist-dir', ctx.v2.distDir],
          ctx.state,
        )
        // The platform: every request to the newest release, Host passed through.
        ctx.host = await startRoundRobin([ctx.servers.v1.url])
        cleanups.push(() => ctx.host.stop())
        ctx.v2StaticFiles = files(path.join(ctx.app.dir, ctx.v2.distDir, 'static'))
        progress(`forward ${version}: host ${ctx.host.url} → v1 (${ctx.ids.v1}); v2 (${ctx.ids.v2}) registered`)
      },
      { timeout: 15 * 60_000 },
    )

    it('a tab of v1 finishes its work on v1 after the host switches to v2 (0 reloads); a new tab gets v2', async () => {
      const v1 = ctx.v1.buildId
      const story = await runRoutedStory({
        browser: chromium,
        url: ctx.host.url,
        builds: { v1, v2: ctx.v2.buildId },
        ids: ctx.ids,
        v2StaticFiles: ctx.v2StaticFiles,
        ops: {
          promoteV2: async () => {
            deploymentsCli(['promote', ctx.ids.v2], ctx.state)
            ctx.host.setUpstreams([ctx.servers.v2.url])
            let streak = 0
            await waitFor(async () => {
              const r = await fetch(`${ctx.host.url}/`)
              await r.arrayBuffer()
              streak = r.headers.get('x-build-id') === ctx.v2.buildId ? streak + 1 : 0
              return streak >= 3
            }, 'new pages from v2')
            // The guards read the registry at most once a second.
            await new Promise((resolve) => setTimeout(resolve, 1_200))
          },
        },
      })
      ctx.oldTab = story.oldTab
      assertStayedOnV1(story)
    })

    it("v1's process dies: the old tab's next action gets the guard's recovery (one reload, then it works), never an error page", async () => {
      assert.ok(ctx.oldTab, 'the old tab of the first case')
      await ctx.servers.v1.stop()
      const recovered = await recoverAfterRetire(ctx.oldTab)
      assert.deepEqual([recovered.first?.status, recovered.first?.build], [409, ctx.v2.buildId], JSON.stringify(recovered))
      assert.equal(recovered.reloads, 1)
      assert.equal(recovered.pageBuild, ctx.v2.buildId)
      assert.equal(recovered.retry, 'Welcome, Ada!')
      await ctx.oldTab.close()
    })
  })
}
