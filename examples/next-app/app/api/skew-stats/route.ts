// Skew counters of this server process (proxy refusals, unknown keys, Next.js's own reports).
// For the example and its tests; in a real app, protect this route or export the Prometheus
// counter (next_skew_guard_events_total, when prom-client is installed) instead.
import { getSkewStats } from 'next-skew-guard/instrumentation'

export const dynamic = 'force-dynamic'

export function GET() {
  return Response.json(getSkewStats(), { headers: { 'cache-control': 'no-store' } })
}
