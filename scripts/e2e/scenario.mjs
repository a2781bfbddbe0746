// One deploy story, observed in a real browser: the example app built as v1 and v2, v1 served, old
// tabs opened, v2 deployed on the same port, and every kind of skew clicked in the old tabs. Run
// once as plain Next.js and once with next-skew-guard, it gives the two columns of `npm run demo`
// and of the per-version tables of docs/compatibility.md (scripts/e2e/compatibility-doc.mjs).
//
// Every observation is what the browser saw: action responses, uncaught errors, document loads
// (reloads), the text the page showed, the skew banner; plus the server's counters and log.
import * as fs from 'node:fs'
import * as path from 'node:path'

import { openTab, waitHydrated } from './browser.mjs'
import { postNoJsForm, skewStats } from './http.mjs'
import { progress, step } from './log.mjs'
import { freePort, waitFor } from './server.mjs'
import { applyPlainOverlay, applyV2Overlay, build, resetSources } from './setup.mjs'

/**
 * What the user does in an old v1 tab after v2 is deployed. `label`: the table's row name, in plain
 * words; `output`: where the page shows the answer.
 */
export const CLICKS = [
  { id: 'renamed', label: 'an action v2 renamed', button: '#say-hello', output: '#say-hello-result' },
  { id: 'changed', label: 'an action v2 changed', button: '#shout', output: '#shout-result' },
  { id: 'closure', label: 'a closure (an action with bound arguments)', button: '#read-note', output: '#read-note-result' },
  { id: 'form', label: 'a form (with JavaScript)', button: '#note-submit', output: '#saved-note', fill: 'from the old tab' },
]
/** The changed action again, on a v2 server with policy 'reject' (guarded variant only). */
export const REJECTED = { ...CLICKS[1], id: 'rejected', label: "an action v2 changed, under policy 'reject'" }
/** A tab of v2, then v2 restarted with a new key; the guarded server keeps the old one as previous. */
export const ROTATED = { id: 'rotated', label: 'a closure after a key rotation', button: '#read-note', output: '#read-note-result' }
/** A tab of v2, then v2 restarted with yet another key and no previous key. */
export const KEY_CHANGED = { ...ROTATED, id: 'keyChanged', label: 'a closure after the key changed (old key dropped)' }
/** The tables' row order: the rows where the guard matters most come first. `noJs`: the form post without JavaScript. */
export const ROW_ORDER = ['renamed', 'rotated', 'keyChanged', 'noJs', 'changed', 'closure', 'form', 'rejected']
const NO_JS_LABEL = 'a form without JavaScript (action renamed in v2)'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs the story for one variant of the app (`mode`: 'plain' or 'guard') and returns what was
 * observed: `results[<click id>] = { first, retry }`, `results.baseline[<click id>]` (the buttons in
 * a v1 tab before the deploy), `noJs` (a JavaScript-less form post of v1's removed action to v2),
 * the guard's counters (`stats`) and Next.js's own log lines (`nextLog`) after each step.
 *
 * `ctx`: `{ browser, serve(options), stop(server), run }` — the caller owns the browser and the
 * server bookkeeping (every server it starts must be stoppable on failure); `run` names the builds.
 * `builds`: `{ v1, v2 }` built already in `app` with `keys.k1` (the shared guarded builds), else
 * the variant is built here.
 */
export async function runVariant(app, mode, keys, ctx, { builds: prebuilt = null } = {}) {
  const guard = mode === 'guard'
  progress(`── ${guard ? 'with next-skew-guard' : 'plain Next.js'} ──`)
  let v1
  let v2
  if (prebuilt) {
    // Built already, with keys.k1 (scripts/e2e/shared-builds.mjs).
    ;({ v1, v2 } = prebuilt)
  } else {
    resetSources(app)
    if (!guard) applyPlainOverlay(app, 'v1')
    v1 = await build(app, { name: `${mode}-v1`, distDir: `.next-${mode}-v1`, buildId: `${mode}-v1-${ctx.run}`, key: keys.k1 })
    if (guard) applyV2Overlay(app)
    else applyPlainOverlay(app, 'v2')
    v2 = await build(app, { name: `${mode}-v2`, distDir: `.next-${mode}-v2`, buildId: `${mode}-v2-${ctx.run}`, key: keys.k1 })
  }
  assertVariant(app, mode, v1, v2)
  const builds = new Map([
    [v1.buildId, 'v1'],
    [v2.buildId, 'v2'],
  ])
  const oldTab = async (url) => {
    const tab = await openTab(ctx.browser, url, { guard })
    tab.guard = guard
    tab.uncaught = []
    tab.page.on('pageerror', (error) => tab.uncaught.push({ name: error.name || 'Error', message: error.message }))
    return tab
  }
  const counted = async (server) => (guard ? skewStats(server.url) : null)

  const port = await freePort()
  const results = { baseline: {} }
  const stats = {}
  const nextLog = {}
  let server = await ctx.serve({ app, build: v1, key: keys.k1, port, label: `${mode} v1` })
  // Before the deploy, in a tab of its own (the old tabs stay untouched): what v1 answers.
  await step('before the deploy: the buttons in a v1 tab', async () => {
    const tab = await oldTab(server.url)
    for (const click of CLICKS.filter((c) => !c.fill)) {
      results.baseline[click.id] = await observe(tab, click, builds, { settleMs: 300 })
      progress(`  ${click.label}: ${describe(results.baseline[click.id])}`)
    }
    results.baseline.loads = tab.loads
    await tab.close()
  })
  stats.v1 = await counted(server)
  const old = [...CLICKS, ...(guard ? [REJECTED] : [])]
  const tabs = {}
  await step(`opening ${old.length} tabs of v1 in Chromium (one per click, each its own session)`, async () => {
    for (const click of old) tabs[click.id] = await oldTab(server.url)
  })
  const restart = async (title, options) =>
    step(title, async () => {
      await ctx.stop(server)
      server = await ctx.serve({ app, port, ...options })
    })
  await restart(`deploying v2 on the same port :${port} (stop v1, start v2)`, { build: v2, key: keys.k1, label: `${mode} v2` })
  progress('clicking in the old v1 tabs:')
  for (const click of CLICKS) results[click.id] = await clickAndRetry(tabs[click.id], click, builds)
  // A browser without JavaScript posts the v1 form of the action v2 no longer has.
  const form = await postNoJsForm(server.url, v1.actions.greet, { name: 'Ada' })
  results.noJs = {
    status: form.status,
    contentType: form.headers.get('content-type'),
    guard: form.headers.get('x-skew-guard'),
    body: form.body,
  }
  progress(`  no-JS form post of v1's greet: ${describeHttp(results.noJs)}`)
  stats.v2 = await counted(server)
  nextLog.v2 = countNextReports(server.output())

  if (guard) {
    await restart("restarting v2 with policy 'reject'", { build: v2, key: keys.k1, policy: 'reject', label: `${mode} v2, reject` })
    results.rejected = await clickAndRetry(tabs.rejected, REJECTED, builds)
  }
  for (const tab of Object.values(tabs)) await tab.close()

  // A key rotation: the same v2 build restarted with a new runtime key. The guarded server knows
  // the old one as previous (SKEW_GUARD_PREVIOUS_KEYS, the guard's setting); plain Next.js has no
  // such setting.
  let tab = await oldTab(server.url)
  await restart('rotating the key: restarting v2 with a new NEXT_SERVER_ACTIONS_ENCRYPTION_KEY', {
    build: v2,
    key: keys.k2,
    ...(guard ? { previousKeys: [keys.k1] } : {}),
    label: `${mode} v2, new key`,
  })
  progress('clicking in the tab opened before the rotation:')
  results.rotated = await clickAndRetry(tab, ROTATED, builds)
  stats.rotated = await counted(server)
  nextLog.rotated = countNextReports(server.output())
  await tab.close()

  // The key changed and the old one is gone (a redeploy without the previous key, or a second
  // rotation): nothing can open the old tab's closure any more; it must be recognised, not crash.
  tab = await oldTab(server.url)
  await restart('changing the key again, without keeping the old one', { build: v2, key: keys.k3, label: `${mode} v2, key dropped` })
  progress('clicking in the tab opened before the change:')
  results.keyChanged = await clickAndRetry(tab, KEY_CHANGED, builds)
  stats.keyChanged = await counted(server)
  nextLog.keyChanged = countNextReports(server.output())
  await tab.close()
  await ctx.stop(server)
  return { results, stats, nextLog, builds: { v1, v2 } }
}

/**
 * Clicks `click.button` in `tab` and watches what follows: the action responses, uncaught errors,
 * document loads (a reload), the text the page shows (also the last text before a reload) and the
 * skew banner.
 */
export async function observe(tab, click, builds, { settleMs = 2_000 } = {}) {
  const { page } = tab
  const before = { actions: tab.actions.length, loads: tab.loads, errors: tab.uncaught.length }
  const pageBuild = await buildOf(page)
  if (click.fill) await page.fill('#note-input', click.fill)
  await page.click(click.button)
  let shown = ''
  const read = async () => {
    const text = await page
      .locator(click.output)
      .textContent({ timeout: 500 })
      .catch(() => null)
    if (text) shown = text
  }
  const reacted = () => tab.actions.length > before.actions || tab.loads > before.loads || tab.uncaught.length > before.errors
  await waitFor(async () => (await read(), reacted()), 'a reaction', { timeoutMs: 10_000 }).catch(() => {})
  // The page's reaction to the answer: render, or reload (the guard reloads right after the answer).
  const settle = Date.now() + settleMs
  while (Date.now() < settle) {
    if (tab.loads === before.loads) await read()
    await sleep(100)
  }
  const reloaded = tab.loads > before.loads
  if (reloaded) {
    await page.waitForLoadState('load')
    // An error page has no buttons to hydrate: what it shows is read below.
    await waitHydrated(page, '#read-note', { guard: tab.guard }).catch(() => {})
  }
  const nowBuild = await buildOf(page)
  // Not the app's page any more (an error page): say what the user reads instead.
  const screen =
    nowBuild === null
      ? (
          (await page
            .locator('body')
            .innerText({ timeout: 2_000 })
            .catch(() => '')) ?? ''
        ).trim()
      : null
  const banner = (await page.locator('#skew-banner').count()) ? await page.locator('#skew-banner').getAttribute('data-kind') : null
  const name = (id) => builds.get(id) ?? id
  // An error page has no output element: nothing to wait for (Playwright would wait 30 s).
  let shownText = reloaded
    ? shown
    : nowBuild === null
      ? ''
      : ((await page
          .locator(click.output)
          .textContent({ timeout: 5_000 })
          .catch(() => '')) ?? '')
  for (const [id, label] of builds) shownText = shownText.replaceAll(id, label)
  return {
    responses: tab.actions.slice(before.actions).map((r) => ({ ...r, serverBuild: r.serverBuild && name(r.serverBuild) })),
    errors: tab.uncaught.slice(before.errors),
    reloaded,
    // Each render seals a fresh random note: keep the text comparable between runs.
    shown: shownText.replace(/note [0-9a-f]{8}/g, 'note …'),
    pageBefore: name(pageBuild),
    pageAfter: nowBuild === null ? null : name(nowBuild),
    ...(screen === null ? {} : { screen: screen.split('\n')[0].slice(0, 80) }),
    banner,
  }
}

/** The build the page says it is from, or null when the page is not the app's (an error page). */
async function buildOf(page) {
  return page
    .locator('#page-build')
    .textContent({ timeout: 5_000 })
    .catch(() => null)
}

/**
 * Would the user click again? Yes after a reload, an error, or an empty screen; no when the page
 * shows an answer (also the guard's "it ran on build v2: …", which says the action ran).
 */
export function worked(attempt, click) {
  if (attempt.errors.length || attempt.reloaded) return false
  const last = attempt.responses.at(-1)
  // 14 answers a redirecting action with 303, later versions with 200.
  if (!last || last.status >= 400) return false
  return click.id === 'form' ? attempt.shown === click.fill : attempt.shown !== ''
}

export async function clickAndRetry(tab, click, builds) {
  const first = await observe(tab, click, builds)
  // No second click when it worked, or when the app's page is gone (nothing left to click).
  const retry = worked(first, click) || first.screen !== undefined ? null : await observe(tab, click, builds)
  progress(`  ${click.label}: ${describe(first)}${retry ? ` | again: ${describe(retry)}` : ''}`)
  return { first, retry }
}

/** Next.js's own server log lines about skew (what an operator of plain Next.js gets). */
export function countNextReports(output) {
  return {
    notFound: (output.match(/Failed to find Server Action/g) ?? []).length,
    decrypt: (output.match(/Error \[OperationError\]|OperationError/g) ?? []).length,
  }
}

/** The builds are what the table claims: same action IDs where expected; guard code only in the guarded build. */
function assertVariant(app, mode, v1, v2) {
  const fail = (why) => {
    throw new Error(`${mode} builds: ${why}`)
  }
  const ids = (b) => b.actionIds
  // 14's manifests carry no export names: compare the ID sets (one removed, one added: greet → welcome).
  const removed = ids(v1).filter((id) => !ids(v2).includes(id))
  const added = ids(v2).filter((id) => !ids(v1).includes(id))
  if (removed.length !== 1 || added.length !== 1) fail(`expected one renamed action, got removed ${removed}, added ${added}`)
  v1.actions.greet ??= removed[0]
  if (v1.actions.greet !== removed[0]) fail('greet kept its ID')
  const chunks = path.join(app.dir, v1.distDir, 'static', 'chunks')
  const client = fs
    .readdirSync(chunks, { recursive: true })
    .filter((f) => f.endsWith('.js'))
    .some((f) => fs.readFileSync(path.join(chunks, f), 'utf8').includes('x-skew-guard-build'))
  if (client !== (mode === 'guard')) fail(client ? 'the plain build ships the client guard' : 'the guarded build has no client guard')
}

// ---------------------------------------------------------------------------------------------
// Words for the tables: every cell from an observation.

/**
 * One click's observation in words. `build: true` names the build that answered the first action
 * call (from the guard's x-build-id), for tables where that is the point (routing).
 */
export function describe(a, { build = false } = {}) {
  const parts = []
  const r = a.responses[0]
  if (!r) parts.push('no request')
  else
    parts.push(`HTTP ${r.status}${r.guard ? ` (x-skew-guard: ${r.guard})` : ''}${build && r.serverBuild ? ` from ${r.serverBuild}` : ''}`)
  for (const e of a.errors.slice(0, 1)) {
    // A bare Error says little by its name: add the start of its message.
    const message = e.message.split('\n')[0].replace(/^(Minified React error #\d+);.*$/, '$1')
    parts.push(e.name === 'Error' ? `Error thrown ("${message.length > 48 ? `${message.slice(0, 48)}…` : message}")` : `${e.name} thrown`)
  }
  if (a.screen !== undefined) {
    parts.push(`the page was replaced by ${a.screen ? `"${a.screen}"` : 'an empty page'}`)
  } else if (a.reloaded) {
    // What flashed on screen before the reload depends on timing: left out, so runs compare.
    parts.push(`page reloaded itself (${a.pageBefore} → ${a.pageAfter})`)
  } else if (a.shown) {
    parts.push(`shows "${a.shown}"`)
  } else if (!a.errors.length) {
    parts.push('nothing on screen, no error')
  } else {
    parts.push('nothing on screen')
  }
  if (a.banner) parts.push(`banner (${a.banner})`)
  return parts.join(', ')
}

/** A click and, when the user would click again, the second click. */
export function cell({ first, retry }, options) {
  return retry ? `${describe(first, options)}; clicked again: ${describe(retry, options)}` : describe(first, options)
}

/** The answer to a JavaScript-less form post in words (`r.build`: the build that answered, when known). */
export function describeHttp(r) {
  const type = (r.contentType ?? 'no content type').split(';')[0]
  const text = /Reload the page/.test(r.body) ? ', a page saying "Reload the page"' : ''
  return `HTTP ${r.status} ${type}${r.guard ? ` (x-skew-guard: ${r.guard})` : ''}${r.build ? ` from ${r.build}` : ''}${text}`
}

/** The guard's counters in words. */
export function counters(stats) {
  const kinds = Object.entries(stats.byKind).filter(([, n]) => n > 0)
  return `${stats.total} event${stats.total === 1 ? '' : 's'}${kinds.length ? ` (${kinds.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`
}

/**
 * The rows of the deploy-story table in {@link ROW_ORDER}: `[label, plain, guarded]`, plus a
 * "guarded + routed" cell when `routed` (the observations of scripts/e2e/routed-scenario.mjs) is given.
 */
export function rows(plain, guarded, routed = null) {
  const byId = new Map([...CLICKS, REJECTED, ROTATED, KEY_CHANGED].map((c) => [c.id, c]))
  return ROW_ORDER.map((id) => {
    if (id === 'noJs') {
      const row = [NO_JS_LABEL, describeHttp(plain.results.noJs), describeHttp(guarded.results.noJs)]
      return routed ? [...row, describeHttp(routed.results.noJs)] : row
    }
    const p = plain.results[id]
    const row = [byId.get(id).label, p ? cell(p) : 'Next.js has no such setting', cell(guarded.results[id])]
    if (!routed) return row
    const r = routed.results[id]
    return [...row, r ? cell(r, { build: true }) : routed.notes[id]]
  })
}
