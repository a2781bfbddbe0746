// Progress lines for CI logs: where the time of the end-to-end suite goes.
import * as fs from 'node:fs'

const started = Date.now()
let prefix = 'e2e'
let file = null

/** Names the lines of another user of these helpers (`npm run demo`: `demo`). */
export function setProgressPrefix(name) {
  prefix = name
}

/**
 * Sends the progress lines to `path` (appended) instead of stdout, for a caller that keeps the
 * terminal for its own summary (`npm run demo`). `null`: back to stdout.
 */
export function setProgressFile(path) {
  file = path
}

/** Prints `[e2e +12.3s] message` (stdout, where node --test streams it as a `#` line, or the progress file). */
export function progress(message) {
  const line = `[${prefix} +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`
  if (file) fs.appendFileSync(file, `${line}\n`)
  else console.log(line)
}

/** Runs `fn`, printing how long the step took. */
export async function step(title, fn) {
  const t0 = Date.now()
  progress(`${title}…`)
  const result = await fn()
  progress(`${title}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return result
}
