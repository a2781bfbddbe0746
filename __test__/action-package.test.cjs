// next-skew-guard/action as bundlers and TypeScript see it: no Node APIs in
// the client files, no browser APIs in the server file, the hook behind a
// 'use client' boundary that Next.js's own compiler honours, ESM named
// exports, and the shipped types (checked with tsc, misuse included).
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const os = require('node:os')
const fs = require('node:fs')
const { spawnSync, execFileSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const dist = path.join(root, 'dist/action')
const read = (file) => fs.readFileSync(path.join(dist, file), 'utf8')
/** Code without comments, so explanations do not trip the scans. */
const code = (file) =>
  read(file)
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')

test('client files use no Node.js APIs (process only as the literal NEXT_PUBLIC env read)', () => {
  for (const file of ['client.js', 'hooks.js', 'errors.js', 'types.js', 'next-safe-action.js']) {
    const src = code(file)
    assert.doesNotMatch(src, /require\(["'](node:|fs|path|crypto|os|child_process)/, file)
    assert.doesNotMatch(src, /\bBuffer\b|__dirname|__filename|getBuiltinModule/, file)
    const processUses = src.match(/\bprocess\.[A-Za-z_.]+/g) ?? []
    assert.deepEqual(
      [...new Set(processUses)].filter((u) => u !== 'process.env.NEXT_PUBLIC_SKEW_GUARD_BUILD_ID'),
      [],
      file,
    )
  }
})

test('the server file uses no browser APIs and no bundler-visible fs require', () => {
  const src = code('server.js')
  assert.doesNotMatch(src, /\b(window|document|localStorage|sessionStorage|navigator|location|fetch)\b/)
  assert.doesNotMatch(src, /require\(["'](node:)?fs["']\)/)
})

test("the hook module starts with a 'use client' directive; the index does not", () => {
  const prologue = (src) => {
    const directives = []
    const re = /^\s*(["'])(use [a-z]+|use strict)\1;?/
    let rest = src
    for (let m = re.exec(rest); m; m = re.exec(rest)) {
      directives.push(m[2])
      rest = rest.slice(m[0].length)
    }
    return directives
  }
  assert.ok(prologue(read('hooks.js')).includes('use client'), prologue(read('hooks.js')).join(','))
  for (const file of ['index.js', 'client.js', 'server.js', 'next-safe-action.js']) {
    assert.ok(!prologue(read(file)).includes('use client'), file)
    assert.ok(!prologue(read(file)).includes('use server'), file)
  }
})

test("Next.js's own compiler turns the hook module into a client reference on the server (RSC) layer", async (t) => {
  let swc
  let getLoaderSWCOptions
  try {
    swc = require(path.join(root, 'node_modules/next/dist/build/swc'))
    ;({ getLoaderSWCOptions } = require(path.join(root, 'node_modules/next/dist/build/swc/options')))
    await swc.loadBindings()
  } catch (e) {
    return t.skip(`Next.js SWC bindings unavailable here (${e.message})`)
  }
  const compile = async (file, bundleLayer) => {
    const filename = `/app/node_modules/next-skew-guard/dist/action/${file}`
    const options = getLoaderSWCOptions({
      filename,
      development: false,
      hasReactRefresh: false,
      isServer: bundleLayer !== 'app-pages-browser',
      bundleLayer,
      serverComponents: true,
      esm: false,
      swcCacheDir: path.join(os.tmpdir(), 'nsg-swc-cache'),
      serverReferenceHashSalt: '',
      jsConfig: {},
      compilerOptions: {},
      appDir: '/app/app',
      pagesDir: undefined,
      isPageFile: false,
      isCacheComponents: false,
      cacheHandlers: {},
      useCacheEnabled: false,
      trackDynamicImports: false,
      pageExtensions: ['tsx', 'ts', 'jsx', 'js'],
      supportedBrowsers: ['chrome 100'],
      configDir: '/app',
      relativeFilePathFromRoot: `node_modules/next-skew-guard/dist/action/${file}`,
      swcPlugins: [],
      taintEnabled: false,
    })
    return (await swc.transform(read(file), { ...options, filename })).code
  }
  const hooksOnServer = await compile('hooks.js', 'rsc')
  assert.match(hooksOnServer, /createProxy\(/)
  assert.doesNotMatch(hooksOnServer, /useState|require\(['"]react['"]\)/)
  const indexOnServer = await compile('index.js', 'rsc')
  assert.match(indexOnServer, /require\(["']\.\/hooks["']\)/)
  assert.doesNotMatch(indexOnServer, /createProxy\(/)
  const hooksInBrowser = await compile('hooks.js', 'app-pages-browser')
  assert.match(hooksInBrowser, /useState/)
})

test('ESM importers get named exports', () => {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { createSafeAction, callSafeAction, isVersionSkew, useSafeAction, SafeActionError, skewGuardMiddleware, isSkewError, mapSafeActionResult } from ${JSON.stringify(path.join(dist, 'index.js'))}; console.log([createSafeAction, callSafeAction, isVersionSkew, useSafeAction, SafeActionError, skewGuardMiddleware, isSkewError, mapSafeActionResult].map((f) => typeof f).join())`,
    ],
    { encoding: 'utf8' },
  )
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), Array(8).fill('function').join())
})

const USAGE = (entry) => `
import {
  createSafeAction, callSafeAction, isVersionSkew, useSafeAction, SafeActionError, mapSafeActionResult, isSkewError, skewGuardMiddleware,
  type SafeActionResult, type CallSafeActionResult, type RefreshRequired,
} from ${JSON.stringify(entry)}

const rename = createSafeAction(async (id: string, name: string) => ({ id, name, at: 1 }))
const r0: Promise<SafeActionResult<{ id: string; name: string; at: number }>> = rename('a', 'b')
// @ts-expect-error arguments are typed from the wrapped function
rename('a', 2)
createSafeAction(async () => 1, { exposeErrors: true, buildId: 'x', onError: (e: unknown) => void e })
// @ts-expect-error unknown option
createSafeAction(async () => 1, { exposeError: true })

async function client() {
  const r = await callSafeAction(rename, 'a', 'b')
  if (r.success) {
    const name: string = r.data.name
    const b: string | null = r.buildId
    // It may have run on another build: the data is real, the page should refresh.
    const later: boolean = r.requiresRefresh
    const ranOn: string | null | undefined = r.skew?.buildId
    void name, b, later, ranOn
  } else if (isVersionSkew(r)) {
    const ran: boolean = r.actionRan
    const reason: 'empty-result' | string = r.reason
    void ran, reason
  } else if (r.error === 'TRANSPORT_ERROR' || r.error === 'NETWORK_ERROR') {
    const ran: true | 'unknown' | undefined = 'actionRan' in r ? r.actionRan : undefined
    void ran
  } else {
    const code: string = r.error
    void code
  }
  // @ts-expect-error data only after narrowing
  r.data
  // @ts-expect-error arguments are checked
  await callSafeAction(rename, 'a')
  const caller = callSafeAction.with({ onSkew: (s: RefreshRequired<unknown>) => void s.requiresRefresh })
  const r2: CallSafeActionResult<{ id: string; name: string; at: number }> = await caller(rename, 'x', 'y')
  void r2
  // @ts-expect-error only safe actions
  await callSafeAction(async () => 1)
  void new SafeActionError('CODE', 'message')
}
function Component() {
  const { execute, result, status, isPending, reset } = useSafeAction(rename)
  const p: Promise<CallSafeActionResult<{ id: string; name: string; at: number }>> = execute('a', 'b')
  const s: 'idle' | 'executing' | 'success' | 'error' = status
  void p, s, result, isPending, reset
}
const mapped = mapSafeActionResult({ data: { n: 1 } })
if (!isVersionSkew(mapped)) {
  const n: number | undefined = mapped.data?.n
  void n
}
void isSkewError(new Error('x')), skewGuardMiddleware({ stampResult: true }), r0, client, Component
`

function tsc(dir, files, extra = {}) {
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'node16',
        moduleResolution: 'node16',
        target: 'ES2022',
        types: [],
        skipLibCheck: false,
        ...extra,
      },
      files,
    }),
  )
  const bin = path.join(root, 'node_modules/typescript/bin/tsc')
  try {
    execFileSync(process.execPath, [bin, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir, stdio: 'pipe', encoding: 'utf8' })
    return ''
  } catch (e) {
    return `${e.stdout}${e.stderr}`
  }
}

test('the shipped types describe the API (and refuse misuse), with no Node or React types needed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-action-types-'))
  try {
    fs.writeFileSync(path.join(dir, 'usage.ts'), USAGE(path.join(dist, 'index.js')))
    assert.equal(tsc(dir, ['usage.ts']), '')
    // The check can fail: a wrong annotation is reported.
    fs.writeFileSync(
      path.join(dir, 'usage.ts'),
      USAGE(path.join(dist, 'index.js')).replace('const name: string = r.data.name', 'const name: number = r.data.name'),
    )
    assert.match(tsc(dir, ['usage.ts']), /TS2322/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test("skewGuardMiddleware fits next-safe-action's own .use() types (when next-safe-action is resolvable)", (t) => {
  let nsaDir
  for (const dir of [root, process.env.NEXT_SAFE_ACTION_DIR, path.join(os.tmpdir(), 'nsa-check')].filter(Boolean)) {
    try {
      // Its exports map hides package.json: resolve the entry, walk up.
      let d = path.dirname(require.resolve('next-safe-action', { paths: [dir] }))
      while (!fs.existsSync(path.join(d, 'package.json'))) d = path.dirname(d)
      nsaDir = d
      break
    } catch {
      // not here
    }
  }
  if (!nsaDir) return t.skip('next-safe-action not resolvable (npm i next-safe-action in NEXT_SAFE_ACTION_DIR)')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-nsa-types-'))
  try {
    fs.mkdirSync(path.join(dir, 'node_modules'))
    fs.symlinkSync(nsaDir, path.join(dir, 'node_modules', 'next-safe-action'), 'dir')
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}')
    const src = `
import { createSafeActionClient } from 'next-safe-action'
import { skewGuardMiddleware, type SkewGuardActionContext } from ${JSON.stringify(path.join(dist, 'index.js'))}
const base = createSafeActionClient().use(async ({ next }) => next({ ctx: { userId: 'u' } }))
// Untyped form: accepted by .use(), keeps the earlier context.
const plain = base.use(skewGuardMiddleware())
plain.action(async ({ ctx }) => { const u: string = ctx.userId; return u })
// Typed form: ctx.skewGuard is known.
const typed = base.use<SkewGuardActionContext>(skewGuardMiddleware({ stampResult: true }))
export const act = typed.action(async ({ ctx }) => {
  const id: string | null = ctx.skewGuard.buildId
  const u: string = ctx.userId
  return { id, u }
})
`
    fs.writeFileSync(path.join(dir, 'nsa.ts'), src)
    assert.equal(tsc(dir, ['nsa.ts']), '')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
