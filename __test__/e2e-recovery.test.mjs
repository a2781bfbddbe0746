// The skew-recovery suite: a guarded v1/v2 pair per Next.js major (14.2, 15.5, 16: the recovery
// list of scripts/next-versions.json) of the example with the reliability/ pages, deployed one after the other on the same
// port, with tabs of the old deploy open in headless Chromium. What must hold:
// - typed text is never lost: a Save the new deploy refuses (its action was renamed), or a closure
//   sealed with a key the server no longer has, leaves every typed value in its field (controlled
//   and uncontrolled inputs, textarea, select, contenteditable), whatever the guard reloads;
// - a component loaded on demand (next/dynamic, import()) whose chunk the new deploy no longer has
//   costs exactly one document load, then renders the new deploy's component, never a crash screen;
// - a revalidating action answered by the new deploy (its page adds a client component and changes
//   another) ends on the new deploy's document (one load), with the action's effect shown and no
//   crash (Next.js 15.5 alone throws "e[o] is not a function" and shows "Application error");
// - an inline closure the app awaits itself, sealed with a key the server no longer has: one
//   reload, then it works.
//
// Two builds per version (own work copy: os.tmpdir()/nsg-e2e/next-<v>/recovery). NSG_SKIP_E2E=1
// skips the suite; NSG_E2E_VERSIONS=16,14 runs a subset.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { after, before, describe, it } from 'node:test'

import { launchChromium } from '../scripts/e2e/browser.mjs'
import { step } from '../scripts/e2e/log.mjs'
import {
  applyReliabilityOverlay,
  crashScreen,
  describedDraft,
  documents,
  openPage,
  readDraft,
  settle,
  tabReport,
  waitShown,
  TYPED,
  typeDraft,
  typedFor,
} from '../scripts/e2e/reliability.mjs'
import { freePort, startServer, waitFor } from '../scripts/e2e/server.mjs'
import { applyV2Overlay, build, ensureChromium, MATRIX, prepareApp } from '../scripts/e2e/setup.mjs'
import { RECOVERY_VERSIONS } from '../scripts/next-versions.mjs'

const require = createRequire(import.meta.url)
const { generateKey } = require('next-skew-guard')

const SKIP = process.env.NSG_SKIP_E2E === '1' ? 'NSG_SKIP_E2E=1' : false
const ORDER = RECOVERY_VERSIONS
const SELECTED = (process.env.NSG_E2E_VERSIONS || ORDER.join(',')).split(',').map((v) => v.trim())
const RUN = randomBytes(3).toString('hex')
/** The keep pages opened in the old tabs: the controlled input alone, the contenteditable alone, every field. */
const KEEP = ['title', 'notes', 'all']
const KEEP_SELECTORS = ['#keep-status', '#keep-title-echo']

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

/** Waits for `tab`'s reaction to a click: an action answer, a new document, or a crash screen. */
async function reaction(tab, before, what) {
  await waitFor(
    async () => tab.actions.length > before.actions || (await documents(tab)) > before.documents || (await crashScreen(tab.page)) !== null,
    what,
    { timeoutMs: 20_000, everyMs: 100 },
  ).catch(async (error) => {
    throw new Error(`${error.message}\n${await tabReport(tab)}`)
  })
}

const mark = async (tab) => ({ actions: tab.actions.length, documents: await documents(tab) })

for (const version of ORDER) {
  const pins = MATRIX[version]
  const skip = SKIP || (SELECTED.includes(version) ? false : 'not in NSG_E2E_VERSIONS')
  const hook = { edge: 'Edge middleware', nodejs: 'Node middleware', proxy: 'proxy.ts' }[pins.runtime]

  describe(`skew recovery, Next.js ${pins.next} (${hook}): typed text, chunk loads, revalidation, closures`, {
    skip,
    timeout: 20 * 60_000,
  }, () => {
    const s = { app: null, v1: null, v2: null, server: null, port: null, tabs: {}, keys: { k1: generateKey(), k3: generateKey() } }

    async function serve(options) {
      await s.server?.stop()
      s.server = null
      s.server = await startServer({ app: s.app, port: s.port, ...options })
      return s.server
    }

    async function open(key, path, ready) {
      s.tabs[key] = await openPage(await browser(), `${s.server.url}${path}`, { ready })
      return s.tabs[key]
    }

    before(
      async () => {
        s.app = await prepareApp({ version, name: 'recovery' })
        applyReliabilityOverlay(s.app)
        s.v1 = await build(s.app, { name: 'recovery-v1', distDir: '.next-v1', buildId: `recovery-v1-${RUN}`, key: s.keys.k1 })
        applyV2Overlay(s.app)
        applyReliabilityOverlay(s.app, { stage: 'v2' })
        s.v2 = await build(s.app, { name: 'recovery-v2', distDir: '.next-v2', buildId: `recovery-v2-${RUN}`, key: s.keys.k1 })
        s.port = await freePort()
        await serve({ build: s.v1, key: s.keys.k1, label: `recovery ${version} v1` })
        await step('opening tabs of v1 and typing into the keep forms', async () => {
          for (const fields of KEEP) {
            const tab = await open(`keep-${fields}`, `/keep/?fields=${fields}`, '#keep-save')
            await typeDraft(tab.page, fields)
          }
          await open('widget', '/lazy/', '#open-widget')
          await open('chart', '/lazy/', '#open-chart')
          await open('revalidate', '/revalidate/', '#rev-bump')
        })
        await step(`deploying v2 on the same port :${s.port}`, () =>
          serve({ build: s.v2, key: s.keys.k1, label: `recovery ${version} v2` }),
        )
      },
      { timeout: 15 * 60_000 },
    )

    after(async () => {
      for (const tab of Object.values(s.tabs)) await tab.close().catch(() => {})
      await s.server?.stop().catch(() => {})
    })

    for (const fields of KEEP) {
      const label = { title: 'a React-controlled input', notes: 'a contenteditable', all: 'every kind of field' }[fields]
      it(`typed text survives a Save the new deploy refuses (renamed action): ${label}; Save then stores it`, async () => {
        const tab = s.tabs[`keep-${fields}`]
        const { page } = tab
        const before = await mark(tab)
        await page.click('#keep-save')
        await reaction(tab, before, 'the Save to get an answer')
        await settle(tab)
        const report = async () => tabReport(tab, KEEP_SELECTORS)
        assert.deepEqual(await readDraft(page, fields), typedFor(fields), `the fields after the refused Save\n${await report()}`)
        assert.equal(await crashScreen(page), null)
        if (fields !== 'notes') {
          assert.equal(await text(page, '#keep-title-echo'), TYPED.title, `the controlled input's state\n${await report()}`)
        }
        // Whatever the guard did, the user's next Save stores exactly what was typed.
        await page.click('#keep-save')
        await waitShown(tab, '#keep-status', (v) => v.startsWith('saved') || v.startsWith('not saved'), 'the second Save')
        await settle(tab)
        assert.equal(await text(page, '#keep-status'), `saved: ${describedDraft(fields)}`, await report())
        assert.equal(await text(page, '#doc-build'), s.v2.buildId, 'the page is the new deploy’s')
      })
    }

    for (const [key, button, output, what] of [
      ['widget', '#open-widget', '#widget', 'a next/dynamic component'],
      ['chart', '#open-chart', '#chart', 'an import()ed component'],
    ]) {
      it(`${what} whose chunk the new deploy no longer has: one document load, no crash screen, then the new deploy's component`, async () => {
        const tab = s.tabs[key]
        const { page } = tab
        const before = await mark(tab)
        await page.click(button)
        await waitFor(
          async () =>
            (await documents(tab)) > before.documents || (await crashScreen(page)) !== null || (await page.locator(output).count()) > 0,
          'a reaction to the missing chunk',
          { timeoutMs: 20_000 },
        ).catch(async (error) => {
          throw new Error(`${error.message}\n${await tabReport(tab, [output])}`)
        })
        await settle(tab)
        const observed = {
          documents: await documents(tab),
          crashScreen: await crashScreen(page),
          documentBuild: await page
            .locator('#doc-build')
            .textContent({ timeout: 1_000 })
            .catch(() => null),
        }
        assert.deepEqual(
          observed,
          { documents: 2, crashScreen: null, documentBuild: s.v2.buildId },
          `after the click\n${await tabReport(tab, [output])}`,
        )
        await page.click(button)
        await waitShown(tab, output, (v) => v.startsWith(`${key} v2`), `the new deploy's ${key}`)
        await settle(tab)
        assert.deepEqual([await documents(tab), await crashScreen(page)], [2, null], await tabReport(tab, [output]))
      })
    }

    it("a revalidating action answered by the new deploy: its document (one load), the action's effect, no crash", async () => {
      const tab = s.tabs.revalidate
      const { page } = tab
      const before = await mark(tab)
      await page.click('#rev-bump')
      await reaction(tab, before, 'the action to answer')
      await settle(tab)
      const selectors = ['#rev-badge', '#rev-ribbon', '#rev-count']
      const observed = {
        documents: await documents(tab),
        crashScreen: await crashScreen(page),
        documentBuild: await page
          .locator('#doc-build')
          .textContent({ timeout: 1_000 })
          .catch(() => null),
        badge: await page
          .locator('#rev-badge')
          .textContent({ timeout: 1_000 })
          .catch(() => null),
        ribbon: await page
          .locator('#rev-ribbon')
          .textContent({ timeout: 1_000 })
          .catch(() => null),
        count: await page
          .locator('#rev-count')
          .textContent({ timeout: 1_000 })
          .catch(() => null),
      }
      assert.deepEqual(
        observed,
        { documents: 2, crashScreen: null, documentBuild: s.v2.buildId, badge: 'badge v2', ribbon: 'new in v2', count: '1' },
        `after the revalidating action\n${await tabReport(tab, selectors)}`,
      )
      assert.equal(tab.actions.at(-1)?.status, 200, JSON.stringify(tab.actions))
    })

    describe('the key changed without keeping the old one', () => {
      before(
        async () => {
          await step('opening tabs of v2 and typing into a keep form', async () => {
            await open('closure', '/closure/', '#closure-read')
            const tab = await open('keep-closure', '/keep/?fields=all', '#keep-save-closure')
            await typeDraft(tab.page, 'all')
          })
          await step('restarting v2 with another key and no previous key', () =>
            serve({ build: s.v2, key: s.keys.k3, label: `recovery ${version} v2, key changed` }),
          )
        },
        { timeout: 5 * 60_000 },
      )

      it('an inline closure the app awaits itself: one reload, then it works', async () => {
        const tab = s.tabs.closure
        const { page } = tab
        const before = await mark(tab)
        await page.click('#closure-read')
        await reaction(tab, before, 'the closure call to get an answer')
        await settle(tab)
        const first = tab.actions[before.actions]
        assert.equal(
          await documents(tab),
          2,
          `one reload after the closure call (answer: ${JSON.stringify(first)})\n${await tabReport(tab, ['#closure-result'])}`,
        )
        assert.deepEqual([first?.status, first?.guard], [500, 'unknown-key'], `the answer was marked: ${JSON.stringify(first)}`)
        const ticket = await text(page, '#ticket')
        await page.click('#closure-read')
        await waitShown(tab, '#closure-result', (v) => v !== '', 'the closure after the reload')
        await settle(tab)
        assert.deepEqual(
          [await text(page, '#closure-result'), await documents(tab), await crashScreen(page)],
          [`the server sealed "${ticket}"`, 2, null],
          await tabReport(tab, ['#closure-result']),
        )
      })

      it('typed text survives a closure Save the server cannot open; the closure Save then stores it', async () => {
        const tab = s.tabs['keep-closure']
        const { page } = tab
        const before = await mark(tab)
        await page.click('#keep-save-closure')
        await reaction(tab, before, 'the closure Save to get an answer')
        await settle(tab)
        const report = async () => tabReport(tab, KEEP_SELECTORS)
        assert.deepEqual(await readDraft(page, 'all'), typedFor('all'), `the fields after the failed closure Save\n${await report()}`)
        assert.equal(await text(page, '#keep-title-echo'), TYPED.title, `the controlled input's state\n${await report()}`)
        const draft = await text(page, '#draft-id')
        await page.click('#keep-save-closure')
        await waitShown(tab, '#keep-status', (v) => v.startsWith('saved') || v.startsWith('not saved'), 'the second closure Save')
        await settle(tab)
        assert.equal(await text(page, '#keep-status'), `saved: ${draft}: ${describedDraft('all')}`, await report())
      })
    })
  })
}

/** The element's text, failing within 2 s when it is not there. */
function text(page, selector) {
  return page.locator(selector).textContent({ timeout: 2_000 })
}
