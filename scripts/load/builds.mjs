// The two deploys the load run aims at: examples/next-app built as "v1", then with the v2 overlay
// (greet renamed to welcome, shout reimplemented) as "v2", both with one build key, in the load
// run's own work copy (prepareApp({ name: 'load' })), so it never rewrites the e2e suite's copy.
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'

import { applyV2Overlay, build, prepareApp } from '../e2e/setup.mjs'

const require = createRequire(import.meta.url)
const { generateKey } = require('next-skew-guard')

/**
 * Builds v1 and v2. Resolves `{ app, keys: { build, runtime }, v1, v2 }`: `keys.build` is the key
 * both builds used (it salts the action IDs on Next.js 16); `keys.runtime` is a second key the
 * server is started with, `keys.build` then being its previous key, so that closures sealed before
 * a rotation are real.
 */
export async function prepareBuilds({ name = 'load' } = {}) {
  const run = randomBytes(3).toString('hex')
  const app = await prepareApp({ major: 16, name })
  const keys = { build: generateKey(), runtime: generateKey() }
  const v1 = await build(app, { name: 'load-v1', distDir: '.next-v1', buildId: `load-v1-${run}`, key: keys.build })
  applyV2Overlay(app)
  const v2 = await build(app, { name: 'load-v2', distDir: '.next-v2', buildId: `load-v2-${run}`, key: keys.build })
  return { app, keys, v1: strip(v1), v2: strip(v2) }
}

/** A build without its (long) build output, which is kept in the app's logs directory. */
function strip({ output, ...rest }) {
  return rest
}
