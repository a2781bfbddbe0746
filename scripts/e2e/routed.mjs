// Version-locked routing as a user lives it, in headless Chromium: a tab opened while v1 is the
// current deployment, then v2 promoted and the proxy config rendered; the old tab's actions (plain,
// closure, one that revalidates the page), its form (with and without JavaScript), its static
// assets and a client-side navigation to a route whose code v2 changed all complete on v1, with no
// reload and the text typed into the page still there; a new tab gets v2. After v1 is
// retired, the old tab's next action goes through the guard's recovery: one reload, then it works.
//
// Every observation is read from the responses (the build that answered: the guard's x-build-id,
// or the action result's buildId), never from timing.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'

import { documentsSeen, openTab, textWhen, waitHydrated } from './browser.mjs'
import { waitFor } from './server.mjs'
import { ROOT } from './setup.mjs'

/** `next-skew-guard deployments <args>` of this checkout on the registry `state`; fails the test when it fails. */
export function deploymentsCli(args, state) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'next-skew-guard.js'), 'deployments', ...args], {
    encoding: 'utf8',
    env: { ...process.env, SKEW_GUARD_DEPLOYMENTS: state },
    timeout: 120_000,
  })
  assert.equal(r.status, 0, `deployments ${args.join(' ')}: ${r.stderr}`)
}

/**
 * Opens `url` in a fresh browser context (its own cookies) and records, besides what openTab
 * records, every request's `x-deployment-id` and the build that answered each POST and document.
 */
export async function openRoutedTab(browser, url, options = {}) {
  const tab = await openTab(browser, url, options)
  tab.requests = []
  tab.page.on('response', (response) => {
    const request = response.request()
    tab.requests.push({
      method: request.method(),
      url: response.url(),
      type: request.resourceType(),
      action: request.headers()['next-action'] ?? null,
      deploymentHeader: request.headers()['x-deployment-id'] ?? null,
      status: response.status(),
      build: response.headers()['x-build-id'] ?? null,
    })
  })
  tab.firstBuild = (await tab.page.locator('#page-build').textContent())?.trim() ?? null
  return tab
}

const since = (tab, mark) => tab.requests.slice(mark)

/**
 * The story. `ops.promoteV2()` must promote v2 and render + reload the proxy config;
 * `v2StaticFiles` (paths under `_next/static/`) tells which of the page's scripts only v1 has.
 * Resolves the observations; leaves the old JavaScript tab open (`result.oldTab`) for
 * {@link recoverAfterRetire}.
 */
export async function runRoutedStory({ browser, url, builds, ids, v2StaticFiles, ops }) {
  const result = {}
  const oldTab = await openRoutedTab(browser, url)
  const noJsTab = await openRoutedTab(browser, url, { javaScriptEnabled: false })
  result.oldTab = oldTab
  result.openedOn = [oldTab.firstBuild, noJsTab.firstBuild]
  // What the user typed stays in the page: nothing may reload it.
  await oldTab.page.fill('#note-input', 'typed before the deploy')
  const cookies = await noJsTab.context.cookies()
  result.cookie = cookies.find((c) => c.name === '__vdpl')?.value ?? null

  await ops.promoteV2()

  // Plain action (greet: v2 renamed it, so only v1 can answer it), the changed one (shout), the closure.
  let mark = oldTab.requests.length
  await oldTab.page.click('#say-hello')
  result.plain = await textWhen(oldTab.page, '#say-hello-result', (s) => s !== '', 'greet to answer')
  await oldTab.page.click('#shout')
  result.changed = await textWhen(oldTab.page, '#shout-result', (s) => s !== '', 'shout to answer')
  const note = (await oldTab.page.locator('#page-note').textContent())?.trim()
  await oldTab.page.click('#read-note')
  result.closure = await textWhen(oldTab.page, '#read-note-result', (s) => s !== '', 'the closure to answer')
  result.closureExpected = `the server sealed "${note}"`
  result.actions = since(oldTab, mark).filter((r) => r.action)

  // An action that revalidates the page: its answer carries the page's new tree, rendered by v1.
  mark = oldTab.requests.length
  await oldTab.page.click('#renew-note')
  result.renewed = await textWhen(oldTab.page, '#page-note', (s) => s.trim() !== note, 'the revalidating action to render a new note')
  result.renewRequests = since(oldTab, mark).filter((r) => r.action)
  result.renewedOn = (await oldTab.page.locator('#page-build').textContent())?.trim()

  // A static asset of the page that v2 does not have, fetched again now that v2 is current.
  result.asset = await oldTab.page.evaluate(async (v2Files) => {
    const srcs = [...document.scripts].map((s) => s.src).filter(Boolean)
    const src = srcs.find((s) => {
      const p = new URL(s).pathname.replace(/^.*?\/_next\/static\//, '')
      return s.includes('/_next/static/') && !v2Files.includes(p)
    })
    if (!src) return { src: null, status: null }
    const response = await fetch(src, { cache: 'no-store' })
    return { src, status: response.status, dpl: new URL(src).searchParams.get('dpl') }
  }, v2StaticFiles)

  // The form with JavaScript: the action, then the redirect's RSC fetch, both on v1.
  mark = oldTab.requests.length
  result.typedBeforeForm = await oldTab.page.inputValue('#note-input')
  await oldTab.page.fill('#note-input', 'with JS')
  await oldTab.page.click('#note-submit')
  result.jsForm = await textWhen(oldTab.page, '#saved-note', (s) => s === 'with JS', 'the form action to redirect')
  result.jsFormRequests = since(oldTab, mark)
  await waitHydrated(oldTab.page)
  await oldTab.page.fill('#note-input', 'typed after the deploy')

  // The form without JavaScript: a multipart post with only the cookie to say where it belongs.
  mark = noJsTab.requests.length
  await noJsTab.page.fill('#note-input', 'from the old tab')
  await Promise.all([noJsTab.page.waitForNavigation({ waitUntil: 'load' }), noJsTab.page.click('#note-submit')])
  result.noJsRequests = since(noJsTab, mark)
  result.noJsShown = (await noJsTab.page.locator('#saved-note').textContent())?.trim()

  result.typedKept = await oldTab.page.inputValue('#note-input')

  // A client-side navigation to a route whose client code v2 changed: its RSC payload and its
  // chunk must both come from v1. Then back, by the same kind of navigation.
  mark = oldTab.requests.length
  await oldTab.page.click('#to-notes')
  result.navigation = {
    view: await textWhen(oldTab.page, '#notes-view', (s) => s !== '', 'the notes route to render'),
    renderedBy: (await oldTab.page.locator('#notes-build').textContent())?.trim(),
    // The route's code: scripts Next.js loaded for it, with the ?dpl= it asked for and the answer.
    scripts: since(oldTab, mark)
      .filter((r) => r.type === 'script')
      .map((r) => ({ status: r.status, dpl: new URL(r.url).searchParams.get('dpl'), url: r.url })),
  }
  await oldTab.page.click('#to-home')
  await textWhen(oldTab.page, '#page-build', (s) => s !== '', 'the way back home')
  await waitHydrated(oldTab.page)

  result.loads = oldTab.loads
  result.documents = await documentsSeen(oldTab.page)
  result.errors = [...oldTab.errors]

  const newTab = await openRoutedTab(browser, url)
  result.newTab = newTab.firstBuild
  await newTab.close()
  await noJsTab.close()
  result.builds = builds
  result.ids = ids
  return result
}

/**
 * What {@link runRoutedStory} must have seen, whoever routed (a proxy, or the app's own guard):
 * every request of the old tab answered by v1, no reload, the typed text kept, a new tab on v2.
 */
export function assertStayedOnV1(story) {
  const { v1, v2 } = story.builds
  const v1Id = story.ids.v1
  assert.deepEqual(story.openedOn, [v1, v1], 'both tabs opened on v1')
  assert.equal(story.cookie, v1Id, 'the guard pinned the page (__vdpl)')
  assert.equal(story.plain, 'Hello, Ada!', 'greet (gone in v2) ran on v1')
  assert.equal(story.changed, 'hello!', "shout ran v1's code (v2 shouts in capitals)")
  assert.equal(story.closure, story.closureExpected)
  assert.equal(story.actions.length, 3, JSON.stringify(story.actions))
  for (const a of story.actions) {
    assert.deepEqual([a.status, a.build], [200, v1], JSON.stringify(a))
    assert.equal(a.deploymentHeader, v1Id, 'Next.js sent x-deployment-id')
  }
  assert.deepEqual(
    [story.renewRequests[0]?.status, story.renewRequests[0]?.build, story.renewedOn],
    [200, v1, v1],
    'the revalidating action ran on v1 and the page stayed v1',
  )
  assert.equal(story.navigation.view, 'notes view of v1', "the route's client code is v1's")
  assert.equal(story.navigation.renderedBy, v1, 'v1 rendered the route')
  assert.ok(
    story.navigation.scripts.length > 0 && story.navigation.scripts.every((r) => r.status === 200 && r.dpl === v1Id),
    JSON.stringify(story.navigation.scripts),
  )
  assert.ok(story.asset.src, 'the page loads a script only v1 has')
  assert.deepEqual([story.asset.status, story.asset.dpl], [200, v1Id], JSON.stringify(story.asset))
  assert.equal(story.typedBeforeForm, 'typed before the deploy')
  assert.equal(story.jsForm, 'with JS')
  const jsAnswers = story.jsFormRequests.filter((r) => r.build)
  assert.ok(jsAnswers.length >= 1 && jsAnswers.every((r) => r.build === v1), JSON.stringify(story.jsFormRequests))
  const [post, ...rest] = story.noJsRequests.filter((r) => r.type === 'document')
  assert.deepEqual([post?.method, post?.build], ['POST', v1], `the no-JS post ran on v1: ${JSON.stringify(story.noJsRequests)}`)
  assert.equal(rest.at(-1)?.build, v2, 'the page it redirects to is a new document: v2')
  assert.equal(story.noJsShown, 'from the old tab')
  assert.deepEqual([story.loads, story.documents], [1, 1], 'no reload')
  assert.equal(story.typedKept, 'typed after the deploy')
  assert.deepEqual(story.errors, [])
  assert.equal(story.newTab, v2, 'a new tab gets v2')
}

/**
 * After v1 is retired (and the config rendered): the old tab's next action reaches v2, which does
 * not know it; the guard's recovery reloads the page once (now from v2), and the action works.
 */
export async function recoverAfterRetire(oldTab) {
  const before = await documentsSeen(oldTab.page)
  const mark = oldTab.requests.length
  await oldTab.page.click('#say-hello')
  await waitFor(async () => (await documentsSeen(oldTab.page).catch(() => before)) > before, 'the old tab to reload', { timeoutMs: 30_000 })
  await waitHydrated(oldTab.page)
  const first = oldTab.requests.slice(mark).find((r) => r.action)
  const pageBuild = (await oldTab.page.locator('#page-build').textContent())?.trim()
  const restored = await oldTab.page.inputValue('#note-input').catch(() => null)
  await oldTab.page.click('#say-hello')
  const retry = await textWhen(oldTab.page, '#say-hello-result', (s) => s !== '', 'the action after the reload')
  return { first, reloads: (await documentsSeen(oldTab.page)) - before, pageBuild, retry, restored }
}

/** Where the routed suite leaves its observations for a Next.js version's work dir (read by doc generators). */
export function routedResultsFile(work) {
  return `${work}/routed-results.json`
}

/**
 * One line per case of a story, as a table cell: what the old tab showed and which build answered
 * (`v1`/`v2`), e.g. `"Hello, Ada!" from v1`. `recovered`: the result of recoverAfterRetire.
 */
export function summarize(story, recovered = null) {
  const who = (build) => (build === story.builds.v1 ? 'v1' : build === story.builds.v2 ? 'v2' : String(build))
  const action = (i) => story.actions[i]
  const post = story.noJsRequests.find((r) => r.type === 'document' && r.method === 'POST')
  return {
    plain: `"${story.plain}" from ${who(action(0)?.build)}`,
    changed: `"${story.changed}" from ${who(action(1)?.build)}`,
    closure: `${story.closure === story.closureExpected ? 'the sealed note' : `"${story.closure}"`} from ${who(action(2)?.build)}`,
    revalidating: `a new note from ${who(story.renewRequests[0]?.build)}, the page still ${who(story.renewedOn)}'s`,
    navigation: `"${story.navigation.view}", rendered by ${who(story.navigation.renderedBy)}; ${story.navigation.scripts.length} script(s) loaded: ${[...new Set(story.navigation.scripts.map((r) => `HTTP ${r.status} ?dpl=${r.dpl === story.ids.v1 ? 'v1' : r.dpl}`))].join(', ')}`,
    jsForm: `"${story.jsForm}" from ${[...new Set(story.jsFormRequests.filter((r) => r.build).map((r) => who(r.build)))].join('+')}`,
    noJsForm: `HTTP ${post?.status} from ${who(post?.build)}, then "${story.noJsShown}"`,
    asset: `HTTP ${story.asset.status} (?dpl=${story.asset.dpl === story.ids.v1 ? 'v1' : story.asset.dpl})`,
    reloads: story.documents - 1,
    typedKept: story.typedKept === 'typed after the deploy',
    newTab: who(story.newTab),
    ...(recovered
      ? {
          afterRetire: `HTTP ${recovered.first?.status} from ${who(recovered.first?.build)}, ${recovered.reloads} reload, then "${recovered.retry}"`,
        }
      : {}),
  }
}
