// Build "v1" of a component loaded on demand with a bare import() (changed in v2, like widget.tsx).
export function Chart() {
  return (
    <p id="chart" data-version="v1">
      chart v1
    </p>
  )
}
