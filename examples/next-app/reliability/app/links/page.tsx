import { LinkPanel } from './link-panel'

export default function Page() {
  return (
    <main>
      <h1>Links the app handles itself</h1>
      <LinkPanel />
    </main>
  )
}
