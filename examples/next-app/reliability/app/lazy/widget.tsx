// Build "v1" of a component loaded on demand with next/dynamic (v2/app/lazy/widget.tsx changes it,
// so its chunk gets another name: a v1 tab asks the v2 server for a chunk file it never had).
export default function Widget() {
  return (
    <p id="widget" data-version="v1">
      widget v1
    </p>
  )
}
