'use server'
// An upload the way many apps send one: the file read in the browser and passed as a data URL.
// Over `experimental.serverActions.bodySizeLimit` (1 MB by default) Next.js refuses the call before
// the action runs (500 with a digest): the page must say so, not reload.
import { createSafeAction } from 'next-skew-guard/action'

export const uploadSafe = createSafeAction(async (name: string, dataUrl: string) => `${name}: ${dataUrl.length} characters received`)

export async function uploadPlain(name: string, dataUrl: string): Promise<string> {
  return `${name}: ${dataUrl.length} characters received`
}
