// The server's resident memory, as the kernel counts it: VmRSS of /proc/<pid>/status (Linux).
// Readings are taken after the server has been idle for a while, so that garbage of the last
// requests does not count as growth.

/** VmRSS of `pid` in bytes, or null where /proc is not available. */
export async function rssOf(pid) {
  const { readFile } = await import('node:fs/promises')
  let status
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8')
  } catch {
    return null
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  return match ? Number(match[1]) * 1024 : null
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * RSS of an idle server: samples every `everyMs` and returns the smallest reading, once
 * `stableSamples` readings in a row changed it by less than 1 % (when `stableSamples` is set), once
 * `until(rss)` holds (e.g. "back within 10 % of the start"), or after `maxSamples`. Bounded by
 * `maxSamples` whatever happens: V8 returns memory to the system some seconds after the traffic
 * stops (its memory reducer), so a reading right after the last request overstates what is kept.
 */
export async function settledRss(pid, { everyMs = 500, stableSamples = Infinity, maxSamples = 60, until = () => false } = {}) {
  let best = null
  let stable = 0
  const samples = []
  for (let i = 0; i < maxSamples; i++) {
    const rss = await rssOf(pid)
    if (rss === null) return { rss: null, samples }
    samples.push(rss)
    if (best !== null && Math.abs(rss - best) < best * 0.01) stable++
    else stable = 0
    best = best === null ? rss : Math.min(best, rss)
    if (stable >= stableSamples || until(best)) break
    await sleep(everyMs)
  }
  return { rss: best, samples }
}

/** `123.4 MiB` */
export function mib(bytes) {
  return bytes === null ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
