'use server'
// Plain Next.js variant, build "v2": `greet` renamed to `welcome`, `shout` changed (as v2/ does).
import { redirect } from 'next/navigation'

export async function welcome(name: string) {
  return `Welcome, ${name}!`
}

export async function shout(text: string) {
  return `${text.toUpperCase()}!`
}

export async function saveNote(formData: FormData) {
  const note = String(formData.get('note') ?? '').slice(0, 100)
  redirect(`/?saved=${encodeURIComponent(note)}`)
}
