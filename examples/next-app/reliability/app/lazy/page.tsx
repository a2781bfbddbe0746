import { LazyPanel } from './lazy-panel'

export default function Page() {
  return (
    <main>
      <h1>Code loaded on demand</h1>
      <LazyPanel />
    </main>
  )
}
