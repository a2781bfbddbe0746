// End to end on the older Next.js versions: 14.2.35 (React 18.3.1), 15.3.8 (the 15.0–15.4.0 range,
// where an unknown action ID gets a silent 200 HTML page) and 15.5.29, each with its default bundler
// (webpack), real `next build` + `next start` of examples/next-app and headless Chromium.
//
// The app is the Next.js 16 example plus a per-version overlay (examples/next-app/versions/<v>/:
// package.json pins, and middleware.ts instead of proxy.ts, which the harness deletes):
//   14    middleware.ts, always Edge: health + build-identity checks; no unknown-ID check (it needs
//         the manifest from disk), so the client guard must catch 14's silent HTML answer;
//   15.3  middleware.ts on Edge (Node middleware needs experimental.nodeMiddleware there): the same;
//   15.5  middleware.ts with runtime 'nodejs': every check, as proxy.ts on 16.
//
// Per version, two deploys of one checkout (v1, then the v2 overlay: `greet` renamed to `welcome`),
// built once each with the same key, and three cases:
//   1. no skew: a v1 tab's actions work, no reload;
//   2. v2 deployed on the same port under an open v1 tab: the renamed action's call is detected, the
//      tab reloads by itself, and the button works after the reload;
//   3. a no-JS form post with an unknown action ID gets the guard's 409 HTML, not a 500.
//
// Needs what e2e-next16.test.mjs needs; the work copies live in os.tmpdir()/nsg-e2e/next-<v>.
// NSG_SKIP_E2E=1 skips the suite; NSG_E2E_VERSIONS=14,15.5 runs a subset.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { documentsSeen, launchChromium, navigationType, openTab, textWhen, useEveryActionOfV1, waitHydrated } from '../scripts/e2e/browser.mjs'
import { postNoJsForm } from '../scripts/e2e/http.mjs'
import { progress, step } from '../scripts/e2e/log.mjs'
import { freePort, startServer, waitFor } from '../scripts/e2e/server.mjs'
import { applyV2Overlay, build, ensureChromium, MATRIX, prepareApp } from '../scripts/e2e/setup.mjs'

const require = createRequire(import.meta.url)
const { generateKey } = require('next-skew-guard')

const SKIP = process.env.NSG_SKIP_E2E === '1' ? 'NSG_SKIP_E2E=1' : false
const SELECTED = (process.env.NSG_E2E_VERSIONS || Object.keys(MATRIX).join(',')).split(',').map((v) => v.trim())
const RUN = randomBytes(3).toString('hex')
const RELOAD_KEY = 'next-skew-guard:last-reload'

let chromium = null
async function browser() {
  chromium ??= await step('launching Chromium', () => launchChromium())
  return chromium
}

after(async () => {
  await chromium?.close().catch(() => {})
})

/** Every action ID of a build, from its manifest (14's manifests carry no export names). */
function actionIds(app, distDir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(app.dir, distDir, 'server', 'server-reference-manifest.json'), 'utf8'))
  return new Set(Object.keys(manifest.node))
}

for (const version of Object.keys(MATRIX)) {
  const pins = MATRIX[version]
  const skip = SKIP || (SELECTED.includes(version) ? false : `not in NSG_E2E_VERSIONS`)
  const edge = pins.runtime === 'edge'

  describe(`Next.js ${pins.next} (React ${pins.react}, webpack, ${edge ? 'Edge' : 'Node'} middleware)`, { skip, timeout: 10 * 60_000 }, () => {
    const e2e = { app: null, key: generateKey(), v1: null, v2: null, renamed: null, servers: new Set() }

    before(
      async () => {
        e2e.app = await prepareApp({ version })
        await ensureChromium()
        assert.ok(!fs.existsSync(path.join(e2e.app.dir, 'proxy.ts')), 'no proxy.ts before Next.js 16')
        e2e.v1 = await build(e2e.app, { name: `${version} v1`, distDir: '.next-v1', buildId: `e2e-${version}-v1-${RUN}`, key: e2e.key })
        applyV2Overlay(e2e.app)
        e2e.v2 = await build(e2e.app, { name: `${version} v2`, distDir: '.next-v2', buildId: `e2e-${version}-v2-${RUN}`, key: e2e.key })
        const [ids1, ids2] = [actionIds(e2e.app, '.next-v1'), actionIds(e2e.app, '.next-v2')]
        const removed = [...ids1].filter((id) => !ids2.has(id))
        const added = [...ids2].filter((id) => !ids1.has(id))
        // `greet` → `welcome` is the only difference in action IDs between the two deploys.
        assert.equal(removed.length, 1, `v1-only action IDs: ${removed}`)
        assert.equal(added.length, 1, `v2-only action IDs: ${added}`)
        e2e.renamed = { greet: removed[0], welcome: added[0] }
        progress(`${pins.next}: ${ids1.size} actions per build; greet ${removed[0]} → welcome ${added[0]}`)
      },
      { timeout: 10 * 60_000 },
    )

    after(async () => {
      await Promise.all([...e2e.servers].map((s) => s.stop().catch(() => {})))
    })

    async function server(t, which, options = {}) {
      const s = await startServer({ app: e2e.app, label: `${pins.next} server ${which}`, build: e2e[which], key: e2e.key, ...options })
      e2e.servers.add(s)
      t.after(async () => {
        await s.stop()
        e2e.servers.delete(s)
      })
      return s
    }

    async function tab(t, url, options) {
      const opened = await openTab(await browser(), url, options)
      // What Next.js itself answered to each action call (14 and 15.0–15.4.0 answer an unknown ID
      // with HTML, which the tab's own records keep apart).
      opened.contentTypes = []
      opened.page.on('response', (response) => {
        if (response.request().headers()['next-action']) opened.contentTypes.push(response.headers()['content-type'] ?? null)
      })
      t.after(() => opened.close())
      return opened
    }

    it('1. no skew: a v1 tab runs its actions, never reloads', async (t) => {
      const v1 = await server(t, 'v1')
      const tab1 = await tab(t, v1.url)
      const { page } = tab1
      assert.equal(await page.locator('#page-build').textContent(), e2e.v1.buildId)
      await useEveryActionOfV1(page)

      assert.equal(tab1.loads, 1, 'one document load: no reload')
      assert.equal(await documentsSeen(page), 1)
      assert.equal(await page.locator('#skew-banner').count(), 0, 'no skew banner')
      assert.equal(await page.evaluate((k) => sessionStorage.getItem(k), RELOAD_KEY), null, 'no reload was ever claimed')
      assert.equal(tab1.actions.length, 4, JSON.stringify(tab1.actions))
      for (const action of tab1.actions) {
        assert.equal(action.sentBuild, e2e.v1.buildId, 'the page sends its build with every action')
        assert.equal(action.guard, null)
        assert.equal(action.serverBuild, e2e.v1.buildId)
      }
      assert.ok(tab1.contentTypes.every((type) => /^text\/x-component/.test(type)), JSON.stringify(tab1.contentTypes))
      assert.deepEqual(tab1.errors, [])
      progress(`${pins.next} case 1: ${tab1.actions.length} actions, statuses ${tab1.actions.map((a) => a.status)}, ${tab1.loads} load`)
    })

    it('2. a v1 tab, v2 deployed on the same port: the renamed action is detected, the tab reloads by itself and works', async (t) => {
      const port = await freePort()
      const old = await server(t, 'v1', { port })
      const tab1 = await tab(t, old.url)
      const { page } = tab1
      await page.click('#shout')
      await textWhen(page, '#shout-result', (s) => s === 'hello!', 'shout on v1')

      await step(`${pins.next} redeploy: stopping v1, starting v2 on the same port`, async () => {
        await old.stop()
        await server(t, 'v2', { port })
      })

      // `shout` kept its ID: v2 runs it, and the guard (Edge too: the build-identity check needs no
      // manifest) says the page is stale; nothing was lost, so no reload yet.
      await page.click('#shout')
      const ran = await textWhen(page, '#shout-result', (s) => s.startsWith('VERSION_SKEW'), 'the stale shout to answer')
      assert.equal(ran, `VERSION_SKEW (build-mismatch); it ran on build ${e2e.v2.buildId}: HELLO!`)
      assert.equal(tab1.loads, 1)

      // `greet` is gone in v2. The old tab's call must not resolve silently: the tab reloads by itself.
      await page.click('#say-hello')
      await waitFor(() => tab1.loads === 2, 'the tab to reload by itself', { timeoutMs: 20_000 }).catch(async (error) => {
        // Say what the tab saw instead: the call's answer and what callSafeAction resolved.
        const shown = await page.locator('#say-hello-result').textContent().catch(() => null)
        throw new Error(
          `${error.message}; the call got ${JSON.stringify({ ...tab1.actions.at(-1), contentType: tab1.contentTypes.at(-1) })}, ` +
            `the page shows ${JSON.stringify(shown)}, ${tab1.loads} load(s)`,
        )
      })
      await page.waitForLoadState('load')
      await waitHydrated(page)
      const call = tab1.actions.at(-1)
      const callType = tab1.contentTypes.at(-1)
      assert.equal(call.actionId, e2e.renamed.greet)
      assert.equal(call.sentBuild, e2e.v1.buildId)
      assert.equal(call.serverBuild, e2e.v2.buildId)
      if (edge) {
        // No manifest on Edge: Next.js answers the unknown ID itself, with a 200 HTML page (14 and
        // 15.0–15.4.0), stamped by the guard as a call from another build; the client guard reads it.
        assert.deepEqual([call.status, call.guard], [200, 'reload'])
        assert.match(callType, /^text\/html/)
      } else {
        assert.deepEqual([call.status, call.guard], [409, 'unknown-action'])
      }
      assert.equal(await navigationType(page), 'reload')
      assert.ok(await page.evaluate((k) => sessionStorage.getItem(k), RELOAD_KEY), 'the reload was claimed by <SkewGuard>')
      assert.equal(await page.locator('#page-build').textContent(), e2e.v2.buildId)

      // The reloaded page is v2's: the same button now calls `welcome`, and works.
      await page.click('#say-hello')
      await textWhen(page, '#say-hello-result', (s) => s === 'Welcome, Ada!', 'welcome on v2')
      assert.equal(tab1.actions.at(-1).actionId, e2e.renamed.welcome)
      assert.equal(tab1.actions.at(-1).status, 200)
      assert.equal(tab1.actions.at(-1).guard, null)
      assert.equal(tab1.loads, 2, 'exactly one reload')
      assert.equal(await documentsSeen(page), 2)
      assert.deepEqual(tab1.errors, [])
      progress(`${pins.next} case 2: renamed call ${call.status} ${call.guard} ${callType}; reloaded once; welcome works`)
    })

    // Known gap (issue #6): on Edge middleware the guard has no manifest, so it cannot know an ID is
    // unknown, and a no-JS post carries no build identity; Next.js answers with its own 500 page.
    // Marked todo there: it runs and reports, and turns green once the Edge guard learns the IDs.
    const edgeGap = pins.runtime === 'edge' ? 'Edge middleware has no action manifest (issue #6)' : false
    it('3. a no-JS form post with an unknown action ID gets the guard’s 409 page, not a 500', { todo: edgeGap }, async (t) => {
      const v2 = await server(t, 'v2')
      const form = await postNoJsForm(v2.url, e2e.renamed.greet, { name: 'Ada' })
      progress(`${pins.next} case 3: no-JS post of a v1-only ID → ${form.status} ${form.headers.get('content-type')} x-skew-guard=${form.headers.get('x-skew-guard')}`)
      assert.notEqual(form.status, 500, `Next.js's own 500 page reached the user:\n${form.body.slice(0, 400)}`)
      assert.equal(form.status, 409)
      assert.equal(form.headers.get('x-skew-guard'), 'unknown-action')
      assert.match(form.headers.get('content-type'), /^text\/html/)
      assert.match(form.body, /Reload the page/)
    })
  })
}
