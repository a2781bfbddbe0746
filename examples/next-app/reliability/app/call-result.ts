// How the example's panels show a callSafeAction result. Reads the fields it shows defensively, so
// the same code works whatever optional fields a result carries (`skew`, `actionRan`, `status`).
import type { CallSafeActionResult } from 'next-skew-guard/action'

/** The result without `cause` (an Error, which does not serialise), as JSON for a data attribute. */
export function resultJson(result: CallSafeActionResult<unknown>): string {
  const { cause: _cause, ...fields } = result as unknown as Record<string, unknown>
  return JSON.stringify(fields)
}

/** One line for the user: the data, or the error code (and the skew reason). */
export function resultText(result: CallSafeActionResult<unknown>): string {
  if (result.success) return `ok: ${String(result.data)}`
  const r = result as unknown as { error: string; reason?: string; actionRan?: unknown }
  if (r.error === 'VERSION_SKEW') return `VERSION_SKEW (${r.reason ?? 'unknown'})`
  return r.actionRan === 'unknown' ? `error: ${r.error} (it may have run)` : `error: ${r.error}`
}
