'use server'
// An upload sent the two ways apps send one: the file read in the browser and passed as a data URL
// (a plain-text body), or the file itself in a FormData (a multipart body). Over
// `experimental.serverActions.bodySizeLimit` (1 MB by default) Next.js refuses the call before the
// action runs (500 with a digest): the page must say so, not reload. (Next.js 14 limits only
// plain-text bodies, 15.3 only multipart ones; 15.5 and 16 both.)
import { createSafeAction } from 'next-skew-guard/action'

const received = (name: string, size: number) => `${name}: ${size} received`

export const uploadSafe = createSafeAction(async (name: string, dataUrl: string) => received(name, dataUrl.length))

export async function uploadPlain(name: string, dataUrl: string): Promise<string> {
  return received(name, dataUrl.length)
}

export const uploadFormSafe = createSafeAction(async (form: FormData) => {
  const file = form.get('file')
  return file instanceof File ? received(file.name, file.size) : 'no file'
})

export async function uploadFormPlain(form: FormData): Promise<string> {
  const file = form.get('file')
  return file instanceof File ? received(file.name, file.size) : 'no file'
}
