'use server'
// Server Actions of the example, build "v1". v2/app/actions.ts is the next deploy: it renames
// `greet` (so its action ID changes) and changes what `shout` does (its ID stays the same).
//
// createSafeAction makes an action always resolve to `{ success, data | error, buildId }`, so the
// client can tell "the action failed" from "this page is from another deployment".
import { revalidatePath } from 'next/cache'
import { redirect } from 'next/navigation'
import { createSafeAction } from 'next-skew-guard/action'

/** Renamed to `welcome` in v2: tabs still running v1 call an ID the new build does not know. */
export const greet = createSafeAction(async (name: string) => `Hello, ${name}!`)

/** Same name in v2, new implementation: the ID stays, so v1 tabs reach v2's code. */
export const shout = createSafeAction(async (text: string) => `${text}!`)

/**
 * A plain action for a form that works without JavaScript. The browser posts the form and gets
 * the redirected page back; with JavaScript, Next.js does the same without a full load.
 */
export async function saveNote(formData: FormData) {
  const note = String(formData.get('note') ?? '').slice(0, 100)
  redirect(`/?saved=${encodeURIComponent(note)}`)
}

/** Renders the page's server data again (a new note): an action whose answer carries a new page tree. */
export async function renewNote() {
  revalidatePath('/')
}
