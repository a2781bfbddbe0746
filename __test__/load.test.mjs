// The load run (scripts/load.mjs) as part of the suite: a guarded `next start` (Next.js 16) takes
// 20,000 Server Action requests at concurrency 64, a mix of valid calls, unknown IDs, stale build
// identities, previous-key closures, unknown-key closures and malformed bodies. Every answer must be
// the documented one for its kind, the server must stay alive and healthy, the guard's counters must
// match what was sent, and its idle RSS must be back within 10 % of the post-warm-up value. The
// figures are printed (node --test shows them as `#` lines).
//
// Needs what the e2e suite needs (dist/, native/*.node, npm registry access on the first run).
// NSG_SKIP_E2E=1 skips it; NSG_LOAD_REQUESTS overrides the request count (default 20000).
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { setProgressPrefix } from '../scripts/e2e/log.mjs'
import { prepareBuilds } from '../scripts/load/builds.mjs'
import { formatReport } from '../scripts/load/report.mjs'
import { runLoad, verdicts } from '../scripts/load/run.mjs'

const SKIP = process.env.NSG_SKIP_E2E === '1' ? 'NSG_SKIP_E2E=1' : false

test('a guarded next start under 20,000 mixed Server Action requests at concurrency 64', { skip: SKIP, timeout: 20 * 60_000 }, async () => {
  setProgressPrefix('load')
  const total = Number(process.env.NSG_LOAD_REQUESTS || 20_000)
  const builds = await prepareBuilds()
  const report = await runLoad(builds, { total, connections: 64 })
  const checks = verdicts(report)
  console.log(formatReport(report, checks).join('\n'))
  assert.equal(report.answered, total)
  for (const { check, ok, detail } of checks) assert.ok(ok, `${check}: ${detail}`)
})
