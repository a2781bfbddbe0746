// The process groups the test machinery starts (next start servers, proxies, builds, installs).
// Each is killed when the process that started it exits, and, while it runs, recorded as a file in
// $NSG_PID_DIR (which `npm test` sets): a test process killed before its hooks run (SIGKILL, a
// timeout) leaves no orphan, because the run that owns the directory kills what is recorded there.
import * as fs from 'node:fs'
import * as path from 'node:path'

const live = new Set()
let hooked = false

function killGroup(pid, signal = 'SIGKILL') {
  try {
    process.kill(-pid, signal)
  } catch {
    // the group is gone already
  }
}

/** Tracks a child spawned with `detached: true` (its own process group) until it exits. */
export function track(child, label = 'child') {
  if (!child.pid) return child
  if (!hooked) {
    hooked = true
    process.on('exit', () => {
      for (const c of live) killGroup(c.pid)
    })
  }
  live.add(child)
  const dir = process.env.NSG_PID_DIR
  const file = dir ? path.join(dir, String(child.pid)) : null
  if (file) {
    try {
      fs.mkdirSync(dir, { recursive: true })
      fs.writeFileSync(file, `${label}\n`)
    } catch {
      // recording is a safety net, never a failure
    }
  }
  child.once('exit', () => {
    live.delete(child)
    if (file) fs.rmSync(file, { force: true })
  })
  return child
}

/** Kills every process group recorded in `dir` and forgets them; returns how many there were. */
export function killRecorded(dir) {
  let count = 0
  let entries = []
  try {
    entries = fs.readdirSync(dir)
  } catch {
    return 0
  }
  for (const name of entries) {
    const pid = Number(name)
    if (Number.isInteger(pid) && pid > 1) {
      killGroup(pid)
      count++
    }
    fs.rmSync(path.join(dir, name), { force: true })
  }
  return count
}
