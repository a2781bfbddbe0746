import { UploadPanel } from './upload-panel'

export default function Page() {
  return (
    <main>
      <h1>Upload a file (at most 1 MB)</h1>
      <UploadPanel />
    </main>
  )
}
