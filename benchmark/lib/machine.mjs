// The machine a run was measured on, for results.json and the table's header.
import { spawnSync } from 'node:child_process'
import * as os from 'node:os'

function version(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

export function machineInfo() {
  const cpus = os.cpus()
  let flags = []
  try {
    const cpuinfo = spawnSync('cat', ['/proc/cpuinfo'], { encoding: 'utf8' }).stdout ?? ''
    const line = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? ''
    const have = new Set(line.trim().split(/\s+/))
    flags = ['aes', 'pclmulqdq', 'avx2', 'vaes', 'vpclmulqdq', 'avx512f'].filter((f) => have.has(f))
  } catch {
    // not Linux: no flags
  }
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    cpuFlags: flags,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    kernel: os.release(),
    node: process.version,
    rustc: version('rustc', ['--version']),
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  }
}
