'use server'
// Server Actions of the example, build "v2" (copied over app/actions.ts for the second deploy).
// Compared with v1: `greet` is renamed to `welcome`, and `shout` does something else.
import { revalidatePath } from 'next/cache'
import { redirect } from 'next/navigation'
import { createSafeAction } from 'next-skew-guard/action'

/** Was `greet` in v1. A new name is a new action ID: v1 tabs get 409 `unknown-action`, reload, and call this. */
export const welcome = createSafeAction(async (name: string) => `Welcome, ${name}!`)

/** Same name, new behaviour. A v1 tab's call runs this code; the answer says `x-skew-guard: reload`. */
export const shout = createSafeAction(async (text: string) => `${text.toUpperCase()}!`)

/** Unchanged. */
export async function saveNote(formData: FormData) {
  const note = String(formData.get('note') ?? '').slice(0, 100)
  redirect(`/?saved=${encodeURIComponent(note)}`)
}

/** Unchanged. */
export async function renewNote() {
  revalidatePath('/')
}
