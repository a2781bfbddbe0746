'use client'
import { useState } from 'react'
import { callSafeAction } from 'next-skew-guard/action'
import { resultJson, resultText } from '../call-result'
import { uploadPlain, uploadSafe } from './actions'

async function chosenFile(): Promise<{ name: string; dataUrl: string } | null> {
  const file = (document.getElementById('upload-file') as HTMLInputElement | null)?.files?.[0]
  if (!file) return null
  const dataUrl = await new Promise<string>((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(String(reader.result))
    reader.onerror = () => reject(reader.error)
    reader.readAsDataURL(file)
  })
  return { name: file.name, dataUrl }
}

export function UploadPanel() {
  const [safe, setSafe] = useState({ text: '', json: '' })
  const [plain, setPlain] = useState('')

  return (
    <section>
      <p>
        <input id="upload-file" type="file" />
      </p>
      <p>
        <button id="upload-safe" onClick={async () => {
          const file = await chosenFile()
          if (!file) return setSafe({ text: 'choose a file first', json: '' })
          const result = await callSafeAction(uploadSafe, file.name, file.dataUrl)
          setSafe({ text: resultText(result), json: resultJson(result) })
        }}>
          Upload (safe action)
        </button>{' '}
        <output id="upload-safe-result" data-result={safe.json}>{safe.text}</output>
      </p>
      <p>
        <button id="upload-plain" onClick={async () => {
          const file = await chosenFile()
          if (!file) return setPlain('choose a file first')
          try {
            const answer = await uploadPlain(file.name, file.dataUrl)
            setPlain(answer === undefined ? 'no answer' : `ok: ${answer}`)
          } catch (error) {
            setPlain(`failed: ${error instanceof Error ? error.message : String(error)}`)
          }
        }}>
          Upload (plain action)
        </button>{' '}
        <output id="upload-plain-result">{plain}</output>
      </p>
    </section>
  )
}
