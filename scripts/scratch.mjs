// The temporary directory of one test run (`npm test`, `npm run test:unit`): created with the
// run's PID in an `owner` file, so that the next run can tell a directory whose run was killed
// outright (its owner is gone) from one of a run still going, and remove it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return e.code === 'EPERM'
  }
}

/**
 * Removes the `<tmpdir>/<prefix>*` directories of runs that are gone (`onStale(dir)` first, for
 * what they left running), then creates this run's and returns its path.
 */
export function runScratch(prefix, onStale = () => {}) {
  const TMP = tmpdir()
  for (const name of readdirSync(TMP).filter((n) => n.startsWith(prefix))) {
    const dir = join(TMP, name)
    let owner = NaN
    try {
      owner = Number(readFileSync(join(dir, 'owner'), 'utf8'))
    } catch {
      // no owner recorded: a run that died while starting
    }
    if (Number.isInteger(owner) && alive(owner)) continue
    onStale(dir)
    rmSync(dir, { recursive: true, force: true })
  }
  const scratch = mkdtempSync(join(TMP, prefix))
  writeFileSync(join(scratch, 'owner'), String(process.pid))
  return scratch
}
