// The client's share: the JavaScript a browser loads with a page, read from a running `next start`
// of a build (the `<script src>` of the page's HTML, module scripts only), each file gzipped at
// level 9 as Next.js's own build output used to report "First Load JS". Comparing builds of the
// same page with and without the package's client components gives what they add.
import { gzipSync } from 'node:zlib'

/** `{ files: [{ path, bytes, gzip }], bytes, gzip }` of the scripts `GET <url>/` loads. */
export async function measureFirstLoad(url) {
  const html = await (await fetch(`${url}/`, { headers: { accept: 'text/html' } })).text()
  const paths = new Set()
  for (const tag of html.matchAll(/<script\b[^>]*>/g)) {
    if (/\bnoModule\b|\bnomodule\b/.test(tag[0])) continue
    const src = /\ssrc="([^"]+)"/.exec(tag[0])?.[1]
    if (src) paths.add(src.replace(/&amp;/g, '&'))
  }
  const files = []
  for (const p of paths) {
    const response = await fetch(new URL(p, url))
    if (response.status !== 200) throw new Error(`${p} answered ${response.status}`)
    const bytes = Buffer.from(await response.arrayBuffer())
    files.push({ path: p, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length })
  }
  if (files.length === 0) throw new Error(`${url}/ loads no scripts`)
  return { files, bytes: files.reduce((n, f) => n + f.bytes, 0), gzip: files.reduce((n, f) => n + f.gzip, 0) }
}

// ---------------------------------------------------------------------------------------------
// The client case on its own (without the load rows' six builds and their rounds):
//
//   node benchmark/cases/client.mjs [--version 14|15.5|16] [--write]
//
// builds the example three times in its own work copy (prepareApp({ name: 'client' }), under
// os.tmpdir()/nsg-e2e/next-<version>/client): as it is, as plain Next.js, and as plain Next.js
// with <SkewGuard /> in its layout (and withSkewGuard); serves each with `next start` on 127.0.0.1 (stopped by its PID) and
// measures what GET / loads. The variants are the load case's (cases/load.mjs builds the same
// three next to its load variants in `npm run bench`). `--version` picks a Next.js version of the
// e2e matrix (14 and 15 build with webpack, 16 with Turbopack); `--write` (Next.js 16 only, what
// `npm run bench` reports) puts the result into benchmark/results.json's client rows and
// `load.client`, leaving every other row as the last full run wrote it.

/**
 * The layout of the client-share variant: plain Next.js's (examples/next-app/plain/app/layout.tsx)
 * with <SkewGuard /> in it. The variant is the plain one plus this layout and the example's
 * next.config.mjs (withSkewGuard, which inlines the build ID the guard reads), so that it differs
 * from plain Next.js by <SkewGuard /> alone: the same page, the same action panel.
 */
export const GUARD_ONLY_LAYOUT = `import type { ReactNode } from 'react'
import { SkewGuard } from 'next-skew-guard/react'

export const metadata = { title: 'next-skew-guard example (plain Next.js)' }

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        {children}
        <SkewGuard />
      </body>
    </html>
  )
}
`

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`

/** The bench's rows of a client measurement (the same as benchmark/verify.mjs prints). */
export function clientRows(client) {
  const guard = client.guardOnly.gzip - client.plain.gzip
  const all = client.example.gzip - client.plain.gzip
  return [
    {
      case: 'client: first-load JS of / (gzip -9), plain Next.js',
      oursText: kb(client.plain.gzip),
      info: true,
      note: `${client.plain.files.length} scripts, ${kb(client.plain.bytes)} raw`,
    },
    {
      case: 'client: what <SkewGuard /> adds to it',
      oursText: kb(guard),
      baselineText: `${kb(client.guardOnly.gzip)} in all`,
      target: '≤ 6 KB',
      pass: guard <= 6 * 1024,
    },
    {
      case: 'client: what the example adds (<SkewGuard />, useSkewState banner, callSafeAction + isVersionSkew)',
      oursText: kb(all),
      baselineText: `${kb(client.example.gzip)} in all`,
      info: true,
    },
  ]
}

/**
 * Builds and measures the three variants; resolves `{ nextVersion, guardOnly, example, plain }`
 * (each as {@link measureFirstLoad} returns it).
 */
export async function measureClientShare({ version = null, log = console.error } = {}) {
  const fs = await import('node:fs')
  const path = await import('node:path')
  const { randomBytes } = await import('node:crypto')
  const { createRequire } = await import('node:module')
  const { startServer } = await import('../../scripts/e2e/server.mjs')
  const { EXAMPLE, applyPlainOverlay, build, prepareApp, resetSources } = await import('../../scripts/e2e/setup.mjs')
  const require = createRequire(import.meta.url)
  const { generateKey } = require('../..')

  const run = randomBytes(3).toString('hex')
  const key = generateKey()
  const app = await prepareApp({ ...(version === null || version === '16' ? { major: 16 } : { version }), name: 'client' })
  const built = []
  const measureVariant = async (name) => {
    // Each build adds its directory to tsconfig.json; the next build would type-check its route types.
    const tsconfig = JSON.parse(fs.readFileSync(path.join(EXAMPLE, 'tsconfig.json'), 'utf8'))
    tsconfig.exclude = [...(tsconfig.exclude ?? []), ...built]
    fs.writeFileSync(path.join(app.dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`)
    const b = await build(app, { name: `client-${name}`, distDir: `.next-${name}`, buildId: `client-${name}-${run}`, key })
    built.push(`.next-${name}`)
    const server = await startServer({ app, build: b, key, label: `client ${name}`, readyPath: '/', expectBuildId: null })
    try {
      const measured = await measureFirstLoad(server.url)
      log(`  ${name}: ${kb(measured.gzip)} gzip in ${measured.files.length} scripts`)
      return measured
    } finally {
      await server.stop()
    }
  }
  resetSources(app)
  fs.rmSync(path.join(app.dir, 'proxy.ts'), { force: true })
  fs.rmSync(path.join(app.dir, 'middleware.ts'), { force: true })
  const example = await measureVariant('app')
  applyPlainOverlay(app)
  const plain = await measureVariant('plain')
  fs.writeFileSync(path.join(app.dir, 'app', 'layout.tsx'), GUARD_ONLY_LAYOUT)
  fs.copyFileSync(path.join(EXAMPLE, 'next.config.mjs'), path.join(app.dir, 'next.config.mjs'))
  const guardOnly = await measureVariant('guard-only')
  return { nextVersion: require(`${app.dir}/node_modules/next/package.json`).version, guardOnly, example, plain }
}

async function main(argv) {
  const fs = await import('node:fs')
  const path = await import('node:path')
  const { fileURLToPath } = await import('node:url')
  const at = argv.indexOf('--version')
  const version = at === -1 ? null : argv[at + 1]
  const write = argv.includes('--write')
  if (write && version !== null && version !== '16') throw new Error('--write records Next.js 16 only (what npm run bench reports)')
  const client = await measureClientShare({ version })
  const rows = clientRows(client)
  console.log(`Next.js ${client.nextVersion}:`)
  for (const r of rows)
    console.log(
      `  ${r.case}: ${r.oursText}${r.baselineText ? ` (${r.baselineText})` : ''}${r.target ? ` target ${r.target}: ${r.pass ? 'PASS' : 'FAIL'}` : ''}`,
    )
  for (const [name, m] of Object.entries({ plain: client.plain, 'guard-only': client.guardOnly, example: client.example })) {
    console.log(`  ${name}:`)
    for (const f of m.files) console.log(`    ${String(f.gzip).padStart(7)} ${String(f.bytes).padStart(8)}  ${f.path.replace(/\?.*$/, '')}`)
  }
  if (!write) return
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results.json')
  const results = JSON.parse(fs.readFileSync(file, 'utf8'))
  const first = results.rows.findIndex((r) => r.case.startsWith('client: '))
  const kept = results.rows.filter((r) => !r.case.startsWith('client: '))
  kept.splice(first === -1 ? kept.length : first, 0, ...rows)
  results.rows = kept
  results.load = { ...(results.load ?? {}), client }
  results.clientMeasuredAt = new Date().toISOString()
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
  console.log(`results: client rows of ${path.relative(process.cwd(), file)} updated`)
}

if (process.argv[1] && (await import('node:url')).fileURLToPath(import.meta.url) === (await import('node:path')).resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    () => process.exit(),
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
