// Progress lines for CI logs: where the time of the end-to-end suite goes.
const started = Date.now()
let prefix = 'e2e'

/** Names the lines of another user of these helpers (`npm run demo`: `demo`). */
export function setProgressPrefix(name) {
  prefix = name
}

/** Prints `[e2e +12.3s] message` (stdout; node --test streams it as a `#` line). */
export function progress(message) {
  console.log(`[${prefix} +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`)
}

/** Runs `fn`, printing how long the step took. */
export async function step(title, fn) {
  const t0 = Date.now()
  progress(`${title}…`)
  const result = await fn()
  progress(`${title}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return result
}
