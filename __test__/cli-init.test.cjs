// `next-skew-guard init` on app layouts as create-next-app (14, 15, 16) and real apps leave them:
// what it adds, how it composes with an app's own config, middleware/proxy and instrumentation,
// that every file it writes still parses, that a second run changes nothing, and what it refuses.
// The built-and-served version of this (real next build, doctor, Chromium) is in the e2e suites.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const ts = require('typescript')

const bin = path.join(__dirname, '..', 'bin', 'next-skew-guard.js')
const { expressionEnd, unifiedDiff, styleOf } = require('../dist/cli/source-edit.js')

const dirs = []
test.after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

/** A throwaway app: `files` maps paths to contents; `next` is the installed version. */
function app(next, files, { git = true } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-init-'))
  dirs.push(dir)
  const all = {
    'package.json': JSON.stringify({ name: 'app', private: true, dependencies: { next, react: '19.2.9' } }),
    'node_modules/next/package.json': JSON.stringify({ name: 'next', version: next }),
    ...files,
  }
  for (const [rel, content] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    fs.writeFileSync(path.join(dir, rel), content)
  }
  if (git) {
    spawnSync('git', ['init', '-q', '.'], { cwd: dir })
    fs.writeFileSync(path.join(dir, '.gitignore'), 'node_modules\n.next\n.env*\n')
  }
  return dir
}

function init(dir, args = [], env = {}) {
  const r = spawnSync(process.execPath, [bin, 'init', dir, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

const readIn = (dir, rel) => fs.readFileSync(path.join(dir, rel), 'utf8')

/** Fails with the diagnostics when `text` (named like `file`) does not parse. */
function parses(file, text) {
  const out = ts.transpileModule(text, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { jsx: ts.JsxEmit.Preserve, allowJs: true },
  })
  const problems = (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  assert.deepEqual(problems, [], `${file} does not parse:\n${text}`)
}

const LAYOUT_16 = `import type { Metadata } from "next";
import "./globals.css";

export const metadata: Metadata = { title: "Create Next App" };

export default function RootLayout({
  children,
}: Readonly<{
  children: React.ReactNode;
}>) {
  return (
    <html lang="en">
      <body className="antialiased">
        {children}
      </body>
    </html>
  );
}
`

test('a fresh Next.js 16 TypeScript app: all five touch points added, each file parses, a second run changes nothing', () => {
  const dir = app('16.4.6', {
    'tsconfig.json': '{}',
    'next.config.ts':
      'import type { NextConfig } from "next";\n\nconst nextConfig: NextConfig = {\n  /* config options here */\n};\n\nexport default nextConfig;\n',
    'app/layout.tsx': LAYOUT_16,
    'app/page.tsx': 'export default function Home() { return <main>hi</main> }\n',
  })
  const first = init(dir)
  assert.equal(first.code, 0, first.out + first.err)
  const config = readIn(dir, 'next.config.ts')
  assert.match(config, /^import \{ withSkewGuard \} from "next-skew-guard\/config";\n/)
  assert.match(config, /export default withSkewGuard\(nextConfig\);\n$/)
  assert.equal(readIn(dir, 'instrumentation.ts'), "export { register, onRequestError } from 'next-skew-guard/instrumentation'\n")
  const proxy = readIn(dir, 'proxy.ts')
  assert.match(proxy, /export const proxy = skewGuard\(\)/)
  assert.doesNotMatch(proxy, /runtime/, 'proxy.ts is always Node; a segment config there fails the build')
  const layout = readIn(dir, 'app/layout.tsx')
  assert.match(layout, /^import \{ SkewGuard \} from "next-skew-guard\/react";\n/)
  assert.match(layout, / {8}\{children\}\n {8}<SkewGuard \/>\n {6}<\/body>/)
  const env = readIn(dir, '.env.local')
  const key = /^NEXT_SERVER_ACTIONS_ENCRYPTION_KEY=([A-Za-z0-9+/]{43}=)$/m.exec(env)?.[1]
  assert.ok(key, env)
  assert.ok(!first.out.includes(key) && !first.err.includes(key), 'the key is never printed')
  assert.match(first.out, /NEXT_SERVER_ACTIONS_ENCRYPTION_KEY=<new key, not shown>/)
  for (const file of ['next.config.ts', 'proxy.ts', 'instrumentation.ts', 'app/layout.tsx']) parses(file, readIn(dir, file))

  const before = Object.fromEntries(
    ['next.config.ts', 'proxy.ts', 'instrumentation.ts', 'app/layout.tsx', '.env.local'].map((f) => [f, readIn(dir, f)]),
  )
  const second = init(dir)
  assert.equal(second.code, 0)
  assert.match(second.out, /Nothing to change: every touch point is in place\./)
  for (const [file, text] of Object.entries(before)) assert.equal(readIn(dir, file), text, `${file} unchanged`)
})

test('Next.js 15.5 JavaScript with src/: files go where Next.js looks for them; new middleware runs on Node', () => {
  const dir = app('15.5.29', {
    'next.config.mjs':
      "/** @type {import('next').NextConfig} */\nconst nextConfig = {\n  reactStrictMode: true,\n  experimental: { serverActions: { bodySizeLimit: '2mb' } },\n}\n\nexport default nextConfig\n",
    'src/app/layout.js':
      'export default function RootLayout({ children }) {\n  return (\n    <html lang="en">\n      <body>{children}</body>\n    </html>\n  )\n}\n',
  })
  assert.equal(init(dir).code, 0)
  assert.match(
    readIn(dir, 'next.config.mjs'),
    /^import \{ withSkewGuard \} from 'next-skew-guard\/config'\n[\s\S]*export default withSkewGuard\(nextConfig\)\n$/,
  )
  assert.match(readIn(dir, 'src/middleware.js'), /export const middleware = skewGuard\(\)[\s\S]*runtime: 'nodejs'/)
  assert.ok(fs.existsSync(path.join(dir, 'src/instrumentation.js')))
  assert.ok(!fs.existsSync(path.join(dir, 'middleware.js')))
  assert.match(readIn(dir, 'src/app/layout.js'), /<body>\{children\}<SkewGuard \/><\/body>/)
  for (const file of ['next.config.mjs', 'src/middleware.js', 'src/app/layout.js']) parses(file, readIn(dir, file))
})

test("Next.js 14 with the app's own middleware, instrumentation and a CommonJS config: composed, not replaced", () => {
  const dir = app('14.2.35', {
    'tsconfig.json': '{}',
    'next.config.js':
      "const withBundleAnalyzer = (c) => c\n\nmodule.exports = withBundleAnalyzer({\n  images: { remotePatterns: [{ hostname: 'cdn.example' }] },\n  // a comment with ) and }\n  env: { GREETING: `hi ${'there'}` },\n})\n",
    'middleware.ts':
      "import { NextResponse } from 'next/server'\nimport type { NextRequest } from 'next/server'\n\nexport default function middleware(req: NextRequest) {\n  return NextResponse.next()\n}\n",
    'instrumentation.ts':
      "export function register() {\n  console.log('booting')\n}\n\nexport function onRequestError(err: unknown, request: { path: string }, context: { routeType: string }) {\n  console.error(err)\n}\n",
    'app/layout.tsx': LAYOUT_16,
  })
  assert.equal(init(dir).code, 0)
  const config = readIn(dir, 'next.config.js')
  assert.match(config, /^const \{ withSkewGuard \} = require\('next-skew-guard\/config'\)\n/)
  assert.match(config, /module\.exports = withSkewGuard\(withBundleAnalyzer\(\{[\s\S]*\}\)\)\n$/)
  const middleware = readIn(dir, 'middleware.ts')
  assert.match(middleware, /^import \{ skewGuard \} from 'next-skew-guard\/proxy'\n/)
  assert.match(middleware, /\nfunction appMiddleware\(req: NextRequest\) \{/)
  assert.match(middleware, /\nexport default skewGuard\(\{ next: appMiddleware \}\)\n$/)
  const instrumentation = readIn(dir, 'instrumentation.ts')
  assert.match(instrumentation, /export async function register\(\) \{\n {2}await registerSkewGuard\(\)\n/)
  assert.match(instrumentation, /\{\n {2}skewGuardOnRequestError\(err, request, context\)\n {2}console\.error\(err\)/)
  for (const file of ['next.config.js', 'middleware.ts', 'instrumentation.ts']) parses(file, readIn(dir, file))
})

test('what init will not touch: it says what to add by hand and exits 1; the rest is still done', () => {
  const dir = app('16.4.6', {
    'tsconfig.json': '{}',
    'next.config.mjs': 'export default async function config(phase) {\n  return {}\n}\n',
    'proxy.ts': "export { auth as proxy } from './auth'\n",
    'app/layout.tsx': 'export default function Layout({ children }) { return children }\n',
  })
  const r = init(dir)
  assert.equal(r.code, 1, r.out)
  assert.match(
    r.out,
    /next\.config\.mjs: not changed, because it exports a function declaration\.\n {4}add by hand: Wrap the exported config/,
  )
  assert.match(r.out, /proxy\.ts: not changed, because it has no proxy function the scanner recognises/)
  assert.match(r.out, /app\/layout\.tsx: not changed, because it has 0 <\/body> tags/)
  assert.equal(readIn(dir, 'next.config.mjs'), 'export default async function config(phase) {\n  return {}\n}\n')
  assert.equal(readIn(dir, 'proxy.ts'), "export { auth as proxy } from './auth'\n")
  assert.ok(fs.existsSync(path.join(dir, 'instrumentation.ts')), 'the touch points it can add are added')
})

test('the key: kept where it is set, never written to a file git tracks, .env.local kept out of git', () => {
  // Already in .env: left alone.
  const withKey = app('16.4.6', { '.env': 'NEXT_SERVER_ACTIONS_ENCRYPTION_KEY=AAAA\n', 'app/layout.tsx': LAYOUT_16 })
  init(withKey)
  assert.ok(!fs.existsSync(path.join(withKey, '.env.local')))
  // In the environment: left alone.
  const inEnv = app('16.4.6', { 'app/layout.tsx': LAYOUT_16 })
  assert.match(
    init(inEnv, ['--dry-run'], { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: 'x' }).out,
    /already in place: NEXT_SERVER_ACTIONS_ENCRYPTION_KEY \(environment\)/,
  )
  // A tracked .env.local: refused.
  const tracked = app('16.4.6', { '.env.local': 'OTHER=1\n', 'app/layout.tsx': LAYOUT_16 })
  spawnSync('git', ['add', '-f', '.env.local'], { cwd: tracked })
  const refused = init(tracked)
  assert.equal(refused.code, 1)
  assert.match(refused.out, /\.env\.local: not changed, because it is tracked by git/)
  assert.equal(readIn(tracked, '.env.local'), 'OTHER=1\n')
  // Not ignored yet: .gitignore learns .env*.local before the key is written.
  const open = app('16.4.6', { 'app/layout.tsx': LAYOUT_16 })
  fs.writeFileSync(path.join(open, '.gitignore'), 'node_modules\n')
  assert.equal(init(open).code, 0)
  assert.match(readIn(open, '.gitignore'), /\n\.env\*\.local\n$/)
  const ignored = spawnSync('git', ['check-ignore', '-q', '.env.local'], { cwd: open })
  assert.equal(ignored.status, 0, '.env.local is ignored')
})

test('--dry-run writes nothing; --json describes the plan without key values; usage errors exit 2', () => {
  const dir = app('16.4.6', { 'app/layout.tsx': LAYOUT_16 })
  const dry = init(dir, ['--dry-run'])
  assert.equal(dry.code, 0)
  assert.match(dry.out, /would create proxy\.js/)
  assert.match(dry.out, /Dry run: nothing was written/)
  assert.ok(!fs.existsSync(path.join(dir, 'proxy.js')))
  assert.ok(!fs.existsSync(path.join(dir, '.env.local')))
  const json = init(dir, ['--dry-run', '--json'])
  const plan = JSON.parse(json.out)
  assert.equal(plan.written, false)
  assert.deepEqual(plan.changes.map((c) => c.file).sort(), [
    '.env.local',
    'app/layout.tsx',
    'instrumentation.js',
    'next.config.mjs',
    'proxy.js',
  ])
  assert.ok(!/NEXT_SERVER_ACTIONS_ENCRYPTION_KEY=[A-Za-z0-9+/]{43}=/.test(json.out))
  assert.equal(init(path.join(dir, 'nope')).code, 2)
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-init-'))
  dirs.push(empty)
  const notApp = init(empty)
  assert.equal(notApp.code, 2)
  assert.match(notApp.err, /not a Node\.js project/)
  assert.equal(init(dir, ['--force']).code, 2)
})

test('the scanner finds where an exported expression ends, or refuses', () => {
  const end = (text) => {
    const i = expressionEnd(text, 0)
    return i === null ? null : text.slice(0, i)
  }
  assert.equal(end('nextConfig\n'), 'nextConfig')
  assert.equal(end('nextConfig;\nfoo()'), 'nextConfig')
  assert.equal(end('{\n  a: "}",\n  b: `${"}"}`, // )\n}\nnext'), '{\n  a: "}",\n  b: `${"}"}`, // )\n}')
  assert.equal(end('wrap(\n  cfg,\n)\n  .with(x)\nother'), 'wrap(\n  cfg,\n)\n  .with(x)')
  assert.equal(end('{ a: 1 } satisfies NextConfig\n'), '{ a: 1 } satisfies NextConfig')
  assert.equal(end('{ a: 1 }\nsatisfies NextConfig\n'), '{ a: 1 }\nsatisfies NextConfig')
  assert.equal(end('{ a: 1 /* } */ }'), '{ a: 1 /* } */ }')
  assert.equal(end('{ a: (1 }'), null)
  assert.equal(end('"unterminated\n'), null)
  assert.equal(end('{ a: 1'), null)
  assert.deepEqual(styleOf('import a from "a";\nimport b from "b";\n'), { quote: '"', semi: ';' })
  assert.deepEqual(styleOf("import a from 'a'\nconst x = 1\n"), { quote: "'", semi: '' })
  assert.equal(unifiedDiff('f', 'a\nb\n', 'a\nb\n'), '')
  assert.equal(unifiedDiff('f', 'a\nb', 'a\nc'), '--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+c')
  assert.equal(unifiedDiff('f', null, 'x\n'), '--- /dev/null\n+++ b/f\n@@ -0,0 +1,2 @@\n+x\n+')
})

test('a layout whose only import is a side-effect one (`import "./globals.css"`): the added import takes the file\'s quotes', () => {
  // Found by the e2e suite (__test__/e2e-init.test.mjs): the JavaScript layout got a single-quoted import.
  assert.deepEqual(styleOf('import "./globals.css";\n\nexport default function L() {}\n'), { quote: '"', semi: ';' })
  assert.deepEqual(styleOf("import './globals.css'\n"), { quote: "'", semi: '' })
  assert.deepEqual(styleOf('const x = "a"\nimport("b")\n'), { quote: "'", semi: '' }, 'strings and dynamic imports are not import lines')
  const dir = app('15.5.29', {
    'app/layout.js':
      'import "./globals.css";\n\nexport default function RootLayout({ children }) {\n  return (\n    <html lang="en">\n      <body>\n        {children}\n      </body>\n    </html>\n  );\n}\n',
  })
  assert.equal(init(dir).code, 0)
  assert.match(readIn(dir, 'app/layout.js'), /^import \{ SkewGuard \} from "next-skew-guard\/react";\nimport "\.\/globals\.css";\n/)
})

test("Next.js 15.5 with the app's own middleware: composed and moved to the Node runtime (every check); an explicit runtime is left alone, with a note", () => {
  const layout =
    'export default function RootLayout({ children }) {\n  return (\n    <html lang="en">\n      <body>{children}</body>\n    </html>\n  )\n}\n'
  const own = (config) =>
    app('15.5.29', {
      'app/layout.js': layout,
      'middleware.js': `import { NextResponse } from "next/server";\n\nexport function middleware(request) {\n  const response = NextResponse.next();\n  response.headers.set("x-app", "1");\n  return response;\n}\n${config}`,
    })
  const withMatcher = own('\nexport const config = {\n  matcher: ["/((?!_next/static).*)"],\n};\n')
  assert.equal(init(withMatcher).code, 0)
  const a = readIn(withMatcher, 'middleware.js')
  assert.match(a, /export const config = \{\n {2}runtime: "nodejs",\n {2}matcher: \["\/\(\(\?!_next\/static\)\.\*\)"\],\n\};/)
  assert.match(a, /export const middleware = skewGuard\(\{ next: appMiddleware \}\);\n/)
  parses('middleware.js', a)
  assert.equal(init(withMatcher).code, 0)
  assert.equal(readIn(withMatcher, 'middleware.js'), a, 'a second run changes nothing')

  const bare = own('')
  assert.equal(init(bare).code, 0)
  assert.match(readIn(bare, 'middleware.js'), /\nexport const config = \{ runtime: "nodejs" \};\n$/)
  parses('middleware.js', readIn(bare, 'middleware.js'))

  const edge = own('\nexport const config = { runtime: "edge" };\n')
  const r = init(edge)
  assert.equal(r.code, 0)
  assert.match(readIn(edge, 'middleware.js'), /runtime: "edge"/)
  assert.doesNotMatch(readIn(edge, 'middleware.js'), /nodejs/)
  assert.match(r.out + r.err, /sets runtime: 'edge': with runtime: 'nodejs' the guard also checks/)
})
