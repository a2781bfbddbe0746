'use server'
// Actions for the pages that show how errors reach the user: a proxy or gateway that answers instead
// of Next.js (/gateway/<status>), a proxy that sends the wrong host (/csrf), and actions that fail
// on purpose (/errors). None of this is version skew.
import { createSafeAction, SafeActionError } from 'next-skew-guard/action'

export const echo = createSafeAction(async (text: string) => `echo: ${text}`)

export async function echoPlain(text: string): Promise<string> {
  return `echo: ${text}`
}

/** A safe action that refuses on purpose: its code reaches the page. */
export const refuse = createSafeAction(async (): Promise<string> => {
  throw new SafeActionError('NOT_ALLOWED', 'You may not do that.')
})

/** A plain action that throws: Next.js answers 500 with a digest, the page catches the rejection. */
export async function explode(): Promise<string> {
  throw new Error('the action failed')
}
