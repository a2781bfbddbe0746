import { randomUUID } from 'node:crypto'
import { describeDraft, type Draft } from './draft'
import { KeepForm } from './keep-form'

// Rendered per request: the closure below captures a value made for this very render.
export const dynamic = 'force-dynamic'

export default async function Page({ searchParams }: { searchParams: Promise<{ fields?: string }> }) {
  const { fields } = await searchParams
  const draftId = `draft ${randomUUID().slice(0, 8)}`

  async function saveWithClosure(draft: Draft): Promise<string> {
    'use server'
    return `${draftId}: ${describeDraft(draft)}`
  }

  return (
    <main>
      <h1>Write something</h1>
      <p>
        Draft: <code id="draft-id">{draftId}</code>
      </p>
      <KeepForm fields={fields ?? 'all'} saveWithClosure={saveWithClosure} />
    </main>
  )
}
