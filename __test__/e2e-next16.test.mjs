// End to end on a real Next.js 16 (scripts/next-versions.json): `next build` + `next start` of examples/next-app with the
// packed package installed, HTTP requests in Next.js's own wire format, and headless Chromium.
//
// Two deploys of one checkout, as in production: build "v1", then the v2 overlay
// (examples/next-app/v2: `greet` renamed to `welcome`, `shout` reimplemented) built as "v2" into
// another dist dir of the same directory, with the same key. Each build is made once per `npm test`
// run and shared with the other suites that need it (scripts/e2e/shared-builds.mjs); every case
// starts the `next start` servers it needs (127.0.0.1, free ports) and stops them by PID.
//
// Needs: dist/ and native/*.node (npm test builds both first), npm registry access on the first
// run (Next.js is cached in os.tmpdir()/nsg-e2e/next-16), /usr/bin/chromium (installed with
// apt-get when missing). NSG_SKIP_E2E=1 skips the suite.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'

import {
  documentsSeen,
  launchChromium,
  navigationType,
  openTab,
  textWhen,
  useEveryActionOfV1,
  waitHydrated,
} from '../scripts/e2e/browser.mjs'
import { actionResult, callAction, callClosure, loadPage, postNoJsForm, skewStats } from '../scripts/e2e/http.mjs'
import { progress, step } from '../scripts/e2e/log.mjs'
import { freePort, startServer, waitFor } from '../scripts/e2e/server.mjs'
import { build, ensureChromium, VERSIONS } from '../scripts/e2e/setup.mjs'
import { sharedGuardBuilds } from '../scripts/e2e/shared-builds.mjs'
import { startSplitProxy } from '../scripts/e2e/split-proxy.mjs'

const require = createRequire(import.meta.url)
const { generateKey, keyCheckValue, Keyring } = require('next-skew-guard')

const SKIP = process.env.NSG_SKIP_E2E === '1' ? 'NSG_SKIP_E2E=1' : false
const RUN = randomBytes(3).toString('hex')
/** The default cooldown of <SkewGuard> (the example does not change it). */
const COOLDOWN_MS = 30_000
const RELOAD_KEY = 'next-skew-guard:last-reload'

/** Shared state: the work copy, keys, both builds, lazily started servers, the browser. */
const e2e = {
  app: null,
  // k1 is the shared builds' key (set in before()); k2 a key they were never built with.
  keys: { k1: null, k2: generateKey() },
  v1: null,
  v2: null,
  pool: new Map(),
  browser: null,
}

before(
  async () => {
    if (SKIP) return
    await ensureChromium()
    // The run's guarded v1 and v2 of the example (built by the first suite that needs them).
    const shared = await sharedGuardBuilds('16')
    Object.assign(e2e, { app: shared.app, v1: shared.v1, v2: shared.v2 })
    e2e.keys.k1 = shared.key
  },
  { timeout: 12 * 60_000 },
)

after(async () => {
  await e2e.browser?.close().catch(() => {})
  await Promise.all([...e2e.pool.values()].map(async (p) => (await p.catch(() => null))?.stop()))
})

const SERVERS = {
  v1: () => ({ build: e2e.v1, key: e2e.keys.k1 }),
  v2: () => ({ build: e2e.v2, key: e2e.keys.k1 }),
  'v2 reject': () => ({ build: e2e.v2, key: e2e.keys.k1, policy: 'reject' }),
  // The same v1 build, restarted with a new runtime key and the old one as previous (see the
  // rotation cases for why the build stays).
  'v1 rotated': () => ({ build: e2e.v1, key: e2e.keys.k2, previousKeys: [e2e.keys.k1] }),
}

/** A server shared by the cases that only send requests to it (started once, stopped in after()). */
function shared(name) {
  if (!e2e.pool.has(name)) e2e.pool.set(name, startServer({ app: e2e.app, label: `server ${name}`, ...SERVERS[name]() }))
  return e2e.pool.get(name)
}

/** A server owned by one case: stopped when the case ends, pass or fail. */
async function owned(t, name, options = {}) {
  const server = await startServer({ app: e2e.app, label: `server ${name}`, ...SERVERS[name](), ...options })
  t.after(() => server.stop())
  return server
}

async function browser() {
  e2e.browser ??= await step('launching Chromium', () => launchChromium())
  return e2e.browser
}

async function tab(t, url, options) {
  const opened = await openTab(await browser(), url, options)
  t.after(() => opened.close())
  return opened
}

const header = (response, name) => response.headers.get(name)

describe(`Next.js ${VERSIONS.next}, next start: the server-side guard`, { skip: SKIP, timeout: 5 * 60_000 }, () => {
  it('two deploys of one checkout: unchanged actions keep their IDs, the renamed one does not', () => {
    const { v1, v2 } = e2e
    assert.equal(v1.actions.shout, v2.actions.shout, 'shout (reimplemented, same name) keeps its ID')
    assert.equal(v1.actions.saveNote, v2.actions.saveNote)
    assert.equal(v1.actions.readNote, v2.actions.readNote, 'the inline closure keeps its ID')
    assert.ok(v1.actions.greet && !Object.values(v2.actions).includes(v1.actions.greet), 'v2 does not know greet')
    assert.ok(v2.actions.welcome && !Object.values(v1.actions).includes(v2.actions.welcome), 'v1 does not know welcome')
  })

  it('an action ID the build does not know gets 409 unknown-action (JS call and no-JS form)', async () => {
    const [v1, v2] = await Promise.all([shared('v1'), shared('v2')])
    const before = await skewStats(v2.url)

    // A v1 tab calls `greet`, which v2 renamed.
    const stale = await callAction(v2.url, e2e.v1.actions.greet, ['Ada'], { 'x-skew-guard-build': e2e.v1.buildId })
    assert.equal(stale.status, 409)
    assert.equal(header(stale, 'x-skew-guard'), 'unknown-action')
    assert.equal(header(stale, 'x-nextjs-action-not-found'), '1')
    assert.equal(header(stale, 'content-type'), 'text/plain')
    assert.equal(header(stale, 'x-build-id'), e2e.v2.buildId)

    // The same from an ID neither build has (a newer deploy's, or junk of the right shape).
    const unknown = await callAction(v1.url, `7f${randomBytes(20).toString('hex')}`, ['x'])
    assert.equal(unknown.status, 409)
    assert.equal(header(unknown, 'x-skew-guard'), 'unknown-action')
    assert.equal(header(unknown, 'x-nextjs-action-not-found'), '1')

    // A no-JS form post of the old ID gets a page a person can read.
    const form = await postNoJsForm(v2.url, e2e.v1.actions.greet, { name: 'Ada' })
    assert.equal(form.status, 409)
    assert.equal(header(form, 'x-skew-guard'), 'unknown-action')
    assert.match(header(form, 'content-type'), /^text\/html/)
    assert.match(form.body, /Reload the page/)

    // Control: v2's own action on v2 runs and carries no verdict.
    const ok = await callAction(v2.url, e2e.v2.actions.welcome, ['Ada'], { 'x-skew-guard-build': e2e.v2.buildId })
    assert.equal(ok.status, 200)
    assert.equal(header(ok, 'x-skew-guard'), null)
    assert.deepEqual(actionResult(ok.body), { success: true, data: 'Welcome, Ada!', buildId: e2e.v2.buildId })

    const afterwards = await skewStats(v2.url)
    assert.equal(afterwards.byKind['unknown-action'] - before.byKind['unknown-action'], 2)
  })

  it("a page of the previous build, policy 'reload-after': the action runs, the answer says x-skew-guard: reload", async () => {
    const v2 = await shared('v2')
    const before = await skewStats(v2.url)
    const stale = await callAction(v2.url, e2e.v1.actions.shout, ['hello'], { 'x-skew-guard-build': e2e.v1.buildId })
    assert.equal(stale.status, 200)
    assert.equal(header(stale, 'x-skew-guard'), 'reload')
    assert.equal(header(stale, 'x-build-id'), e2e.v2.buildId)
    // v2's implementation ran (v1 would have answered "hello!").
    assert.deepEqual(actionResult(stale.body), { success: true, data: 'HELLO!', buildId: e2e.v2.buildId })
    assert.equal((await skewStats(v2.url)).byKind['stale-build'] - before.byKind['stale-build'], 1)

    const current = await callAction(v2.url, e2e.v2.actions.shout, ['hello'], { 'x-skew-guard-build': e2e.v2.buildId })
    assert.equal(current.status, 200)
    assert.equal(header(current, 'x-skew-guard'), null)
  })

  it("a page of the previous build, policy 'reject': 409 stale-build, the action does not run", async () => {
    const v2 = await shared('v2 reject')
    const stale = await callAction(v2.url, e2e.v1.actions.shout, ['hello'], { 'x-skew-guard-build': e2e.v1.buildId })
    assert.equal(stale.status, 409)
    assert.equal(header(stale, 'x-skew-guard'), 'stale-build')
    assert.equal(header(stale, 'x-nextjs-action-not-found'), '1')
    assert.equal(actionResult(stale.body), null, 'no Flight result: the action did not run')
    assert.match(stale.body, /another deployment/)

    const current = await callAction(v2.url, e2e.v2.actions.shout, ['hello'], { 'x-skew-guard-build': e2e.v2.buildId })
    assert.equal(current.status, 200)
    assert.deepEqual(actionResult(current.body), { success: true, data: 'HELLO!', buildId: e2e.v2.buildId })
  })

  it('a closure sealed with the previous key gets 409 key-rotated; after a reload the same closure works', async () => {
    // On Next.js 16 the build key also salts action IDs, so rebuilding with a new key makes every
    // ID unknown (the case above). Rotating only the runtime key keeps the IDs: closures rendered
    // before the rotation are sealed with the old key, which SKEW_GUARD_PREVIOUS_KEYS still knows.
    const closure = e2e.v1.actions.readNote
    const v1 = await shared('v1')
    const old = await loadPage(v1.url, closure)
    const works = await callClosure(v1.url, closure, old.payload)
    assert.equal(works.status, 200)
    assert.deepEqual(actionResult(works.body), { success: true, data: `the server sealed "${old.note}"`, buildId: e2e.v1.buildId })

    const rotated = await shared('v1 rotated')
    const before = await skewStats(rotated.url)
    const refused = await callClosure(rotated.url, closure, old.payload, [], { 'x-skew-guard-build': e2e.v1.buildId })
    assert.equal(refused.status, 409)
    assert.equal(header(refused, 'x-skew-guard'), 'key-rotated')
    assert.equal(header(refused, 'x-nextjs-action-not-found'), '1')
    assert.equal((await skewStats(rotated.url)).byKind['key-rotated'] - before.byKind['key-rotated'], 1)

    // "Reload": the page rendered now is sealed with the new key, and its closure runs.
    const fresh = await loadPage(rotated.url, closure)
    assert.notEqual(fresh.payload, old.payload)
    assert.equal(new Keyring({ current: e2e.keys.k2 }).verifySync(fresh.payload, closure).status, 'current')
    const again = await callClosure(rotated.url, closure, fresh.payload, [], { 'x-skew-guard-build': e2e.v1.buildId })
    assert.equal(again.status, 200)
    assert.equal(header(again, 'x-skew-guard'), null)
    assert.deepEqual(actionResult(again.body), { success: true, data: `the server sealed "${fresh.note}"`, buildId: e2e.v1.buildId })
  })

  it('a closure sealed with a key the server never had reaches Next.js (500) and is recorded as unknown-key', async () => {
    const closure = e2e.v1.actions.readNote
    const v1 = await shared('v1')
    const before = await skewStats(v1.url)
    const forged = new Keyring({ current: generateKey() }).sealSync(closure, '0:["forged note"]\n')
    const response = await callClosure(v1.url, closure, forged)
    assert.equal(response.status, 500, 'Next.js itself refuses the payload')
    assert.equal(header(response, 'x-skew-guard'), 'unknown-key', "Next.js's refusal, marked as skew by the guard")
    assert.match(response.body, /^1:E\{"digest":/m)
    const afterwards = await skewStats(v1.url)
    assert.equal(afterwards.byKind['unknown-key'] - before.byKind['unknown-key'], 1, JSON.stringify(afterwards))
    // Next.js's own decrypt failure, reported through onRequestError.
    assert.equal(afterwards.byKind['key-mismatch'] - before.byKind['key-mismatch'], 1, JSON.stringify(afterwards))
  })

  it('next build fails with the reason when the key is hex', async () => {
    const hexKey = randomBytes(32).toString('hex')
    const result = await build(e2e.app, {
      name: 'hexkey',
      distDir: '.next-hexkey',
      buildId: `e2e-hex-${RUN}`,
      key: hexKey,
      expectFailure: true,
    })
    assert.notEqual(result.code, 0, 'the build must fail')
    assert.match(result.output, /NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: The encryption key looks like hex \(64 hex characters = 32 bytes\)/)
    assert.match(result.output, /Invalid key length/)
    assert.ok(!result.output.includes(hexKey), 'the message does not repeat the key')
    assert.ok(!fs.existsSync(path.join(e2e.app.dir, '.next-hexkey', 'BUILD_ID')), 'nothing was built')
  })

  it('register() reports a build/runtime key mismatch with both check values and no key', async () => {
    const rotated = await shared('v1 rotated')
    await waitFor(() => rotated.output().includes('KEY MISMATCH'), 'the KEY MISMATCH report in the server output')
    const line = rotated
      .output()
      .split('\n')
      .find((l) => l.includes('KEY MISMATCH'))
    assert.ok(line.includes(`(check value ${keyCheckValue(e2e.keys.k2)})`), line)
    assert.ok(line.includes(`(check value ${keyCheckValue(e2e.keys.k1)})`), line)
    for (const key of [e2e.keys.k1, e2e.keys.k2]) {
      assert.ok(!rotated.output().includes(key.replace(/=+$/, '')), 'no key material in the output')
    }
    // The matching server says nothing of the sort.
    const v1 = await shared('v1')
    assert.ok(!v1.output().includes('KEY MISMATCH'), v1.output())
    assert.match(
      v1.output(),
      new RegExp(`guarding build ${e2e.v1.buildId}: key ${keyCheckValue(e2e.keys.k1)}, ${e2e.v1.actionIds.length} actions`),
    )
  })
})

describe(`Next.js ${VERSIONS.next} in Chromium: the client guard`, { skip: SKIP, timeout: 5 * 60_000 }, () => {
  it('a tab without skew never reloads', async (t) => {
    const v1 = await shared('v1')
    // A controllable clock, to let the guard's health polling (every ~60 s) run a few times.
    const tab1 = await tab(t, v1.url, { clock: true })
    const { page } = tab1

    await useEveryActionOfV1(page)

    // The next poll is scheduled only once the previous answer has been read, which may be after
    // Playwright saw the response: advance the fake clock in steps until each poll has happened.
    for (let i = 1; i <= 3; i++) {
      await waitFor(async () => tab1.health.length >= i || (await page.clock.fastForward(15_000), false), `health check #${i}`, {
        everyMs: 200,
      })
    }

    assert.deepEqual(tab1.health, [200, 200, 200])
    assert.equal(tab1.loads, 1, 'one document load: no reload')
    assert.equal(await documentsSeen(page), 1)
    assert.equal(await page.locator('#skew-banner').count(), 0, 'no skew banner')
    assert.equal(await page.evaluate((k) => sessionStorage.getItem(k), RELOAD_KEY), null, 'no reload was ever claimed')
    assert.ok(tab1.actions.length >= 4, JSON.stringify(tab1.actions))
    for (const action of tab1.actions) {
      assert.equal(action.sentBuild, e2e.v1.buildId, 'the page sends its build with every action')
      assert.equal(action.guard, null)
      assert.equal(action.serverBuild, e2e.v1.buildId)
    }
    assert.deepEqual(tab1.errors, [])
  })

  it('the form works without JavaScript', async (t) => {
    const v1 = await shared('v1')
    const tab1 = await tab(t, v1.url, { javaScriptEnabled: false })
    const { page } = tab1
    await page.fill('#note-input', 'no JS here')
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('#note-submit')])
    assert.equal(response.status(), 303, 'the action redirects')
    await page.waitForURL(/\?saved=/)
    assert.equal(await page.locator('#saved-note').textContent(), 'no JS here')
    assert.equal(tab1.loads, 2, 'the initial page and the redirected one')
  })

  it('a tab of build v1, then served by v2 on the same port, recovers by itself from a renamed action', async (t) => {
    const port = await freePort()
    const old = await owned(t, 'v1', { port })
    const tab1 = await tab(t, old.url)
    const { page } = tab1
    await page.click('#shout')
    await textWhen(page, '#shout-result', (s) => s === 'hello!', 'shout on v1')

    await step('redeploy: stopping v1, starting v2 on the same port', async () => {
      await old.stop()
      await owned(t, 'v2', { port })
    })

    // `shout` still exists: v2 runs it and its result is shown (it ran; the page refreshes later).
    await page.click('#shout')
    const ran = await textWhen(page, '#shout-result', (s) => s === 'HELLO!', 'the stale shout to answer')
    assert.equal(ran, 'HELLO!')
    assert.deepEqual(tab1.actions.at(-1), {
      actionId: e2e.v1.actions.shout,
      sentBuild: e2e.v1.buildId,
      status: 200,
      guard: 'reload',
      serverBuild: e2e.v2.buildId,
    })
    assert.equal(tab1.loads, 1)

    // `greet` is gone in v2: refused, did not run, so the guard reloads the tab at once.
    await page.click('#say-hello')
    await waitFor(() => tab1.loads === 2, 'the tab to reload by itself')
    await page.waitForLoadState('load')
    await waitHydrated(page)
    assert.deepEqual(tab1.actions.at(-1), {
      actionId: e2e.v1.actions.greet,
      sentBuild: e2e.v1.buildId,
      status: 409,
      guard: 'unknown-action',
      serverBuild: e2e.v2.buildId,
    })
    assert.equal(await navigationType(page), 'reload')
    assert.equal(await page.locator('#page-build').textContent(), e2e.v2.buildId)

    // The reloaded page is v2's: the same button now calls `welcome`, and works.
    await page.click('#say-hello')
    await textWhen(page, '#say-hello-result', (s) => s === 'Welcome, Ada!', 'welcome on v2')
    assert.equal(tab1.actions.at(-1).guard, null)
    assert.equal(tab1.loads, 2, 'exactly one reload')
    assert.equal(await documentsSeen(page), 2)
  })

  it('a tab recovers by itself from a rotated key', async (t) => {
    // The build stays and only the runtime key changes (NEXT_SERVER_ACTIONS_ENCRYPTION_KEY = new,
    // SKEW_GUARD_PREVIOUS_KEYS = old). Rebuilding with the new key would change every action ID on
    // Next.js 16 (the key salts them) and the tab would take the unknown-action path instead.
    const port = await freePort()
    const old = await owned(t, 'v1', { port })
    const tab1 = await tab(t, old.url)
    const { page } = tab1
    const oldNote = await page.locator('#page-note').textContent()
    await page.click('#read-note')
    await textWhen(page, '#read-note-result', (s) => s === `the server sealed "${oldNote}"`, 'the closure before the rotation')

    await step('key rotation: restarting v1 with a new runtime key (old key as previous)', async () => {
      await old.stop()
      await owned(t, 'v1 rotated', { port })
    })

    await page.click('#read-note')
    await waitFor(() => tab1.loads === 2, 'the tab to reload by itself')
    await page.waitForLoadState('load')
    await waitHydrated(page)
    assert.deepEqual(tab1.actions.at(-1), {
      actionId: e2e.v1.actions.readNote,
      sentBuild: e2e.v1.buildId,
      status: 409,
      guard: 'key-rotated',
      serverBuild: e2e.v1.buildId,
    })
    assert.equal(await navigationType(page), 'reload')

    const newNote = await page.locator('#page-note').textContent()
    assert.notEqual(newNote, oldNote, 'a fresh render')
    await page.click('#read-note')
    await textWhen(page, '#read-note-result', (s) => s === `the server sealed "${newNote}"`, 'the closure after the reload')
    assert.equal(tab1.actions.at(-1).status, 200)
    assert.equal(tab1.loads, 2, 'exactly one reload')
  })

  it('a key changed without keeping the old one: Next.js answers 500, callSafeAction says skew, the tab recovers', async (t) => {
    // Nothing can verify the old closure now; the proxy lets it through (unknown-key), Next.js fails
    // to decrypt it (500 + digest), callSafeAction classifies it and tells <SkewGuard />, which reloads.
    const port = await freePort()
    const old = await owned(t, 'v1', { port })
    const tab1 = await tab(t, old.url)
    const { page } = tab1
    await step('key change: restarting v1 with only a new runtime key', async () => {
      await old.stop()
      await owned(t, 'v1 rotated', { port, previousKeys: [] })
    })
    await page.click('#read-note')
    await waitFor(() => tab1.loads === 2, 'the tab to reload by itself')
    await page.waitForLoadState('load')
    await waitHydrated(page)
    assert.equal(tab1.actions.at(-1).status, 500)
    assert.equal(tab1.actions.at(-1).guard, 'unknown-key')
    assert.equal(await navigationType(page), 'reload')
    const newNote = await page.locator('#page-note').textContent()
    await page.click('#read-note')
    await textWhen(page, '#read-note-result', (s) => s === `the server sealed "${newNote}"`, 'the closure after the reload')
    assert.equal(tab1.loads, 2, 'exactly one reload')
  })

  it('a skew loop is impossible: one reload, then the guard reports suppressed', async (t) => {
    // Pages from v1, actions to v2 (a stale CDN, or replicas of two builds behind one balancer):
    // the reloaded page is still v1, so reloading again would loop.
    const [v1, v2] = await Promise.all([shared('v1'), shared('v2')])
    const split = await startSplitProxy(v1.url, v2.url)
    t.after(() => split.close())
    const tab1 = await tab(t, split.url)
    const { page } = tab1

    await page.click('#say-hello')
    await waitFor(() => tab1.loads === 2, 'the first (allowed) reload')
    await page.waitForLoadState('load')
    await waitHydrated(page)
    assert.equal(await page.locator('#page-build').textContent(), e2e.v1.buildId, 'still the old page')

    // Refused again: within the cooldown, the guard withholds the reload and says so.
    await page.click('#say-hello')
    const banner = page.locator('#skew-banner')
    await banner.waitFor({ timeout: 15_000 })
    assert.equal(await banner.getAttribute('data-suppressed'), 'true')
    assert.equal(await banner.getAttribute('data-kind'), 'unknown-action')
    await textWhen(page, '#say-hello-result', (s) => s === 'VERSION_SKEW (unrecognized-action)', 'the refused call result')
    const sinceReload = await page.evaluate((k) => Date.now() - Number(sessionStorage.getItem(k)), RELOAD_KEY)
    assert.ok(sinceReload >= 0 && sinceReload < COOLDOWN_MS, `the refusal came ${sinceReload} ms after the reload, inside the cooldown`)

    // And again: still no reload (a withheld reload is never retried on its own).
    await page.click('#say-hello')
    await waitFor(() => tab1.actions.length === 3, 'the third call')
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 1_000)))
    assert.deepEqual(
      tab1.actions.map((a) => [a.status, a.guard]),
      [
        [409, 'unknown-action'],
        [409, 'unknown-action'],
        [409, 'unknown-action'],
      ],
    )
    assert.equal(tab1.loads, 2, 'exactly one reload')
    assert.equal(await documentsSeen(page), 2)
    assert.ok(split.counts.actions === 3 && split.counts.pages >= 2, JSON.stringify(split.counts))
    progress(`loop test: ${tab1.loads} document loads, ${tab1.actions.length} refused calls`)
  })
})

describe(`Next.js ${VERSIONS.next}: the operator CLI on these real builds`, { skip: SKIP, timeout: 5 * 60_000 }, () => {
  /** The CLI as installed in the app (from the packed tarball), run the way `npx` would. */
  function cli(args, env = {}) {
    const bin = path.join(e2e.app.dir, 'node_modules', 'next-skew-guard', 'bin', 'next-skew-guard.js')
    const r = spawnSync(process.execPath, [bin, ...args], {
      cwd: e2e.app.dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, NO_COLOR: '1', ...env },
    })
    return { code: r.status, out: r.stdout, err: r.stderr }
  }
  const doctor = (distDir, env) => cli(['doctor', '.', '--dist-dir', distDir], env)
  let unpinned = null

  before(async () => {
    if (SKIP) return
    // The v2 sources built again with another key: what every deploy of an unpinned app does.
    unpinned = await build(e2e.app, { name: 'v2 other key', distDir: '.next-k2', buildId: `e2e-k2-${RUN}`, key: e2e.keys.k2 })
  })

  it('diff: the renamed action is removed/added, every other one kept', () => {
    const r = cli(['diff', e2e.v1.distDir, e2e.v2.distDir, '--json'])
    assert.equal(r.code, 0, r.err)
    const diff = JSON.parse(r.out)
    assert.deepEqual(
      diff.removed.map((a) => [a.id, a.exportedName]),
      [[e2e.v1.actions.greet, 'greet']],
    )
    assert.deepEqual(
      diff.added.map((a) => [a.id, a.exportedName]),
      [[e2e.v2.actions.welcome, 'welcome']],
    )
    assert.deepEqual(
      diff.kept.map((a) => a.id).sort(),
      Object.entries(e2e.v1.actions)
        .filter(([name]) => name !== 'greet')
        .map(([, id]) => id)
        .sort(),
    )
    assert.equal(diff.warning, null)
    assert.equal(cli(['diff', e2e.v1.distDir, e2e.v2.distDir, '--fail-on-removed']).code, 1)
    assert.equal(cli(['diff', e2e.v2.distDir, e2e.v2.distDir, '--fail-on-removed']).code, 0)
  })

  it('diff: two builds with different keys change every ID, and it says why', () => {
    const r = cli(['diff', e2e.v2.distDir, unpinned.distDir])
    assert.equal(r.code, 0)
    assert.match(r.out, new RegExp(`^kept 0, removed ${Object.keys(e2e.v2.actions).length}, added ${Object.keys(unpinned.actions).length}`))
    assert.match(
      r.err,
      new RegExp(
        `Every action ID changed.*different encryption keys \\(check values ${keyCheckValue(e2e.keys.k1)} and ${keyCheckValue(e2e.keys.k2)}\\)`,
      ),
    )
  })

  it('doctor: the example app with its build and key is healthy', () => {
    const r = doctor(e2e.v1.distDir, { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: e2e.keys.k1 })
    assert.equal(r.code, 0, r.out)
    for (const line of [
      /^· Next\.js: 16\.4\.6 — on skew without a guard: typed/m,
      /^✓ key valid: 32-byte key/m,
      new RegExp(
        `^✓ build identity: BUILD_ID ${e2e.v1.buildId}, fixed at build time \\(SKEW_GUARD_BUILD_ID or the buildId option\\)$`,
        'm',
      ),
      new RegExp(`^· actions: ${e2e.v1.actionIds.length} Server Actions in the build$`, 'm'),
      new RegExp(`^✓ build key = runtime key: both ${keyCheckValue(e2e.keys.k1)}$`, 'm'),
      /^✓ externals: withSkewGuard adds next-skew-guard-native$/m,
      /^✓ guard: proxy\.ts \(Node runtime\): every check runs$/m,
      /^✓ instrumentation: instrumentation\.ts registers the guard$/m,
    ]) {
      assert.match(r.out, line)
    }
  })

  it('doctor: unpinned key, hex key, and a runtime key that is not the build key', () => {
    const none = doctor(e2e.v1.distDir, {})
    assert.equal(none.code, 1)
    assert.match(none.out, /^✗ key pinned: NEXT_SERVER_ACTIONS_ENCRYPTION_KEY is not set/m)
    const hex = doctor(e2e.v1.distDir, { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: 'ab'.repeat(32) })
    assert.equal(hex.code, 1)
    assert.match(hex.out, /^✗ key valid: ERR_KEY_HEX: /m)
    const other = doctor(e2e.v1.distDir, { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: e2e.keys.k2 })
    assert.equal(other.code, 1)
    assert.match(
      other.out,
      new RegExp(
        `^✗ build key = runtime key: the build used key ${keyCheckValue(e2e.keys.k1)}, the runtime has ${keyCheckValue(e2e.keys.k2)}`,
        'm',
      ),
    )
    for (const r of [none, hex, other]) assert.ok(!r.out.includes(e2e.keys.k1) && !r.out.includes(e2e.keys.k2))
  })

  it('doctor: the package missing from the externals, and a guard on Edge middleware', (t) => {
    // Variants of the same app: edit its sources, restore them whatever happens.
    const config = path.join(e2e.app.dir, 'next.config.mjs')
    const proxy = path.join(e2e.app.dir, 'proxy.ts')
    const middleware = path.join(e2e.app.dir, 'middleware.ts')
    const saved = { config: fs.readFileSync(config, 'utf8'), proxy: fs.readFileSync(proxy, 'utf8') }
    t.after(() => {
      fs.writeFileSync(config, saved.config)
      fs.writeFileSync(proxy, saved.proxy)
      fs.rmSync(middleware, { force: true })
    })
    fs.writeFileSync(config, "export default { distDir: process.env.NEXT_DIST_DIR || '.next' }\n")
    fs.rmSync(proxy)
    fs.writeFileSync(middleware, "import { skewGuard } from 'next-skew-guard/proxy'\nexport const middleware = skewGuard()\n")
    const r = doctor(e2e.v1.distDir, { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: e2e.keys.k1 })
    assert.equal(r.code, 1)
    assert.match(r.out, /^✗ externals: next-skew-guard-native is not in serverExternalPackages$/m)
    assert.match(r.out, /^ {4}fix: Wrap the config with withSkewGuard/m)
    assert.match(r.out, /^! guard: middleware\.ts runs on Edge: its checks rely on the server process/m)
    assert.match(r.out, /^! build identity: BUILD_ID .* is random per build$/m)
  })
})
