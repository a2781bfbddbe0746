'use client'
import { useState } from 'react'
import { callSafeAction } from 'next-skew-guard/action'
import { resultJson, resultText } from '../call-result'
import { uploadFormPlain, uploadFormSafe, uploadPlain, uploadSafe } from './actions'

function chosenFile(): File | null {
  return (document.getElementById('upload-file') as HTMLInputElement | null)?.files?.[0] ?? null
}

function asDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(String(reader.result))
    reader.onerror = () => reject(reader.error)
    reader.readAsDataURL(file)
  })
}

function asForm(file: File): FormData {
  const form = new FormData()
  form.set('file', file)
  return form
}

async function plainly(call: () => Promise<string>): Promise<string> {
  try {
    const answer = await call()
    return answer === undefined ? 'no answer' : `ok: ${answer}`
  } catch (error) {
    return `failed: ${error instanceof Error ? error.message : String(error)}`
  }
}

type Shown = { text: string; json: string }

export function UploadPanel() {
  const [shown, setShown] = useState<Record<string, Shown>>({})
  const show = (id: string, value: Shown) => setShown((before) => ({ ...before, [id]: value }))
  const none = { text: 'choose a file first', json: '' }

  const buttons: Array<[string, string, (file: File) => Promise<Shown>]> = [
    [
      'upload-safe',
      'Upload as a data URL (safe action)',
      async (file) => {
        const result = await callSafeAction(uploadSafe, file.name, await asDataUrl(file))
        return { text: resultText(result), json: resultJson(result) }
      },
    ],
    [
      'upload-plain',
      'Upload as a data URL (plain action)',
      async (file) => {
        const dataUrl = await asDataUrl(file)
        return { text: await plainly(() => uploadPlain(file.name, dataUrl)), json: '' }
      },
    ],
    [
      'upload-form-safe',
      'Upload the file (safe action)',
      async (file) => {
        const result = await callSafeAction(uploadFormSafe, asForm(file))
        return { text: resultText(result), json: resultJson(result) }
      },
    ],
    [
      'upload-form-plain',
      'Upload the file (plain action)',
      async (file) => ({ text: await plainly(() => uploadFormPlain(asForm(file))), json: '' }),
    ],
  ]

  return (
    <section>
      <p>
        <input id="upload-file" type="file" />
      </p>
      {buttons.map(([id, label, upload]) => (
        <p key={id}>
          <button
            id={id}
            onClick={async () => {
              const file = chosenFile()
              show(id, file ? await upload(file) : none)
            }}
          >
            {label}
          </button>{' '}
          <output id={`${id}-result`} data-result={shown[id]?.json ?? ''}>
            {shown[id]?.text ?? ''}
          </output>
        </p>
      ))}
    </section>
  )
}
