#!/usr/bin/env node
// Load run: a guarded `next start` (Next.js 16, examples/next-app) takes 20,000 Server Action
// requests at concurrency 64, a mix of valid calls, unknown IDs, stale build identities,
// previous-key closures, unknown-key closures and malformed bodies. It checks that every answer is
// the documented one for its kind (so no unexpected 5xx), that the server is alive and healthy
// afterwards, that the guard's counters match what was sent, and that the server's idle RSS is back
// within 10 % of its post-warm-up value. Prints the figures; exits 1 when a check fails.
//
//   node scripts/load.mjs [--requests 20000] [--connections 64] [--warmup 5000]
//
// Needs what the e2e suite needs (dist/, native/*.node, Next.js installed into the work copy
// os.tmpdir()/nsg-e2e/next-16/load on the first run). Builds the example twice (~1-2 min).
import { parseArgs } from 'node:util'

import { setProgressPrefix } from './e2e/log.mjs'
import { prepareBuilds } from './load/builds.mjs'
import { formatReport } from './load/report.mjs'
import { runLoad, verdicts } from './load/run.mjs'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '64' },
    warmup: { type: 'string', default: '5000' },
  },
})
const number = (name) => {
  const n = Number(values[name])
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`)
  return n
}

setProgressPrefix('load')
const builds = await prepareBuilds()
const report = await runLoad(builds, { total: number('requests'), connections: number('connections'), warmup: number('warmup') })
const checks = verdicts(report)
console.log(formatReport(report, checks).join('\n'))
process.exitCode = checks.every((c) => c.ok) ? 0 : 1
