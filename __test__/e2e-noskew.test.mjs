// The no-skew suite: a healthy app must never see the guard misfire. One build per Next.js version
// (14.2, 15.3, 15.5, 16: scripts/next-versions.json) of the example with the reliability/ pages and the settings
// real apps have: `basePath: '/base'`, `trailingSlash: true`, `generateBuildId` returning the commit
// with git's newline, an explicit `bodySizeLimit`, and the app's own middleware composed with the
// guard (`skewGuard({ next: appProxy })`); built and started the monorepo way, `next build web` /
// `next start web` from the parent directory, which is the git root and holds another app's `.next`;
// the server's environment also sets `SKEW_GUARD_BUILD_ID` to another value, as an image might.
// A small reverse proxy (scripts/e2e/gateway-proxy.mjs) answers some action calls itself (413, 429,
// 403, 502, 504) or forwards them with a wrong `x-forwarded-host`.
//
// Nothing here is version skew. Every case asserts, in headless Chromium: one document load (no
// reload), no client skew event (`subscribeToSkew`, logged by the example's layout), no server skew
// event (`/api/skew-stats`), no crash screen, and the app's own answer or error on the page.
//
// NSG_SKIP_E2E=1 skips the suite; NSG_E2E_VERSIONS=16,14 runs a subset. Work copies:
// os.tmpdir()/nsg-e2e/next-<v>/noskew/web (the parent is the monorepo root).
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { launchChromium, useEveryActionOfV1 } from '../scripts/e2e/browser.mjs'
import { GATEWAY_ANSWERS, exampleRules, startGatewayProxy } from '../scripts/e2e/gateway-proxy.mjs'
import { actionResult, callAction, skewStats } from '../scripts/e2e/http.mjs'
import { step } from '../scripts/e2e/log.mjs'
import {
  applyReliabilityOverlay,
  buildInMonorepo,
  crashScreen,
  describedDraft,
  documents,
  openPage,
  prepareMonorepo,
  readDraft,
  settle,
  skewEvents,
  tabReport,
  waitShown,
  texts,
  typeDraft,
  typedFor,
} from '../scripts/e2e/reliability.mjs'
import { startServer, waitFor } from '../scripts/e2e/server.mjs'
import { ensureChromium, MATRIX, prepareApp } from '../scripts/e2e/setup.mjs'

const require = createRequire(import.meta.url)
const { generateKey } = require('next-skew-guard')

const SKIP = process.env.NSG_SKIP_E2E === '1' ? 'NSG_SKIP_E2E=1' : false
const ORDER = Object.keys(MATRIX).sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
const SELECTED = (process.env.NSG_E2E_VERSIONS || ORDER.join(',')).split(',').map((v) => v.trim())
const BASE = '/base'

let chromium = null
after(async () => {
  await chromium?.close().catch(() => {})
})

async function browser() {
  if (!chromium) {
    await ensureChromium()
    chromium = await step('launching Chromium', () => launchChromium())
  }
  return chromium
}

for (const version of ORDER) {
  const pins = MATRIX[version]
  const skip = SKIP || (SELECTED.includes(version) ? false : 'not in NSG_E2E_VERSIONS')
  const hook = { edge: 'Edge middleware', nodejs: 'Node middleware', proxy: 'proxy.ts' }[pins.runtime]

  describe(`no skew, Next.js ${pins.next} (${hook}): basePath, trailingSlash, untrimmed build ID, monorepo start, app middleware`, {
    skip,
    timeout: 20 * 60_000,
  }, () => {
    const s = { app: null, mono: null, build: null, server: null, proxy: null, key: generateKey() }

    before(
      async () => {
        s.app = await prepareApp({ version, name: 'noskew/web' })
        applyReliabilityOverlay(s.app, { noskew: true })
        s.mono = prepareMonorepo(s.app)
        s.build = await buildInMonorepo(s.app, s.mono, { name: 'noskew', key: s.key })
        s.server = await startServer({
          app: s.app,
          build: s.build,
          key: s.key,
          cwd: s.mono.root,
          projectDir: s.mono.projectDir,
          // The home page: readiness must not depend on the health endpoint, which a case checks.
          readyPath: `${BASE}/`,
          expectBuildId: null,
          // A container image that also sets the build ID at run time, to a value the build on disk
          // does not have: the build on disk is what this server runs.
          env: { SKEW_GUARD_BUILD_ID: 'set-in-the-image' },
          label: `noskew ${version}`,
        })
        s.proxy = await startGatewayProxy(s.server.url, exampleRules(BASE))
        await browser()
      },
      { timeout: 15 * 60_000 },
    )

    after(async () => {
      await s.proxy?.close().catch(() => {})
      await s.server?.stop().catch(() => {})
    })

    const direct = () => `${s.server.url}${BASE}`
    const proxied = () => `${s.proxy.url}${BASE}`
    const serverEvents = async () => (await skewStats(direct())).total

    /** Opens `url` in a fresh tab (closed when the case ends); a page that never becomes ready fails with what it showed. */
    async function visit(t, url, ready, options = {}) {
      let tab
      try {
        tab = await openPage(await browser(), url, { ready, ...options })
      } catch (error) {
        // Open it again without waiting, to say what the user saw instead.
        const probe = await (await browser()).newPage()
        await probe.goto(url).catch(() => {})
        await probe.waitForTimeout(3_000)
        const screen = (
          await probe
            .locator('body')
            .innerText()
            .catch(() => '')
        ).slice(0, 300)
        await probe.context().close()
        throw new Error(`${url} did not become ready (${error.message}); the page showed: ${JSON.stringify(screen)}`)
      }
      t.after(() => tab.close())
      return tab
    }

    /** The observations every case must end with. */
    async function assertNoSkew(tab, eventsBefore, what, selectors = [], { clientEvents = [] } = {}) {
      await settle(tab)
      const observed = {
        documents: await documents(tab),
        clientSkewEvents: await skewEvents(tab),
        serverSkewEvents: (await serverEvents()) - eventsBefore,
        crashScreen: await crashScreen(tab.page),
      }
      assert.deepEqual(
        observed,
        { documents: 1, clientSkewEvents: clientEvents, serverSkewEvents: 0, crashScreen: null },
        `${what}: expected no reload and no skew event\n${await tabReport(tab, selectors)}`,
      )
    }

    const resultOf = async (page, selector) => JSON.parse((await page.locator(selector).getAttribute('data-result')) || 'null')

    it('server side: the guard serves the build on disk (the commit, trimmed), started from the monorepo root; the app middleware still runs', async () => {
      const before = await serverEvents()
      const health = await fetch(`${direct()}/api/health/`, { cache: 'no-store' })
      assert.equal(health.status, 200, `GET ${BASE}/api/health/ answered ${health.status}`)
      const body = await health.json()
      assert.equal(
        body.buildId,
        s.build.buildId,
        `the health endpoint reports ${JSON.stringify(body.buildId)}; the build on disk is ${s.build.buildId}`,
      )
      // The client polls the path without the slash; Next.js redirects it to the slashed one.
      const unslashed = await fetch(`${direct()}/api/health`, { cache: 'no-store' })
      assert.equal(unslashed.status, 200, `GET ${BASE}/api/health (followed to ${unslashed.url}) answered ${unslashed.status}`)
      assert.equal((await unslashed.json()).buildId, s.build.buildId)

      const home = await fetch(`${direct()}/`)
      assert.equal(home.status, 200)
      assert.equal(home.headers.get('x-app-proxy'), 'web', 'the app middleware runs after the guard')
      const moved = await fetch(`${direct()}/old-links/`, { redirect: 'manual' })
      assert.equal(moved.status, 307, 'the app middleware redirects the old path')
      assert.equal(new URL(moved.headers.get('location'), direct()).pathname, `${BASE}/links/`)

      // The guard reads this app's manifest: an unknown action ID is refused, a known one runs.
      const unknown = await callAction(direct(), `7f${'ab'.repeat(20)}`, ['x'], { 'x-skew-guard-build': s.build.buildId })
      assert.deepEqual([unknown.status, unknown.headers.get('x-skew-guard')], [409, 'unknown-action'])
      const shout = shoutId(s)
      const known = await callAction(direct(), shout, ['hello'], { 'x-skew-guard-build': s.build.buildId })
      assert.equal(
        known.status,
        200,
        `a known action answered ${known.status} (x-skew-guard: ${known.headers.get('x-skew-guard')}): ${known.body.slice(0, 200)}`,
      )
      assert.equal(known.headers.get('x-skew-guard'), null, 'no verdict for a page of this very build')
      assert.deepEqual(actionResult(known.body), { success: true, data: 'hello!', buildId: s.build.buildId })
      assert.equal((await serverEvents()) - before, 1, 'one skew event: the unknown ID above, nothing else')
    })

    it('the example page: every action works, the form redirects under the base path', async (t) => {
      const before = await serverEvents()
      const tab = await visit(t, `${direct()}/`, '#read-note')
      await useEveryActionOfV1(tab.page)
      assert.match(new URL(tab.page.url()).pathname, new RegExp(`^${BASE}/?$`))
      await assertNoSkew(tab, before, 'the example page', ['#saved-note'])
    })

    it('an upload over bodySizeLimit: the app shows the error (safe action: SERVER_ERROR; plain action: its rejection)', async (t) => {
      // What Next.js does with a 2 MB body: 15.5 and 16 refuse both kinds; 14 refuses a plain-text
      // body (a data URL argument) and lets a multipart one (a FormData argument) through; 15.3 lets
      // a plain-text body through and never answers a multipart one (left out here).
      const limited = {
        'upload-safe': version !== '15.3',
        'upload-plain': version !== '15.3',
        ...(version === '15.3' ? {} : { 'upload-form-safe': version !== '14', 'upload-form-plain': version !== '14' }),
      }
      const buttons = Object.keys(limited)
      const results = buttons.map((id) => `#${id}-result`)
      const before = await serverEvents()
      const tab = await visit(t, `${direct()}/upload/`, '#upload-safe')
      const { page } = tab
      const file = (name, bytes) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.alloc(bytes, 7) })
      // Under the limit, every way works.
      await page.setInputFiles('#upload-file', file('small.bin', 10_000))
      const small = {}
      for (const id of ['upload-safe', 'upload-plain', 'upload-form-safe', 'upload-form-plain']) {
        await page.click(`#${id}`)
        small[id] = await waitShown(tab, `#${id}-result`, (v) => v !== '', `the small upload (${id})`)
        assert.match(small[id], /^ok: small\.bin: \d+ received$/, id)
      }
      // 2 MB: over the 1 MB limit.
      await page.setInputFiles('#upload-file', file('large.bin', 2_000_000))
      for (const id of buttons) {
        await page.click(`#${id}`)
        await waitShown(tab, `#${id}-result`, (v) => v !== small[id], `the large upload (${id})`, 30_000)
      }
      await assertNoSkew(tab, before, 'the oversized upload', results)
      for (const id of buttons) {
        const shown = await text(page, `#${id}-result`)
        if (!limited[id]) {
          assert.match(shown, /^ok: large\.bin: \d+ received$/, `${id}: Next.js takes this body`)
          continue
        }
        if (id.endsWith('-plain')) {
          assert.match(shown, /^failed: /, `${id} shows the rejection`)
          continue
        }
        const result = await resultOf(page, `#${id}-result`)
        assert.match(shown, /^error: SERVER_ERROR/, `${id} shows the error`)
        assert.deepEqual(
          { error: result?.error, success: result?.success, requiresRefresh: result?.requiresRefresh },
          { error: 'SERVER_ERROR', success: false, requiresRefresh: false },
          `${id}: ${JSON.stringify(result)}`,
        )
      }
    })

    it('a proxy forwarding the wrong x-forwarded-host (CSRF check fails): the app shows the error', async (t) => {
      const before = await serverEvents()
      const tab = await visit(t, `${proxied()}/csrf/`, '#call-safe')
      const { page } = tab
      await page.click('#call-safe')
      await waitShown(tab, '#call-safe-result', (v) => v !== '', 'the safe call')
      await page.click('#call-plain')
      await waitShown(tab, '#call-plain-result', (v) => v !== '', 'the plain call')
      await assertNoSkew(tab, before, 'the CSRF refusal', ['#call-safe-result', '#call-plain-result'])
      const result = await resultOf(page, '#call-safe-result')
      assert.deepEqual(
        { error: result?.error, requiresRefresh: result?.requiresRefresh },
        { error: 'SERVER_ERROR', requiresRefresh: false },
        `safe call result: ${JSON.stringify(result)}`,
      )
      assert.match(await text(page, '#call-plain-result'), /^failed: /)
      assert.ok(s.proxy.counts.forwarded > 0)
    })

    for (const status of Object.keys(GATEWAY_ANSWERS).map(Number)) {
      const mayHaveRun = [413, 502, 504].includes(status)
      it(`a gateway answering ${status} to an action: TRANSPORT_ERROR${mayHaveRun ? " with actionRan 'unknown'" : ''}, the plain call's error shown`, async (t) => {
        const before = await serverEvents()
        const answered = s.proxy.counts.answered + s.proxy.counts.answeredAfterForwarding
        const tab = await visit(t, `${proxied()}/gateway/${status}/`, '#call-safe')
        const { page } = tab
        await page.click('#call-safe')
        await waitShown(tab, '#call-safe-result', (v) => v !== '', 'the safe call')
        await page.click('#call-plain')
        await waitShown(tab, '#call-plain-result', (v) => v !== '', 'the plain call')
        assert.equal(s.proxy.counts.answered + s.proxy.counts.answeredAfterForwarding - answered, 2, 'the gateway answered both calls')
        await assertNoSkew(tab, before, `the gateway's ${status}`, ['#call-safe-result', '#call-plain-result'])
        const result = await resultOf(page, '#call-safe-result')
        assert.deepEqual(
          {
            error: result?.error,
            success: result?.success,
            requiresRefresh: result?.requiresRefresh,
            ...(mayHaveRun ? { actionRan: result?.actionRan } : {}),
          },
          { error: 'TRANSPORT_ERROR', success: false, requiresRefresh: false, ...(mayHaveRun ? { actionRan: 'unknown' } : {}) },
          `safe call result: ${JSON.stringify(result)}; shown ${JSON.stringify(await text(page, '#call-safe-result'))}`,
        )
        // Next.js 15/16 reject with their own message; 14 resolves `undefined` ("no answer").
        assert.match(await text(page, '#call-plain-result'), /^(failed: .+|no answer)$/)
      })
    }

    it("actions that fail: a plain action's rejection and a safe action's own error code are shown", async (t) => {
      const before = await serverEvents()
      const tab = await visit(t, `${direct()}/errors/`, '#call-throws')
      const { page } = tab
      await page.click('#call-throws')
      await waitShown(tab, '#call-throws-result', (v) => v !== '', 'the throwing action')
      await page.click('#call-refused')
      await waitShown(tab, '#call-refused-result', (v) => v !== '', 'the refusing safe action')
      await page.click('#call-safe')
      await waitShown(tab, '#call-safe-result', (v) => v !== '', 'the safe action')
      await assertNoSkew(tab, before, 'the failing actions', ['#call-throws-result', '#call-refused-result', '#call-safe-result'])
      assert.match(await text(page, '#call-throws-result'), /^failed: /)
      assert.equal(await text(page, '#call-refused-result'), 'error: NOT_ALLOWED')
      const refused = await resultOf(page, '#call-refused-result')
      assert.deepEqual(
        [refused.success, refused.error, refused.message, refused.requiresRefresh],
        [false, 'NOT_ALLOWED', 'You may not do that.', false],
      )
      const ok = await resultOf(page, '#call-safe-result')
      assert.deepEqual(
        [ok.success, ok.data, ok.buildId, ok.requiresRefresh, await text(page, '#call-safe-result')],
        [true, 'echo: ping', s.build.buildId, false, 'ok: echo: ping'],
        JSON.stringify(ok),
      )
    })

    it('a revalidating action: the fresh count renders in place', async (t) => {
      const before = await serverEvents()
      const tab = await visit(t, `${direct()}/revalidate/`, '#rev-bump')
      const { page } = tab
      const count = Number(await text(page, '#rev-count'))
      await page.click('#rev-bump')
      await waitShown(tab, '#rev-clicked', (v) => v === '1', 'the action to finish')
      await waitShown(tab, '#rev-count', (v) => Number(v) === count + 1, 'the revalidated count')
      await assertNoSkew(tab, before, 'the revalidating action', ['#rev-count', '#rev-badge'])
      assert.equal(await text(page, '#rev-badge'), 'badge v1')
    })

    it('code loaded on demand (next/dynamic and import()) loads without a reload', async (t) => {
      const before = await serverEvents()
      const tab = await visit(t, `${direct()}/lazy/`, '#open-widget')
      const { page } = tab
      await page.click('#open-widget')
      await waitShown(tab, '#widget', (v) => v === 'widget v1', 'the widget')
      await page.click('#open-chart')
      await waitShown(tab, '#chart', (v) => v === 'chart v1', 'the chart')
      await assertNoSkew(tab, before, 'the lazily loaded components', ['#widget', '#chart'])
    })

    it('links the app handles itself (href="#", preventDefault) are not taken over while a reload is pending', async (t) => {
      const before = await serverEvents()
      const tab = await visit(t, `${direct()}/links/`, '#arm-reload')
      const { page } = tab
      // The app reports an update it found itself: the guard waits for a safe moment to reload.
      await page.click('#arm-reload')
      await waitShown(tab, '#armed', (v) => v === 'reported', 'the report')
      await page.click('#menu-link')
      await page.click('#handled-link')
      await page.click('#handled-next-link')
      const selectors = ['#menu-count', '#handled-count', '#handled-next-count']
      const reported = [
        {
          kind: 'build-mismatch',
          source: 'app',
          actionRan: true,
          suppressed: false,
          clientBuildId: s.build.buildId,
          serverBuildId: null,
          path: `${BASE}/links/`,
        },
      ]
      await assertNoSkew(tab, before, 'clicks on links the app handles', selectors, { clientEvents: reported })
      assert.deepEqual(Object.values(await texts(page, selectors)), ['1', '1', '1'], 'every click reached the app')
      assert.equal(new URL(page.url()).pathname, `${BASE}/links/`)
      // The reload was pending all along: it happens once the tab is hidden (the user left it).
      await page.evaluate(() => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' })
        document.dispatchEvent(new Event('visibilitychange'))
      })
      await waitFor(async () => (await documents(tab)) === 2, 'the pending reload when the tab is hidden', { timeoutMs: 15_000 }).catch(
        async (error) => {
          throw new Error(`${error.message}\n${await tabReport(tab, selectors)}`)
        },
      )
    })

    it('a <SkewGuard> given NaN (an unset env var) falls back: the page renders and works', async (t) => {
      const before = await serverEvents()
      const tab = await visit(t, `${direct()}/bad-prop/`, '#ping')
      const { page } = tab
      assert.equal(await text(page, '#bad-prop-content'), 'This page rendered.')
      await page.click('#ping')
      await waitShown(tab, '#ping-count', (v) => v === '1', 'the page to respond')
      await assertNoSkew(tab, before, 'the page with a NaN prop', ['#bad-prop-content', '#ping-count'])
    })

    it('the health endpoint under basePath + trailingSlash: the page polls it and gets this build', async (t) => {
      const before = await serverEvents()
      const tab = await visit(t, `${direct()}/`, '#read-note', { clock: true })
      const { page } = tab
      // The first check comes one (jittered) interval after load; step the fake clock until two
      // checks were answered (the next is scheduled only after the previous answer was read).
      const answered = () => tab.polls.filter((p) => p.status === 200 && p.buildId !== undefined).length
      for (let i = 0; i < 40 && answered() < 2; i++) {
        await page.clock.fastForward(15_000)
        await page.waitForTimeout(250)
      }
      assert.ok(answered() >= 2, `the health checks: ${JSON.stringify(tab.polls)}`)
      for (const poll of tab.polls) {
        assert.ok(poll.status === 200 || poll.status === 308, `a health check answered ${poll.status}: ${JSON.stringify(tab.polls)}`)
        if (poll.status === 200) assert.equal(poll.buildId, s.build.buildId, JSON.stringify(tab.polls))
      }
      assert.ok(
        tab.polls.every((p) => p.url.startsWith(`${BASE}/`)),
        `polled under the base path: ${JSON.stringify(tab.polls)}`,
      )
      await assertNoSkew(tab, before, 'the health checks', [])
    })

    it('typing into every kind of field and saving (action and closure): saved, the text stays, nothing reloads', async (t) => {
      const before = await serverEvents()
      const tab = await visit(t, `${direct()}/keep/?fields=all`, '#keep-save')
      const { page } = tab
      await typeDraft(page, 'all')
      await page.click('#keep-save')
      await waitShown(tab, '#keep-status', (v) => v.startsWith('saved') || v.startsWith('not saved'), 'the save')
      assert.equal(await text(page, '#keep-status'), `saved: ${describedDraft('all')}`)
      await page.click('#keep-save-closure')
      const draft = await text(page, '#draft-id')
      await waitShown(tab, '#keep-status', (v) => v.startsWith(`saved: ${draft}`) || v.startsWith('not saved'), 'the closure save')
      assert.equal(await text(page, '#keep-status'), `saved: ${draft}: ${describedDraft('all')}`)
      await assertNoSkew(tab, before, 'typing and saving', ['#keep-status'])
      assert.deepEqual(await readDraft(page, 'all'), typedFor('all'))
    })

    it('an inline closure awaited by the app answers with its sealed value', async (t) => {
      const before = await serverEvents()
      const tab = await visit(t, `${direct()}/closure/`, '#closure-read')
      const { page } = tab
      const ticket = await text(page, '#ticket')
      await page.click('#closure-read')
      await waitShown(tab, '#closure-result', (v) => v !== '', 'the closure')
      await assertNoSkew(tab, before, 'the closure', ['#closure-result'])
      assert.equal(await text(page, '#closure-result'), `the server sealed "${ticket}"`)
    })
  })
}

/**
 * `shout`'s action ID in the build: from the manifest's names (15.5, 16), else found by the hash
 * webpack builds use: 14 `sha1(<absolute path>:shout)`; 15.x an info byte, then
 * `sha1(<key><absolute path>:shout)`.
 */
function shoutId(s) {
  if (s.build.actions.shout) return s.build.actions.shout
  const file = path.join(s.app.dir, 'app', 'actions.ts')
  const sha1 = (text) => createHash('sha1').update(text).digest('hex')
  const hash = s.build.actionIds[0]?.length === 40 ? sha1(`${file}:shout`) : sha1(`${s.key}${file}:shout`)
  const id = s.build.actionIds.find((candidate) => candidate.endsWith(hash))
  assert.ok(id, `no action ID ending in ${hash} (shout) in the build: ${s.build.actionIds.join(', ')}`)
  return id
}

/** The element's text, failing within 2 s when it is not there. */
function text(page, selector) {
  return page.locator(selector).textContent({ timeout: 2_000 })
}
