'use server'
// Plain Next.js variant (see plain/next.config.mjs), build "v1": the same actions without
// createSafeAction. plain/v2/app/actions.ts renames `greet` and changes `shout`, as v2/ does.
import { redirect } from 'next/navigation'

export async function greet(name: string) {
  return `Hello, ${name}!`
}

export async function shout(text: string) {
  return `${text}!`
}

export async function saveNote(formData: FormData) {
  const note = String(formData.get('note') ?? '').slice(0, 100)
  redirect(`/?saved=${encodeURIComponent(note)}`)
}
