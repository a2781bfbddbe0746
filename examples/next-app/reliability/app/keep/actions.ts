'use server'
// Build "v1". v2/app/keep/actions.ts renames `saveDraft` to `storeDraft`: a v1 tab's Save then calls
// an action ID the new build does not know.
import { describeDraft, type Draft } from './draft'

export async function saveDraft(draft: Draft): Promise<string> {
  return describeDraft(draft)
}
