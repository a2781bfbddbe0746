// The load run (scripts/load.mjs) as part of the suite: a guarded `next start` (Next.js 16) takes
// 20,000 Server Action requests at concurrency 64, a mix of valid calls, unknown IDs, stale build
// identities, previous-key closures, unknown-key closures and malformed bodies. Every answer must be
// the documented one for its kind, the server must stay alive and healthy, the guard's counters must
// match what was sent, and its idle RSS must be back within 10 % of the post-warm-up value. The
// figures are printed (node --test shows them as `#` lines).
//
// The same two builds then serve the real-server checks of the manifest faults (the unit-level ones
// are in faults-manifest.test.cjs): the manifest missing when the server starts, and replaced by
// another build's while it runs.
//
// Needs what the e2e suite needs (dist/, native/*.node, npm registry access on the first run).
// NSG_SKIP_E2E=1 skips it; NSG_LOAD_REQUESTS overrides the request count (default 20000).
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { before, describe, it } from 'node:test'

import { callAction } from '../scripts/e2e/http.mjs'
import { setProgressPrefix } from '../scripts/e2e/log.mjs'
import { startServer } from '../scripts/e2e/server.mjs'
import { VERSIONS } from '../scripts/e2e/setup.mjs'
import { prepareBuilds } from '../scripts/load/builds.mjs'
import { formatReport } from '../scripts/load/report.mjs'
import { runLoad, verdicts } from '../scripts/load/run.mjs'

const SKIP = process.env.NSG_SKIP_E2E === '1' ? 'NSG_SKIP_E2E=1' : false
let builds = null

before(
  async () => {
    if (SKIP) return
    setProgressPrefix('load')
    builds = await prepareBuilds()
  },
  { timeout: 12 * 60_000 },
)

describe(`load: a guarded next start (Next.js ${VERSIONS.next})`, { skip: SKIP }, () => {
  it('takes 20,000 mixed Server Action requests at concurrency 64', { timeout: 20 * 60_000 }, async () => {
    const total = Number(process.env.NSG_LOAD_REQUESTS || 20_000)
    const report = await runLoad(builds, { total, connections: 64 })
    const checks = verdicts(report)
    console.log(formatReport(report, checks).join('\n'))
    assert.equal(report.answered, total)
    for (const { check, ok, detail } of checks) assert.ok(ok, `${check}: ${detail}`)
  })

  /** Runs `fn(server)` against v2 with its manifest file changed by `prepare`, restoring it after. */
  async function withManifest(label, prepare, fn) {
    const file = path.join(builds.app.dir, builds.v2.distDir, 'server', 'server-reference-manifest.json')
    const saved = fs.readFileSync(file)
    let server = null
    try {
      prepare?.(file)
      server = await startServer({ app: builds.app, build: builds.v2, key: builds.keys.build, label })
      await fn(server, file)
    } finally {
      fs.writeFileSync(file, saved)
      await server?.stop()
    }
  }

  const call = (server, id) => callAction(server.url, id, ['x'], { 'x-skew-guard-build': builds.v2.buildId })

  it('manifest missing at startup: one warning, no guard verdicts, Next.js answers for itself, health stays up', {
    timeout: 3 * 60_000,
  }, async () => {
    await withManifest(
      'load manifest missing',
      (file) => fs.rmSync(file),
      async (server) => {
        for (const id of [builds.v2.actions.shout, builds.v1.actions.greet]) {
          const response = await call(server, id)
          assert.equal(response.headers.get('x-skew-guard'), null, 'the guard does not refuse without a manifest')
          // Next.js 16 cannot run actions without the manifest either: its own 500.
          assert.equal(response.status, 500)
        }
        const health = await fetch(`${server.url}/api/health`)
        assert.equal(health.status, 200)
        const warnings = server
          .output()
          .split('\n')
          .filter((l) => /server-reference-manifest\.json is missing/.test(l))
        assert.equal(warnings.length, 1, server.output())
        assert.match(server.output(), /guarding build \S+: key \w+, no manifest; problems: ERR_MANIFEST/)
      },
    )
  })

  it("manifest replaced by another build's while running: the guard and Next.js both keep the first", { timeout: 3 * 60_000 }, async () => {
    await withManifest('load manifest replaced', null, async (server, file) => {
      const first = await call(server, builds.v2.actions.welcome)
      assert.equal(first.status, 200)
      fs.copyFileSync(path.join(builds.app.dir, builds.v1.distDir, 'server', 'server-reference-manifest.json'), file)
      const welcome = await call(server, builds.v2.actions.welcome)
      assert.equal(welcome.status, 200, 'v2 action still runs: nobody re-read the file')
      assert.equal(welcome.headers.get('x-skew-guard'), null)
      const greet = await call(server, builds.v1.actions.greet)
      assert.equal(greet.status, 409, "v1's action is still unknown to the running server")
      assert.equal(greet.headers.get('x-skew-guard'), 'unknown-action')
      assert.doesNotMatch(server.output(), /ERR_GUARD|the guard failed/)
    })
  })
})
