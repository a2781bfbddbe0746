'use server'
// Build "v2": `saveDraft` is now `storeDraft`, a new action ID.
import { describeDraft, type Draft } from './draft'

export async function storeDraft(draft: Draft): Promise<string> {
  return describeDraft(draft)
}
