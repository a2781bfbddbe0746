// Build "v2" of the chart: new code, so a new chunk file.
const BARS = [3, 1, 4, 1, 5]

export function Chart() {
  return (
    <p id="chart" data-version="v2">
      chart v2{' '}
      {BARS.map((height, i) => (
        <span key={i} style={{ display: 'inline-block', width: 4, height: height * 4, background: 'currentColor', marginRight: 1 }} />
      ))}
    </p>
  )
}
