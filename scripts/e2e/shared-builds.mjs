// The guarded v1 and v2 builds of the example app, built once per `npm test` run and Next.js
// version and shared by the suites that need exactly those (the matrix's guarded story, the routed
// suite, the mixed fleet): each `next build` costs ~20 s, and the suites run one after another in
// their own processes.
//
// They live in a work copy of their own (workDir(version)/shared) that no other suite resets. A
// stamp file names the run that built them (NSG_RUN_ID, which `npm test` sets); a suite of another
// run, or one started alone, builds them again. The key is the stamp's: a test key made by the
// first suite of the run (which recorded it for the run's secret scan), mode 0600.
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'

import { progress } from './log.mjs'
import { applyV2Overlay, build, prepareApp, readActionIds, readActions, resetSources, workDir } from './setup.mjs'

const RUN = process.env.NSG_RUN_ID || `solo-${randomBytes(4).toString('hex')}`

function stampFile(version) {
  return path.join(workDir(version), 'shared-builds.json')
}

/**
 * The guarded builds of the example for a MATRIX version: `{ app, key, v1, v2 }`, where v2 renames
 * `greet` and changes `shout` (examples/next-app/v2/), both built with `key`. The work copy's
 * sources are v2's afterwards; serve the builds, do not build in it.
 */
export async function sharedGuardBuilds(version) {
  const file = stampFile(version)
  let stamp = null
  try {
    stamp = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    // none yet
  }
  const app = await prepareApp({ version, name: 'shared', keepBuilds: stamp?.run === RUN })
  if (stamp?.run === RUN && ['v1', 'v2'].every((v) => fs.existsSync(path.join(app.dir, stamp[v].distDir, 'BUILD_ID')))) {
    progress(`Next.js ${version}: the guarded v1 and v2 builds of this run, shared (${stamp.v1.buildId}, ${stamp.v2.buildId})`)
    const done = (b) => ({ ...b, actions: readActions(app, b.distDir), actionIds: readActionIds(app, b.distDir) })
    return { app, key: stamp.key, v1: done(stamp.v1), v2: done(stamp.v2) }
  }
  const { generateKey } = createRequire(import.meta.url)('next-skew-guard')
  const key = generateKey()
  resetSources(app)
  const id = RUN.replace(/[^A-Za-z0-9_-]/g, '').slice(-12)
  const v1 = await build(app, { name: 'guard-v1', distDir: '.next-guard-v1', buildId: `guard-v1-${id}`, key })
  applyV2Overlay(app)
  const v2 = await build(app, { name: 'guard-v2', distDir: '.next-guard-v2', buildId: `guard-v2-${id}`, key })
  const pick = (b) => ({ distDir: b.distDir, buildId: b.buildId })
  fs.writeFileSync(file, `${JSON.stringify({ run: RUN, key, v1: pick(v1), v2: pick(v2) })}\n`, { mode: 0o600 })
  return { app, key, v1, v2 }
}
