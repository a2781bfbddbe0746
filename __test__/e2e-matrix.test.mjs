// The browser matrix: Next.js 14.2 (React 18, Edge middleware), 15.3 (the 15.0–15.4.0 range, where
// an unknown action ID gets a silent 200 HTML page; Edge middleware), 15.5 (Node middleware) and 16
// (proxy.ts), pinned in scripts/next-versions.json, each with its default bundler, real `next build` +
// `next start` of examples/next-app, and headless Chromium.
//
// Per version the deploy story of scripts/e2e/scenario.mjs runs twice: on plain Next.js (the
// example without any next-skew-guard touch point) and with the guard. Four builds per version
// (plain v1/v2, guarded v1/v2; `greet` renamed to `welcome` and `shout` changed in v2), one key
// pinned at build; the guarded ones are the run's shared builds (scripts/e2e/shared-builds.mjs). The cases of the issue are asserted on the guarded run; the plain run shows what
// each case does without the guard, and both go into docs/compatibility.md: each version's
// observations are saved for scripts/e2e/compatibility-doc.mjs, which `npm test` runs at the end.
//
// The example per version: examples/next-app plus examples/next-app/versions/<v>/ (package.json
// pins; middleware.ts instead of proxy.ts before 16). Work copies: os.tmpdir()/nsg-e2e/next-<v>.
// NSG_SKIP_E2E=1 skips the suite; NSG_E2E_VERSIONS=14,15.5 runs a subset (the doc is then left alone).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { after, before, describe, it } from 'node:test'

import { launchChromium } from '../scripts/e2e/browser.mjs'
import { matrixResultsFile, saveResults } from '../scripts/e2e/compatibility-doc.mjs'
import { step } from '../scripts/e2e/log.mjs'
import { runVariant, worked } from '../scripts/e2e/scenario.mjs'
import { sharedGuardBuilds } from '../scripts/e2e/shared-builds.mjs'
import { startServer } from '../scripts/e2e/server.mjs'
import { ensureChromium, MATRIX, prepareApp } from '../scripts/e2e/setup.mjs'

const require = createRequire(import.meta.url)
const { generateKey } = require('next-skew-guard')

const SKIP = process.env.NSG_SKIP_E2E === '1' ? 'NSG_SKIP_E2E=1' : false
const ORDER = Object.keys(MATRIX).sort((a, b) => Number.parseFloat(a) - Number.parseFloat(b))
const SELECTED = (process.env.NSG_E2E_VERSIONS || ORDER.join(',')).split(',').map((v) => v.trim())
const RUN = randomBytes(3).toString('hex')

const servers = new Set()
let chromium = null

after(async () => {
  await chromium?.close().catch(() => {})
  await Promise.all([...servers].map((s) => s.stop().catch(() => {})))
})

const ctx = {
  run: RUN,
  async serve(options) {
    const server = await startServer(options)
    servers.add(server)
    return server
  },
  async stop(server) {
    await server.stop()
    servers.delete(server)
  },
}

const NOTE = 'the server sealed "note …"'
const shown = (attempt) => attempt.shown

for (const version of ORDER) {
  const pins = MATRIX[version]
  const skip = SKIP || (SELECTED.includes(version) ? false : 'not in NSG_E2E_VERSIONS')
  const major = Number.parseInt(pins.next, 10)
  const hook = { edge: 'Edge middleware', nodejs: 'Node middleware', proxy: 'proxy.ts' }[pins.runtime]

  describe(`Next.js ${pins.next} (React ${pins.react}, ${hook})`, { skip, timeout: 20 * 60_000 }, () => {
    let plain
    let guarded

    before(
      async () => {
        await ensureChromium()
        chromium ??= await step('launching Chromium', () => launchChromium())
        ctx.browser = chromium
        const app = await prepareApp({ version, name: version === '16' ? 'matrix' : 'app' })
        // The guarded builds are the run's shared ones (also served by the routed and fleet suites).
        const shared = await sharedGuardBuilds(version)
        const keys = { k1: shared.key, k2: generateKey(), k3: generateKey() }
        plain = await runVariant(app, 'plain', keys, ctx)
        guarded = await runVariant(shared.app, 'guard', keys, ctx, { builds: shared })
        // What the browser saw (not the builds' output) for docs/compatibility.md.
        const seen = ({ results, stats, nextLog }) => ({ results, stats, nextLog })
        saveResults(matrixResultsFile(version), { next: pins.next, plain: seen(plain), guarded: seen(guarded) })
      },
      { timeout: 20 * 60_000 },
    )

    it('1. no skew: every action of a v1 tab works, nothing reloads, no skew event', () => {
      for (const run of [guarded, plain]) {
        const b = run.results.baseline
        assert.deepEqual([shown(b.renamed), shown(b.changed), shown(b.closure)], ['Hello, Ada!', 'hello!', NOTE])
        for (const id of ['renamed', 'changed', 'closure']) {
          assert.ok(worked(b[id], { id }), `${id}: ${JSON.stringify(b[id])}`)
          assert.equal(b[id].responses[0].guard ?? null, null)
        }
        assert.equal(b.loads, 1, 'one document load')
      }
      assert.equal(guarded.stats.v1.total, 0, JSON.stringify(guarded.stats.v1))
    })

    it('2. renamed action: the old tab’s call is detected, the tab reloads once, the action works after', () => {
      const { first, retry } = guarded.results.renamed
      assert.deepEqual([first.responses[0].status, first.responses[0].guard], [409, 'unknown-action'], JSON.stringify(first))
      assert.ok(first.reloaded && first.pageAfter === 'v2', JSON.stringify(first))
      assert.equal(shown(retry), 'Welcome, Ada!')
      assert.ok(worked(retry, { id: 'renamed' }))
      assert.ok(guarded.stats.v2.byKind['unknown-action'] >= 1, JSON.stringify(guarded.stats.v2))
      // Without the guard the tab stays broken: no reload, and the click never reaches `welcome`.
      const p = plain.results.renamed
      assert.ok(
        !p.first.reloaded && !worked(p.first, { id: 'renamed' }) && shown(p.retry ?? p.first) !== 'Welcome, Ada!',
        JSON.stringify(p),
      )
    })

    it('3. same action ID, changed implementation: reload-after runs it and shows its result (a refresh follows later); reject refuses it, then the tab reloads', () => {
      const changed = guarded.results.changed.first
      assert.equal(shown(changed), 'HELLO!', 'it ran: its result is shown, not an error')
      assert.deepEqual([changed.responses[0].status, changed.responses[0].guard], [200, 'reload'])
      const { first, retry } = guarded.results.rejected
      assert.deepEqual([first.responses[0].status, first.responses[0].guard], [409, 'stale-build'], JSON.stringify(first))
      assert.ok(!/HELLO/.test(shown(first)), 'the v2 code did not run')
      assert.ok(first.reloaded, JSON.stringify(first))
      assert.equal(shown(retry), 'HELLO!')
      // Without the guard: v2's code answers the v1 page, and nothing says so.
      const p = plain.results.changed.first
      assert.equal(shown(p), 'HELLO!')
      assert.equal(p.responses[0].guard ?? null, null)
      // The unchanged form action redirects: its target loads from v2, never an "Application error".
      const form = guarded.results.form
      for (const attempt of [form.first, form.retry].filter(Boolean)) {
        assert.deepEqual([attempt.errors, attempt.screen], [[], undefined], JSON.stringify(attempt))
      }
      assert.equal(shown(form.retry ?? form.first), 'from the old tab')
    })

    it('4. key rotated, the old key kept as previous: the closure call gets the refresh answer, then succeeds', () => {
      const { first, retry } = guarded.results.rotated
      // On Edge too: the Node side of the server hands the Edge guard its runtime keyring's check.
      assert.deepEqual([first.responses[0].status, first.responses[0].guard], [409, 'key-rotated'], JSON.stringify(first))
      assert.ok(first.reloaded, JSON.stringify(first))
      assert.ok(guarded.stats.rotated.byKind['key-rotated'] >= 1, JSON.stringify(guarded.stats.rotated))
      assert.equal(shown(retry), NOTE)
      assert.ok(worked(retry, { id: 'closure' }))
      const p = plain.results.rotated
      assert.ok(!p.first.reloaded && !worked(p.first, { id: 'closure' }) && !worked(p.retry, { id: 'closure' }), JSON.stringify(p))
    })

    it('5. key changed without the old one: classified server-side and on the client, never a crash on screen; the tab recovers', () => {
      const { first, retry } = guarded.results.keyChanged
      assert.deepEqual(first.errors, [], 'no uncaught error in the page')
      // The client guard classified the failed closure call as skew: it reloaded the page by itself.
      assert.ok(first.reloaded, JSON.stringify(first))
      assert.equal(shown(retry), NOTE)
      const kinds = (stats) => stats.byKind
      const [rotated, changed] = [kinds(guarded.stats.rotated), kinds(guarded.stats.keyChanged)]
      // The guard: no key here opens the payload. 15+: onRequestError also reads Next.js's failure.
      assert.ok(changed['unknown-key'] > rotated['unknown-key'], JSON.stringify(changed))
      if (major >= 15) assert.ok(changed['key-mismatch'] > rotated['key-mismatch'], JSON.stringify(changed))
      const p = plain.results.keyChanged
      assert.ok(!p.first.reloaded && !worked(p.first, { id: 'closure' }), JSON.stringify(p))
    })

    it('6. a no-JS form post with an unknown action ID gets a clear answer, not a 500', () => {
      const form = guarded.results.noJs
      assert.equal(form.status, 409, form.body.slice(0, 300))
      assert.equal(form.guard, 'unknown-action')
      assert.match(form.contentType, /^text\/html/)
      assert.match(form.body, /Reload the page/)
    })
  })
}
