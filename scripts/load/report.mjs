// The load run's figures as text: what was sent, how every answer was classified, the guard's
// counters, memory before and after, and the pass/fail of each check.
import { mib } from './memory.mjs'

/** Lines of text for a report and its verdicts. */
export function formatReport(report, checks) {
  const lines = []
  const pad = (s, n) => String(s).padEnd(n)
  lines.push(
    `load run: ${report.answered} of ${report.total} requests answered (autocannon sent ${report.sent}), concurrency ${report.connections}, ` +
      `after ${report.warmup} warm-up requests; ${report.durationS.toFixed(1)} s; ${report.errors} connection errors, ${report.timeouts} timeouts`,
  )
  lines.push('', 'what each kind is and the answer the guard documents for it:')
  for (const { kind, why } of report.kinds) lines.push(`  ${pad(kind, 22)} ${why}`)
  lines.push('', 'classification (kind / variant: status and verdict → requests):')
  for (const { kind, answers } of report.perKind) {
    for (const [label, n] of Object.entries(answers).sort()) lines.push(`  ${pad(kind, 22)} ${pad(label, 52)} ${String(n).padStart(6)}`)
  }
  lines.push('', "the guard's own counters (GET /api/skew-stats, delta over the run) against requests sent:")
  for (const c of report.counters)
    lines.push(`  ${pad(c.counter, 16)} counted ${String(c.counted).padStart(6)}, sent ${String(c.sent).padStart(6)} (${c.kind})`)
  const growth = report.rss.start && report.rss.end ? ((report.rss.end / report.rss.start - 1) * 100).toFixed(1) : 'n/a'
  lines.push(
    '',
    `server RSS (pid ${report.pid}, idle, /proc/<pid>/status VmRSS): after warm-up ${mib(report.rss.start)}, after the run ${mib(report.rss.end)} (${growth} %)`,
    `  samples after warm-up: ${report.rss.startSamples.map(mib).join(', ')}`,
    `  samples after the run: ${report.rss.endSamples.map(mib).join(', ')}`,
    `health after the run: ${report.health?.status ?? 'no answer'} ${JSON.stringify(report.health?.body ?? null)}`,
    '',
  )
  for (const { check, ok, detail } of checks) lines.push(`${ok ? 'PASS' : 'FAIL'}  ${check} — ${detail}`)
  return lines
}
