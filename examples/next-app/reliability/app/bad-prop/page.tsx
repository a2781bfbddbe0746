import { Ping } from './ping'

export default function Page() {
  return (
    <main>
      <h1 id="bad-prop-content">This page rendered.</h1>
      <Ping />
    </main>
  )
}
