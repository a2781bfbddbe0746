// docs/compatibility.md is written only from observations of the run that asks for it: every
// matrix version present and new enough, the routed and mixed-fleet sections from their suites'
// files, and nothing from a file older than the run.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, test } from 'node:test'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-compat-doc-'))
process.env.NSG_E2E_ROOT = root
const { compatibilityDoc, fleetResultsFile, matrixResultsFile, saveResults } = await import('../scripts/e2e/compatibility-doc.mjs')
const { routedResultsFile } = await import('../scripts/e2e/routed.mjs')
const { MATRIX, workDir } = await import('../scripts/e2e/setup.mjs')
after(() => fs.rmSync(root, { recursive: true, force: true }))

const attempt = (shown, status = 200) => ({ responses: [{ status, guard: null }], errors: [], reloaded: false, shown, banner: null })
function variant(tag) {
  const results = { noJs: { status: 409, contentType: 'text/html', guard: null, body: '' } }
  for (const id of ['renamed', 'changed', 'closure', 'form', 'rejected', 'rotated', 'keyChanged'])
    results[id] = { first: attempt(`${tag} ${id}`), retry: null }
  const stats = { total: 1, byKind: { 'unknown-action': 1 } }
  return { results, stats: { v2: stats, rotated: stats, keyChanged: stats }, nextLog: {} }
}

test('the doc has a routed table per version that the routed suite observed, and the mixed fleet', () => {
  const pins = MATRIX['16']
  const routed = {
    next: pins.next,
    proxies: {
      nginx: { plain: '"Hello, Ada!" from v1', reloads: 0, typedKept: true },
      caddy: { plain: '"Hello, Ada!" from v1', reloads: 0, typedKept: false },
    },
  }
  const fleet = {
    next: pins.next,
    polls: { polls: 9, banner: 0, loads: 1 },
    settled: { banner: 1, kind: 'build-mismatch', loads: 1 },
    v1Bounce: { clicks: 6, refused: 3, ranOnV1: 3, loads: 2, shown: 'Welcome, Ada!' },
    v2Bounce: { clicks: 4, onV1: 2, loads: 1, shown: 'Welcome, Ada!' },
    routed: {
      v1: { clicks: 4, onOwnBuild: 4, refused: 0, loads: 1, shown: 'Hello, Ada!' },
      v2: { clicks: 4, onOwnBuild: 4, refused: 0, loads: 1, shown: 'Welcome, Ada!' },
    },
  }
  const doc = compatibilityDoc([{ pins, plain: variant('plain'), guarded: variant('guarded'), routed }], fleet)
  assert.match(doc, /\| in the old tab \| nginx \| caddy \|/)
  assert.match(doc, /\| an action v2 renamed \| "Hello, Ada!" from v1 \| "Hello, Ada!" from v1 \|/)
  assert.match(doc, /\| text typed before the deploy still there \| yes \| no \|/)
  assert.match(doc, /\| an action v2 renamed \| HTTP 200, shows "plain renamed" \| HTTP 200, shows "guarded renamed" \|/)
  assert.match(doc, /9 polls answered by both builds \| no update notice, 0 reloads/)
  assert.match(doc, /6 clicks: 3 refused by v2, 3 ran on v1 \| 1 reload, then "Welcome, Ada!"/)
  assert.match(doc, /\| a v1 tab clicking an action v2 renamed \| 4 clicks, 4 answered by v1, 0 refused \| 0 reloads, "Hello, Ada!" \|/)
  // Without routed observations a version says so instead of showing an empty table.
  assert.match(
    compatibilityDoc([{ pins, plain: variant('p'), guarded: variant('g'), routed: null }]),
    /Not run through the routing proxies/,
  )
})

test('the CLI writes nothing from files older than the run, and --require fails then', async () => {
  const { spawnSync } = await import('node:child_process')
  const script = path.join(import.meta.dirname, '..', 'scripts', 'e2e', 'compatibility-doc.mjs')
  const docBefore = fs.readFileSync(path.join(import.meta.dirname, '..', 'docs', 'compatibility.md'), 'utf8')
  for (const version of Object.keys(MATRIX))
    saveResults(matrixResultsFile(version), { next: MATRIX[version].next, plain: variant('p'), guarded: variant('g') })
  saveResults(routedResultsFile(workDir('16')), { next: MATRIX['16'].next, proxies: {} })
  saveResults(fleetResultsFile(), { next: MATRIX['16'].next })
  const future = String(Date.now() + 60_000)
  const env = { ...process.env, NSG_E2E_ROOT: root }
  const partial = spawnSync(process.execPath, [script, '--since', future], { encoding: 'utf8', env })
  assert.equal(partial.status, 0, partial.stderr)
  assert.match(partial.stdout, /left as it is: the matrix did not run for Next.js 14/)
  const full = spawnSync(process.execPath, [script, '--since', future, '--require'], { encoding: 'utf8', env })
  assert.equal(full.status, 1)
  assert.match(full.stderr, /no observations of this run for Next.js 14, 15.3, 15.5, 16/)
  assert.equal(
    fs.readFileSync(path.join(import.meta.dirname, '..', 'docs', 'compatibility.md'), 'utf8'),
    docBefore,
    'the doc was not touched',
  )
})
