// A rolling update without routing: replicas of build v1 and build v2 behind one round-robin
// balancer (scripts/e2e/round-robin.mjs), so a tab's health polls and actions alternate between
// builds. The client guard must neither reload in a loop nor announce an update that has not
// settled: at most one reload per tab for one version change. Real `next build` + `next start` of
// Next.js 16 (two builds of the example app), headless Chromium, a fake clock for the polls. Then
// the same fleet with routing configured: every replica forwards what belongs to the other build
// (in-app forwarding, the registry naming both), and each tab stays on its own build. What each tab
// saw goes into docs/compatibility.md (scripts/e2e/compatibility-doc.mjs).
// NSG_SKIP_E2E=1 skips it.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { launchChromium, openTab } from '../scripts/e2e/browser.mjs'
import { fleetResultsFile, saveResults } from '../scripts/e2e/compatibility-doc.mjs'
import { step } from '../scripts/e2e/log.mjs'
import { startRoundRobin } from '../scripts/e2e/round-robin.mjs'
import { deploymentsCli } from '../scripts/e2e/routed.mjs'
import { startServer, waitFor } from '../scripts/e2e/server.mjs'
import { ensureChromium } from '../scripts/e2e/setup.mjs'
import { sharedGuardBuilds } from '../scripts/e2e/shared-builds.mjs'

const SKIP = process.env.NSG_SKIP_E2E === '1' ? 'NSG_SKIP_E2E=1' : false
const MINUTE = 60_000

const state = { servers: [], tabs: [] }
/** What each case's tab saw, for docs/compatibility.md (saved when every case observed it). */
const seen = {}

after(async () => {
  if (seen.polls && seen.settled && seen.v1Bounce && seen.v2Bounce && seen.routed)
    saveResults(fleetResultsFile(), { next: state.next, ...seen })
  for (const tab of state.tabs) await tab.close().catch(() => {})
  await state.browser?.close().catch(() => {})
  await state.lb?.stop().catch(() => {})
  await Promise.all(state.servers.map((s) => s.stop().catch(() => {})))
  state.cleanup?.()
})

/** The build the page in `tab` came from. */
const pageBuild = (tab) => tab.page.locator('#page-build').textContent()

/** A tab through the balancer whose document came from `buildId` (documents alternate, so at most a few tries). */
async function tabOf(buildId, { clock = false } = {}) {
  for (let attempt = 0; attempt < 4; attempt++) {
    const tab = await openTab(state.browser, state.lb.url, { clock })
    state.tabs.push(tab)
    if ((await pageBuild(tab)) === buildId) return tab
    await tab.close()
  }
  throw new Error(`no document from ${buildId} in four tries`)
}

/** Moves the tab's fake clock on by `ms` and lets the polls it starts finish. */
async function advance(tab, ms) {
  const before = tab.health.length
  await tab.page.clock.fastForward(ms)
  await waitFor(async () => tab.health.length > before || null, 'a health poll', { timeoutMs: 10_000 }).catch(() => {})
  await tab.page.waitForTimeout(300)
}

/** The answer the page shows for the last click of #say-hello ('' when none). */
const shownAnswer = async (tab) =>
  (
    (await tab.page
      .locator('#say-hello-result')
      .textContent({ timeout: 2_000 })
      .catch(() => '')) ?? ''
  ).trim()

// The example shows its own notice through <SkewGuard fallback={…}> (app/skew-banner.tsx).
const banner = (tab) => tab.page.locator('#skew-banner').count()

describe('a mixed fleet (v1 and v2 replicas behind one round-robin balancer, no routing), Next.js 16', {
  skip: SKIP,
  timeout: 15 * MINUTE,
}, () => {
  before(
    async () => {
      await ensureChromium()
      // The run's shared guarded builds (the matrix and routed suites serve the same ones).
      const { app, key, v1, v2 } = await sharedGuardBuilds('16')
      Object.assign(state, { app, key })
      state.next = JSON.parse(fs.readFileSync(path.join(app.dir, 'node_modules', 'next', 'package.json'), 'utf8')).version
      state.v1 = v1
      state.v2 = v2
      const [s1, s2] = await Promise.all([
        startServer({ app, build: state.v1, key, label: 'fleet v1' }),
        startServer({ app, build: state.v2, key, label: 'fleet v2' }),
      ])
      state.servers.push(s1, s2)
      state.s1 = s1
      state.s2 = s2
      // The deployment IDs withSkewGuard derived from the identities (they are plain already).
      state.lb = await startRoundRobin([s1.url, s2.url], { assets: { [state.v1.buildId]: s1.url, [state.v2.buildId]: s2.url } })
      state.browser = await step('launching Chromium', () => launchChromium())
    },
    { timeout: 12 * MINUTE },
  )

  it('health polls alternating between builds never settle: no announcement, no reload; once the fleet settles, one notice and still no reload', async () => {
    state.lb.setUpstreams([state.s1.url, state.s2.url])
    const tab = await tabOf(state.v1.buildId, { clock: true })
    for (let i = 0; i < 12; i++) await advance(tab, i % 3 === 0 ? 1.25 * MINUTE : 4_000)
    seen.polls = { polls: tab.health.length, banner: await banner(tab), loads: tab.loads }
    assert.ok(tab.health.length >= 6, `polled ${tab.health.length} times`)
    assert.equal(await banner(tab), 0, 'no update announced while replicas of both builds answer')
    assert.equal(tab.loads, 1, 'no reload')
    // v1's replicas are gone: every answer names v2.
    state.lb.setUpstreams([state.s2.url])
    for (let i = 0; i < 6 && (await banner(tab)) === 0; i++) await advance(tab, i === 0 ? 1.25 * MINUTE : 4_000)
    const kind = (await banner(tab)) ? await tab.page.locator('#skew-banner').getAttribute('data-kind') : null
    seen.settled = { banner: await banner(tab), kind, loads: tab.loads }
    assert.equal(await banner(tab), 1, 'the settled update is announced')
    assert.equal(kind, 'build-mismatch')
    assert.equal(tab.loads, 1, 'a visible page is never reloaded for a version check')
  })

  it('a v1 tab whose clicks bounce between replicas reloads at most once, never in a loop', async () => {
    state.lb.setUpstreams([state.s1.url, state.s2.url])
    const tab = await tabOf(state.v1.buildId)
    // greet exists on v1 only: every other click lands on v2, which refuses it.
    for (let i = 0; i < 6; i++) {
      await tab.page
        .locator('#say-hello')
        .click()
        .catch(() => {})
      await tab.page.waitForTimeout(1_500)
    }
    seen.v1Bounce = {
      clicks: tab.actions.length,
      refused: tab.actions.filter((a) => a.guard === 'unknown-action').length,
      ranOnV1: tab.actions.filter((a) => a.serverBuild === state.v1.buildId && a.status === 200).length,
      loads: tab.loads,
      shown: await shownAnswer(tab),
    }
    assert.ok(
      tab.actions.some((a) => a.guard === 'unknown-action'),
      'some clicks reached v2 and were refused',
    )
    assert.ok(tab.loads <= 2, `at most one reload (loads: ${tab.loads})`)
  })

  it('a v2 tab whose action lands on a v1 replica reloads at most once', async () => {
    state.lb.setUpstreams([state.s1.url, state.s2.url])
    const tab = await tabOf(state.v2.buildId)
    for (let i = 0; i < 4; i++) {
      await tab.page
        .locator('#say-hello')
        .click()
        .catch(() => {})
      await tab.page.waitForTimeout(1_500)
    }
    seen.v2Bounce = {
      clicks: tab.actions.length,
      onV1: tab.actions.filter((a) => a.serverBuild === state.v1.buildId).length,
      loads: tab.loads,
      shown: await shownAnswer(tab),
    }
    assert.ok(
      tab.actions.some((a) => a.serverBuild === state.v1.buildId),
      'some clicks reached a v1 replica',
    )
    assert.ok(tab.loads <= 2, `at most one reload (loads: ${tab.loads})`)
  })
  it("with routing configured (every replica forwards what is the other build's), each tab stays on its own build: nothing refused, no reload", async () => {
    const root = fs.mkdtempSync(path.join(state.app.work, 'fleet-'))
    state.cleanup = () => fs.rmSync(root, { recursive: true, force: true })
    const registry = path.join(root, 'deployments.json')
    const env = { SKEW_GUARD_FORWARD: '1', SKEW_GUARD_DEPLOYMENTS: registry }
    const [r1, r2] = await Promise.all([
      startServer({ app: state.app, build: state.v1, key: state.key, label: 'fleet v1 forwarding', env }),
      startServer({ app: state.app, build: state.v2, key: state.key, label: 'fleet v2 forwarding', env }),
    ])
    state.servers.push(r1, r2)
    const idOf = async (server, build) => (await (await fetch(`${server.url}/api/health`)).json()).deploymentId ?? build.buildId
    const ids = { v1: await idOf(r1, state.v1), v2: await idOf(r2, state.v2) }
    const add = (name, server, build) =>
      deploymentsCli(
        ['add', ids[name], '--upstream', `127.0.0.1:${server.port}`, '--dir', state.app.dir, '--dist-dir', build.distDir],
        registry,
      )
    add('v1', r1, state.v1)
    deploymentsCli(['promote', ids.v1], registry)
    state.lb.setUpstreams([r1.url, r2.url])
    const oldTab = await tabOf(state.v1.buildId)
    // The rolling update: v2 becomes the current deployment while v1's replicas still get traffic.
    add('v2', r2, state.v2)
    deploymentsCli(['promote', ids.v2], registry)
    // The guards read the registry at most once a second.
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    const newTab = await tabOf(state.v2.buildId)
    const sentBefore = new Map(state.lb.sent)
    const click = async (tab) => {
      for (let i = 0; i < 4; i++) {
        await tab.page.locator('#say-hello').click()
        await waitFor(() => tab.actions.length > i || null, 'the action answer', { timeoutMs: 15_000 })
      }
    }
    await click(oldTab)
    await click(newTab)
    const summary = (tab, build) => ({
      clicks: tab.actions.length,
      onOwnBuild: tab.actions.filter((a) => a.status === 200 && a.serverBuild === build.buildId).length,
      refused: tab.actions.filter((a) => a.guard).length,
      loads: tab.loads,
      shown: '',
    })
    seen.routed = { v1: summary(oldTab, state.v1), v2: summary(newTab, state.v2) }
    seen.routed.v1.shown = await shownAnswer(oldTab)
    seen.routed.v2.shown = await shownAnswer(newTab)
    // Both replicas got the tabs' requests: the balancer really alternated.
    for (const r of [r1, r2]) assert.ok((state.lb.sent.get(r.url) ?? 0) > (sentBefore.get(r.url) ?? 0), `${r.url} got requests`)
    for (const [name, tab] of [
      ['v1', oldTab],
      ['v2', newTab],
    ]) {
      const s = seen.routed[name]
      assert.deepEqual(
        { onOwnBuild: s.onOwnBuild, refused: s.refused, loads: s.loads },
        { onOwnBuild: 4, refused: 0, loads: 1 },
        `${name}: ${JSON.stringify(tab.actions)}`,
      )
    }
    assert.match(seen.routed.v1.shown, /Hello, Ada/)
  })
})
