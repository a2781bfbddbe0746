export default function Page() {
  return (
    <main>
      <h1 id="elsewhere">Elsewhere</h1>
    </main>
  )
}
