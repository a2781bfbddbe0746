#!/usr/bin/env node
// docs/compatibility.md, from what the end-to-end suites of one `npm test` run observed. Each suite
// leaves its observations as JSON in its work copy's directory (cached between runs, outside the
// run's temporary directory):
//   matrix-results.json  __test__/e2e-matrix.test.mjs, per Next.js version: the deploy story of
//                        scenario.mjs, plain and guarded;
//   routed-results.json  __test__/deployments-next.test.mjs, per Next.js version: the routed story
//                        of routed.mjs through each proxy;
//   fleet-results.json   __test__/e2e-fleet.test.mjs (Next.js 16): the mixed fleet.
// `npm test` runs this after the suites: the doc is written only from files of that run (`--since`,
// the run's start), so it never mixes observations of different code.
//
//   node scripts/e2e/compatibility-doc.mjs [--since <epoch ms>] [--require]
// --require: fail when a Next.js version of the matrix has no observations of this run (a full
// `npm test`); without it the doc is left as it is, with a note (a partial run).
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

import { routedResultsFile } from './routed.mjs'
import { counters, rows } from './scenario.mjs'
import { MATRIX, ROOT, workDir } from './setup.mjs'

export const DOC = path.join(ROOT, 'docs', 'compatibility.md')
const ORDER = Object.keys(MATRIX).sort((a, b) => Number.parseFloat(a) - Number.parseFloat(b))

/** Where the matrix suite leaves a version's observations. */
export function matrixResultsFile(version) {
  return path.join(workDir(version), 'matrix-results.json')
}

/** Where the mixed-fleet suite leaves its observations. */
export function fleetResultsFile() {
  return path.join(workDir('16'), 'fleet-results.json')
}

/** Writes `data` as the JSON a suite leaves for the doc. */
export function saveResults(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`)
}

/** The JSON in `file` when it was written at or after `since`, else null. */
function load(file, since) {
  try {
    if (fs.statSync(file).mtimeMs < since) return null
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    return null
  }
}

const md = (text) => String(text).replaceAll('|', '\\|')

/** The rows of the routed table: what the old tab did after v2 was promoted, per proxy. */
const ROUTED_ROWS = [
  ['plain', 'an action v2 renamed'],
  ['changed', 'an action v2 changed'],
  ['closure', 'a closure'],
  ['revalidating', 'an action that revalidates the page'],
  ['navigation', 'a navigation to a route whose code v2 changed'],
  ['jsForm', 'a form (with JavaScript)'],
  ['noJsForm', 'a form without JavaScript (the page’s cookie only)'],
  ['asset', 'a script only v1 has'],
  ['reloads', 'reloads of the old tab'],
  ['typedKept', 'text typed before the deploy still there'],
  ['newTab', 'a tab opened after the promotion'],
  ['afterRetire', 'after `deployments retire v1`: its next action'],
]

function routedSection(routed) {
  const proxies = Object.keys(routed.proxies)
  const out = [
    `### Through a routing proxy (guarded + routed; \`deployments render\`, both builds running)`,
    '',
    `| in the old tab | ${proxies.join(' | ')} |`,
    `|---|${proxies.map(() => '---').join('|')}|`,
  ]
  for (const [key, label] of ROUTED_ROWS) {
    const cells = proxies.map((p) => {
      const value = routed.proxies[p][key]
      return value === undefined ? '(not observed)' : typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value)
    })
    out.push(`| ${md(label)} | ${cells.map(md).join(' | ')} |`)
  }
  out.push('')
  return out
}

function fleetSection(fleet) {
  const out = [
    '## A mixed fleet during a rolling update',
    '',
    `Next.js ${fleet.next}: replicas of v1 and v2 behind one round-robin balancer, so a tab's health polls`,
    'and actions alternate between the builds. What the user of each tab saw without routing:',
    '',
    '| the tab | what happened | what the user saw |',
    '|---|---|---|',
  ]
  const { polls, settled, v1Bounce, v2Bounce, routed } = fleet
  const reloads = (loads) => `${loads - 1} reload${loads === 2 ? '' : 's'}`
  out.push(
    `| a v1 tab, health polls alternating | ${polls.polls} polls answered by both builds | ${polls.banner ? 'an update notice' : 'no update notice'}, ${polls.loads - 1} reloads |`,
    `| the same tab once only v2 answers | the fleet settled on v2 | ${settled.banner ? `the notice (${settled.kind})` : 'no notice'}, ${settled.loads - 1} reloads (a visible page is not reloaded for a version check) |`,
    `| a v1 tab clicking an action v2 renamed | ${v1Bounce.clicks} clicks: ${v1Bounce.refused} refused by v2, ${v1Bounce.ranOnV1} ran on v1 | ${reloads(v1Bounce.loads)}, then "${md(v1Bounce.shown)}" |`,
    `| a v2 tab whose clicks reach v1 replicas | ${v2Bounce.clicks} clicks: ${v2Bounce.onV1} answered by v1 | ${reloads(v2Bounce.loads)}, then "${md(v2Bounce.shown)}" |`,
    '',
  )
  if (routed) {
    out.push(
      'With routing configured (here every replica forwards what belongs to the other build: in-app',
      'forwarding with the registry naming both; a proxy routing by the same contract does the same):',
      '',
      '| the tab | what happened | what the user saw |',
      '|---|---|---|',
      `| a v1 tab clicking an action v2 renamed | ${routed.v1.clicks} clicks, ${routed.v1.onOwnBuild} answered by v1, ${routed.v1.refused} refused | ${reloads(routed.v1.loads)}, "${md(routed.v1.shown)}" |`,
      `| a v2 tab clicking its action | ${routed.v2.clicks} clicks, ${routed.v2.onOwnBuild} answered by v2, ${routed.v2.refused} refused | ${reloads(routed.v2.loads)}, "${md(routed.v2.shown)}" |`,
      '',
    )
  }
  return out
}

/** docs/compatibility.md from the observations (see the head of this file). */
export function compatibilityDoc(entries, fleet = null) {
  const out = [
    '# What each Next.js version does with a stale tab, with and without next-skew-guard',
    '',
    '<!-- Generated by `npm test` (scripts/e2e/compatibility-doc.mjs) from what its end-to-end suites observed; do not edit. -->',
    '',
    'Every cell is what headless Chromium observed in a tab of deploy v1 after deploy v2 took its port:',
    'the example app (examples/next-app) built twice with one pinned key, `greet` renamed to `welcome`',
    'and `shout` changed in v2. "Plain Next.js" is the same app without any next-skew-guard touch point',
    '(examples/next-app/plain/). The key rows use a tab of v2, then restart v2 with a new',
    '`NEXT_SERVER_ACTIONS_ENCRYPTION_KEY` (the guarded server keeps the old key in',
    '`SKEW_GUARD_PREVIOUS_KEYS`), then with a third key and no previous one. "Clicked again" is the',
    "user's second click when the first one did not show an answer. The routed tables keep v1 running",
    'beside v2 behind each proxy, configured by `next-skew-guard deployments render` (docs/routing.md).',
    '',
  ]
  for (const { pins, plain, guarded, routed } of entries) {
    const hook = { edge: 'Edge middleware', nodejs: 'Node middleware', proxy: 'proxy.ts' }[pins.runtime]
    out.push(`## Next.js ${pins.next} (React ${pins.react}, guard in ${hook})`, '')
    out.push('| in the old tab | plain Next.js | with next-skew-guard |', '|---|---|---|')
    for (const [label, p, g] of rows(plain, guarded)) out.push(`| ${md(label)} | ${md(p)} | ${md(g)} |`)
    out.push('')
    out.push(
      `Skew counted by the guard (\`getSkewStats()\`): after the deploy ${counters(guarded.stats.v2)}; ` +
        `after the key rotation ${counters(guarded.stats.rotated)}; after the key change ${counters(guarded.stats.keyChanged)}.`,
      '',
    )
    if (routed) out.push(...routedSection(routed))
    else out.push('Not run through the routing proxies (the routed suite covers 16, 15.5 and 14).', '')
  }
  if (fleet) out.push(...fleetSection(fleet))
  return `${out.join('\n').trimEnd()}\n`
}

/** Writes the doc from the files written since `since`; resolves what it did, or why it did not. */
export function writeCompatibilityDoc({ since = 0 } = {}) {
  const entries = []
  const missing = []
  for (const version of ORDER) {
    const matrix = load(matrixResultsFile(version), since)
    if (!matrix) {
      missing.push(version)
      continue
    }
    const routed = load(routedResultsFile(workDir(version)), since)
    entries.push({
      pins: MATRIX[version],
      plain: matrix.plain,
      guarded: matrix.guarded,
      routed: routed?.next === MATRIX[version].next ? routed : null,
    })
  }
  if (missing.length) return { written: false, missing }
  fs.writeFileSync(DOC, compatibilityDoc(entries, load(fleetResultsFile(), since)))
  return { written: true, missing }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2)
  const at = args.indexOf('--since')
  const since = at === -1 ? 0 : Number(args[at + 1])
  const result = writeCompatibilityDoc({ since })
  if (result.written) {
    console.log(`docs/compatibility.md written from this run's observations`)
  } else if (args.includes('--require')) {
    console.error(`✗ docs/compatibility.md: no observations of this run for Next.js ${result.missing.join(', ')}`)
    process.exit(1)
  } else {
    console.log(`docs/compatibility.md left as it is: the matrix did not run for Next.js ${result.missing.join(', ')}`)
  }
}
