// The deploy story of scenario.mjs once more, with version-locked routing: the guarded v1 and v2
// builds both keep running behind a real proxy (nginx) configured by `next-skew-guard deployments
// render`; old tabs are opened while v1 is current, v2 is promoted, and the same clicks are made in
// the old tabs. Its observations are the "guarded + routed" column of `npm run demo`.
//
// The key rows have no routed variant: routing keeps old builds running, and a key rotation
// restarts the same build, so those rows are what the guard alone does.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

import { ensureProxies } from '../proxies/install.mjs'
import { createProxy } from '../proxies/launch.mjs'
import { openTab } from './browser.mjs'
import { postNoJsForm } from './http.mjs'
import { progress, step } from './log.mjs'
import { CLICKS, clickAndRetry } from './scenario.mjs'
import { waitFor } from './server.mjs'
import { ROOT } from './setup.mjs'

const BIN = path.join(ROOT, 'bin', 'next-skew-guard.js')
/** What the routed column says where the story has no routed variant. */
const NOTES = {
  rotated: 'as with next-skew-guard: a key rotation restarts the same build, so there is nothing to route',
  keyChanged: 'as with next-skew-guard (the same build with another key)',
  rejected: "not reached: the old tab's actions run on v1, which knows them",
}

/** `next-skew-guard deployments …` against the registry file `state`; throws with its stderr on failure. */
function deployments(args, state) {
  const r = spawnSync(process.execPath, [BIN, 'deployments', ...args], {
    encoding: 'utf8',
    env: { ...process.env, SKEW_GUARD_DEPLOYMENTS: state },
    timeout: 120_000,
  })
  if (r.status !== 0)
    throw new Error(`next-skew-guard deployments ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${r.stderr || r.stdout}`)
  return r.stdout
}

/**
 * Runs the routed story with the builds `guarded.builds` ({ v1, v2 }) of runVariant's guarded run
 * (built with `keys.k1`). `ctx`: `{ browser, serve(options), own(resource), release(resource) }`:
 * every server and the proxy are handed to `own` as soon as they run, so the caller can stop them
 * on failure or Ctrl-C. Resolves `{ results, notes, proxy }` in the shape rows() reads.
 */
export async function runRoutedVariant(app, guarded, keys, ctx, { kind = 'nginx' } = {}) {
  progress(`── with next-skew-guard, routed by ${kind} ──`)
  const { v1, v2 } = guarded.builds
  const builds = new Map([
    [v1.buildId, 'v1'],
    [v2.buildId, 'v2'],
  ])
  const bins = await step(`${kind}: installed (apt-get when missing)`, () => ensureProxies([kind], progress))
  const root = fs.mkdtempSync(path.join(app.work, 'demo-routing-'))
  const state = path.join(root, 'deployments.json')
  const started = []
  try {
    // Both builds run side by side; the guard pins each page to its deployment (the __vdpl cookie).
    const env = { SKEW_GUARD_DEPLOYMENT_COOKIE: '1' }
    for (const [name, b] of [
      ['v1', v1],
      ['v2', v2],
    ]) {
      const server = await ctx.serve({ app, build: b, key: keys.k1, label: `routed ${name}`, env })
      started.push(server)
    }
    const [s1, s2] = started
    const ids = {}
    for (const [name, server] of [
      ['v1', s1],
      ['v2', s2],
    ]) {
      const health = await (await fetch(`${server.url}/api/health`)).json()
      ids[name] = health.deploymentId ?? (name === 'v1' ? v1 : v2).buildId
    }
    deployments(
      ['add', ids.v1, '--upstream', `127.0.0.1:${s1.port}`, '--dir', app.dir, '--dist-dir', v1.distDir, '--require-listening'],
      state,
    )
    deployments(['promote', ids.v1], state)
    deployments(
      ['add', ids.v2, '--upstream', `127.0.0.1:${s2.port}`, '--dir', app.dir, '--dist-dir', v2.distDir, '--require-listening'],
      state,
    )
    const proxy = await createProxy(kind, { bin: bins[kind], root })
    deployments(['render', ...proxy.cliArgs], state)
    await proxy.start()
    ctx.own(proxy)
    started.push(proxy)
    progress(`${kind} on ${proxy.url}: v1 (${ids.v1}) current, v2 (${ids.v2}) registered`)

    const tabs = {}
    await step(`opening ${CLICKS.length} tabs of v1 through ${kind}`, async () => {
      for (const click of CLICKS) {
        tabs[click.id] = await openTab(ctx.browser, proxy.url, { guard: true })
        tabs[click.id].guard = true
        tabs[click.id].uncaught = []
        tabs[click.id].page.on('pageerror', (e) => tabs[click.id].uncaught.push({ name: e.name || 'Error', message: e.message }))
      }
    })
    // A browser without JavaScript sends the cookie its v1 page set, nothing else.
    const cookie = (await tabs.renamed.context.cookies()).find((c) => c.name === '__vdpl')
    if (!cookie) throw new Error('the v1 page set no __vdpl cookie (SKEW_GUARD_DEPLOYMENT_COOKIE=1 did not apply)')

    await step('deploying v2: promote, render, reload the proxy', async () => {
      deployments(['promote', ids.v2], state)
      deployments(['render', ...proxy.cliArgs, '--reload'], state)
      await proxy.settled()
      let streak = 0
      await waitFor(
        async () => {
          // A connection the reload closes counts as "not yet".
          const r = await fetch(`${proxy.url}/`).catch(() => null)
          await r?.arrayBuffer()
          streak = r?.headers.get('x-build-id') === v2.buildId ? streak + 1 : 0
          return streak >= 5
        },
        'new pages to come from v2',
        { timeoutMs: 30_000 },
      )
    })
    progress('clicking in the old v1 tabs:')
    const results = {}
    for (const click of CLICKS) results[click.id] = await clickAndRetry(tabs[click.id], click, builds)
    for (const tab of Object.values(tabs)) await tab.close()
    const form = await postNoJsForm(proxy.url, v1.actions.greet, { name: 'Ada' }, { cookie: `__vdpl=${cookie.value}` })
    const answeredBy = form.headers.get('x-build-id')
    results.noJs = {
      status: form.status,
      contentType: form.headers.get('content-type'),
      guard: form.headers.get('x-skew-guard'),
      body: form.body,
      build: builds.get(answeredBy) ?? answeredBy,
    }
    progress(`  no-JS form post of v1's greet with the page's cookie: HTTP ${form.status} from ${results.noJs.build}`)
    return { results, notes: NOTES, proxy: kind }
  } finally {
    for (const resource of started.reverse()) await ctx.release(resource)
    fs.rmSync(root, { recursive: true, force: true })
  }
}
