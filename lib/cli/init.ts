/**
 * `next-skew-guard init [dir]`: adds the guard's touch points to a Next.js app, composing with what
 * is already there (your next.config wrapped, your middleware or proxy run by the guard, your
 * instrumentation calling the guard's), and writes a key to `.env.local` when none is set. Every
 * change is shown as a diff; a second run changes nothing; a file it cannot edit safely is left
 * alone with what to add by hand.
 */

import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

import { generateKey, keyCheckValue } from '../core'
import { appRequire } from '../server/build-info'
import { addImport, expressionEnd, styleOf, type Style } from './source-edit'

/** One file `init` creates or changes. */
export interface PlannedChange {
  /** Path relative to the app directory. */
  file: string
  /** Current content, or null for a new file. */
  before: string | null
  after: string
  /** What the change is, in one line. */
  why: string
  /** Text to show in place of the content (a key must never be printed). */
  shown?: { before: string | null; after: string }
}

/** A touch point `init` could not add itself. */
export interface ManualStep {
  file: string
  why: string
  what: string
}

/** What `init` found and what it will do. */
export interface InitPlan {
  dir: string
  nextVersion: string | null
  /** Where the App Router lives (`app` or `src/app`), or null. */
  appDir: string | null
  typescript: boolean
  changes: PlannedChange[]
  manual: ManualStep[]
  /** Touch points already in place. */
  present: string[]
  /** Things worth knowing that need no action from `init`. */
  notes: string[]
}

/** Thrown for a directory that is not a Next.js app; the CLI turns it into a usage error. */
export class InitUsageError extends Error {}

const CONFIG_NAMES = ['next.config.ts', 'next.config.mts', 'next.config.mjs', 'next.config.js', 'next.config.cjs']
const CODE_EXT = ['ts', 'tsx', 'js', 'jsx', 'mjs', 'mts', 'cjs', 'cts']

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return null
  }
}

function find(dir: string, base: string, exts = CODE_EXT): string | null {
  for (const ext of exts) {
    const file = path.join(dir, `${base}.${ext}`)
    if (fs.existsSync(file)) return file
  }
  return null
}

const q = (style: Style, text: string) => `${style.quote}${text}${style.quote}`

/** `next.config.*`: wrapped in `withSkewGuard`, or created. */
function planConfig(plan: InitPlan, dir: string): void {
  const existing = CONFIG_NAMES.map((n) => path.join(dir, n)).find((f) => fs.existsSync(f))
  if (!existing) {
    const file = 'next.config.mjs'
    plan.changes.push({
      file,
      before: null,
      after: `import { withSkewGuard } from 'next-skew-guard/config'\n\nexport default withSkewGuard({})\n`,
      why: 'a config that adds the native core to the externals, fixes one build identity and refuses a build without a pinned key',
    })
    return
  }
  const file = path.relative(dir, existing)
  const text = read(existing) ?? ''
  if (/next-skew-guard\/config/.test(text)) return void plan.present.push(`${file} (withSkewGuard)`)
  const style = styleOf(text)
  const manual = (why: string): void =>
    void plan.manual.push({
      file,
      why,
      what: `Wrap the exported config: \`export default withSkewGuard(yourConfig)\` (import { withSkewGuard } from 'next-skew-guard/config').`,
    })
  const esm = /^export\s+default\s+/m.exec(text)
  const cjs = /^module\.exports\s*=\s*/m.exec(text)
  const match = esm ?? cjs
  if (!match || (esm && cjs)) return manual('it has no single `export default` or `module.exports =` the scanner recognises')
  const start = match.index + match[0].length
  if (/^(async\s+)?function\b/.test(text.slice(start))) return manual('it exports a function declaration')
  const end = expressionEnd(text, start)
  if (end === null) return manual('its exported expression could not be read safely')
  const expr = text.slice(start, end).trimEnd()
  const wrapped = `${text.slice(0, start)}withSkewGuard(${expr})${text.slice(start + expr.length)}`
  const importLine = esm
    ? `import { withSkewGuard } from ${q(style, 'next-skew-guard/config')}${style.semi}`
    : `const { withSkewGuard } = require(${q(style, 'next-skew-guard/config')})${style.semi}`
  plan.changes.push({ file, before: text, after: addImport(wrapped, importLine), why: 'your config, wrapped in withSkewGuard' })
}

/** The names of a simple parameter list (`err, request, context`), or null when it is not that simple. */
function paramNames(list: string): string[] | null {
  const names = list
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => /^([A-Za-z_$][\w$]*)\s*(?:[?:=].*)?$/s.exec(p)?.[1] ?? null)
  return names.some((n) => n === null) ? null : (names as string[])
}

/** `instrumentation.*`: the guard's `register` and `onRequestError`, alone or called from yours. */
function planInstrumentation(plan: InitPlan, dir: string, base: string): void {
  const existing = find(base, 'instrumentation')
  const rel = (f: string) => path.relative(dir, f)
  if (!existing) {
    const file = rel(path.join(base, plan.typescript ? 'instrumentation.ts' : 'instrumentation.js'))
    plan.changes.push({
      file,
      before: null,
      after: `export { register, onRequestError } from 'next-skew-guard/instrumentation'\n`,
      why: 'startup checks (runtime key = build key, manifest) and skew counters',
    })
    return
  }
  const file = rel(existing)
  const text = read(existing) ?? ''
  if (/next-skew-guard\/instrumentation/.test(text)) return void plan.present.push(`${file} (register, onRequestError)`)
  const style = styleOf(text)
  const ts = /\.[mc]?tsx?$/.test(existing)
  const manual = (why: string): void =>
    void plan.manual.push({
      file,
      why,
      what: "Call the guard from your own hooks: `await registerSkewGuard()` first in `register`, and `skewGuardOnRequestError(...args)` in `onRequestError` (import { register as registerSkewGuard, onRequestError as skewGuardOnRequestError } from 'next-skew-guard/instrumentation').",
    })
  let after = text
  const imports: string[] = []
  // register: the guard's checks first, inside yours.
  const fnRegister = /export\s+(async\s+)?function\s+register\s*\(([^)]*)\)\s*(?::[^{]+)?\{/.exec(after)
  const arrowRegister = /export\s+const\s+register\s*(?::[^=]+)?=\s*(async\s*)?\(([^)]*)\)\s*(?::[^=]+)?=>\s*\{/.exec(after)
  if (fnRegister || arrowRegister) {
    const m = (fnRegister ?? arrowRegister) as RegExpExecArray
    let head = m[0]
    if (!m[1]) head = fnRegister ? head.replace(/function\s+register/, 'async function register') : head.replace(/=\s*\(/, '= async (')
    after = `${after.slice(0, m.index)}${head}\n  await registerSkewGuard()${style.semi}${after.slice(m.index + m[0].length)}`
    imports.push('register as registerSkewGuard')
  } else if (/\bregister\b/.test(after)) {
    return manual('its `register` is not a function the scanner can extend (a re-export or an assignment)')
  } else {
    after = `${after.trimEnd()}\n\nexport { registerSkewGuard as register }${style.semi}\n`
    imports.push('register as registerSkewGuard')
  }
  const fnError = /export\s+(async\s+)?function\s+onRequestError\s*\(([^)]*)\)\s*(?::[^{]+)?\{/.exec(after)
  const constError = /export\s+const\s+onRequestError\s*(?::[^=]+)?=\s*([A-Za-z_$][\w$.]*)\s*;?[ \t]*$/m.exec(after)
  if (fnError) {
    const names = paramNames(fnError[2])
    if (names === null || names.length === 0) return manual('its `onRequestError` parameters are not plain names')
    after = `${after.slice(0, fnError.index + fnError[0].length)}\n  skewGuardOnRequestError(${names.join(', ')})${style.semi}${after.slice(fnError.index + fnError[0].length)}`
    imports.push('onRequestError as skewGuardOnRequestError')
  } else if (constError) {
    const target = constError[1]
    const args = ts ? '...args: Parameters<typeof skewGuardOnRequestError>' : '...args'
    const replacement = `export const onRequestError = (${args}) => {\n  skewGuardOnRequestError(...args)${style.semi}\n  return ${target}(...args)${style.semi}\n}${style.semi}`
    after = `${after.slice(0, constError.index)}${replacement}${after.slice(constError.index + constError[0].length)}`
    imports.push('onRequestError as skewGuardOnRequestError')
  } else if (/\bonRequestError\b/.test(after)) {
    return manual('its `onRequestError` is not a function the scanner can extend')
  } else {
    after = `${after.trimEnd()}\n\nexport { skewGuardOnRequestError as onRequestError }${style.semi}\n`
    imports.push('onRequestError as skewGuardOnRequestError')
  }
  after = addImport(after, `import { ${imports.join(', ')} } from ${q(style, 'next-skew-guard/instrumentation')}${style.semi}`)
  plan.changes.push({ file, before: text, after, why: "the guard's register/onRequestError, called from yours" })
}

// The recipe of docs/performance.md ("The matcher"): Next.js runs a proxy through an extra round
// trip that costs more than the guard, so it runs only where skew can happen.
const MATCHER = [
  '  // Only where skew can happen: Server Action calls, form posts without JavaScript, the health poll.',
  '  matcher: [',
  "    { source: '/:path*', has: [{ type: 'header', key: 'next-action' }] },",
  '    {',
  "      source: '/:path*',",
  '      has: [',
  "        { type: 'header', key: 'content-type', value: 'multipart/form-data.*' },",
  "        { type: 'header', key: 'accept', value: '.*text/html.*' },",
  '      ],',
  '    },',
  "    '/api/health',",
  '  ],',
]

/** `proxy.*` (16) or `middleware.*`: the guard, running yours after it. */
function planProxy(plan: InitPlan, dir: string, base: string, major: number | null, minor: number): void {
  const rel = (f: string) => path.relative(dir, f)
  const proxyFile = find(base, 'proxy')
  const middlewareFile = find(base, 'middleware')
  const existing = proxyFile ?? middlewareFile
  if (!existing) {
    const useProxy = major !== null && major >= 16
    const name = useProxy ? 'proxy' : 'middleware'
    const file = rel(path.join(base, `${name}.${plan.typescript ? 'ts' : 'js'}`))
    // Node middleware (every check, the native core) where it is stable; Edge before 15.5.
    const node = !useProxy && major === 15 && minor >= 5
    const lines = [
      "import { skewGuard } from 'next-skew-guard/proxy'",
      '',
      `export const ${name} = skewGuard()`,
      '',
      'export const config = {',
      ...(node ? ["  runtime: 'nodejs',"] : []),
      ...MATCHER,
      '}',
      '',
    ]
    plan.changes.push({
      file,
      before: null,
      after: lines.join('\n'),
      why: 'the server-side guard: health endpoint, unknown actions, stale builds, rotated keys',
    })
    return
  }
  const file = rel(existing)
  const text = read(existing) ?? ''
  if (/next-skew-guard\/proxy/.test(text)) return void plan.present.push(`${file} (skewGuard)`)
  const style = styleOf(text)
  const kind = proxyFile ? 'proxy' : 'middleware'
  const mine = kind === 'proxy' ? 'appProxy' : 'appMiddleware'
  if (new RegExp(`\\b${mine}\\b`).test(text)) {
    return void plan.manual.push({
      file,
      why: `it already uses the name ${mine}`,
      what: `Wrap your ${kind}: export const ${kind} = skewGuard({ next: yourFunction }).`,
    })
  }
  const manual = (why: string): void =>
    void plan.manual.push({
      file,
      why,
      what: `Run yours from the guard: \`export const ${kind} = skewGuard({ next: yourFunction })\` (import { skewGuard } from 'next-skew-guard/proxy').`,
    })
  let after: string
  let exportLine: string
  const fnNamed = new RegExp(`export\\s+(async\\s+)?function\\s+${kind}\\s*\\(`).exec(text)
  const fnDefault = /export\s+default\s+(async\s+)?function\s*([A-Za-z_$][\w$]*)?\s*\(/.exec(text)
  const constNamed = new RegExp(`export\\s+const\\s+${kind}\\s*(:[^=]+)?=`).exec(text)
  const exprDefault = /^export\s+default\s+(?!(async\s+)?function\b)/m.exec(text)
  if (fnNamed) {
    after = text.replace(fnNamed[0], `${fnNamed[1] ?? ''}function ${mine}(`)
    exportLine = `export const ${kind} = skewGuard({ next: ${mine} })${style.semi}`
  } else if (fnDefault) {
    after = text.replace(fnDefault[0], `${fnDefault[1] ?? ''}function ${mine}(`)
    exportLine = `export default skewGuard({ next: ${mine} })${style.semi}`
  } else if (constNamed) {
    after = text.replace(constNamed[0], `const ${mine}${constNamed[1] ?? ''} =`)
    exportLine = `export const ${kind} = skewGuard({ next: ${mine} })${style.semi}`
  } else if (exprDefault) {
    const start = exprDefault.index + exprDefault[0].length
    const end = expressionEnd(text, start)
    if (end === null) return manual('its default export could not be read safely')
    after = `${text.slice(0, exprDefault.index)}const ${mine} = ${text.slice(start)}`
    exportLine = `export default skewGuard({ next: ${mine} })${style.semi}`
  } else {
    return manual(`it has no ${kind} function the scanner recognises (a re-export such as \`export { auth as ${kind} }\`)`)
  }
  after = addImport(`${after.trimEnd()}\n\n${exportLine}\n`, `import { skewGuard } from ${q(style, 'next-skew-guard/proxy')}${style.semi}`)
  // On 15.5+ middleware can run on Node, where the guard reads the build's manifest and runs every
  // check; on Edge it cannot. The app's own middleware keeps working there (Node middleware has
  // the Web APIs Edge has), and the diff shows the change.
  if (kind === 'middleware' && major === 15 && minor >= 5) {
    const config = /export\s+const\s+config\s*(:[^=]+)?=\s*\{/.exec(after)
    const runtime = /\bruntime\s*:\s*(['"`])([^'"`]*)\1/.exec(text)
    if (runtime) {
      if (runtime[2] !== 'nodejs') {
        plan.notes.push(
          `${file} sets runtime: '${runtime[2]}': with runtime: 'nodejs' the guard also checks unknown actions and closures against the build (Edge cannot read it).`,
        )
      }
    } else if (config) {
      after = after.replace(config[0], `${config[0]}\n  runtime: ${q(style, 'nodejs')},`)
    } else {
      after = `${after.trimEnd()}\n\nexport const config = { runtime: ${q(style, 'nodejs')} }${style.semi}\n`
    }
  }
  plan.changes.push({
    file,
    before: text,
    after,
    why: `the guard in front of your ${kind}, which still runs for every request it lets through`,
  })
  if (/\bmatcher\b/.test(text)) {
    plan.notes.push(
      `${file} has a config.matcher: the guard runs only where it matches. Make it cover your health path (/api/health) and the pages that call Server Actions, or the guard cannot see them.`,
    )
  }
}

/** The root layout: `<SkewGuard />` before `</body>`. */
function planLayout(plan: InitPlan, dir: string, appDir: string): void {
  const existing = find(path.join(dir, appDir), 'layout', ['tsx', 'jsx', 'js', 'ts'])
  if (!existing) {
    plan.manual.push({
      file: path.join(appDir, 'layout'),
      why: 'no root layout found',
      what: "Render <SkewGuard /> (import { SkewGuard } from 'next-skew-guard/react') inside <body> of your root layout.",
    })
    return
  }
  const file = path.relative(dir, existing)
  const text = read(existing) ?? ''
  if (/next-skew-guard\/react/.test(text)) return void plan.present.push(`${file} (<SkewGuard />)`)
  const style = styleOf(text)
  const closes = [...text.matchAll(/<\/body\s*>/g)]
  if (closes.length !== 1) {
    plan.manual.push({
      file,
      why: `it has ${closes.length} </body> tags, not one`,
      what: "Render <SkewGuard /> (import { SkewGuard } from 'next-skew-guard/react') inside <body>.",
    })
    return
  }
  const at = closes[0].index as number
  const lineStart = text.lastIndexOf('\n', at) + 1
  const before = text.slice(lineStart, at)
  let after: string
  if (before.trim() === '') {
    // `</body>` on its own line: a line above it, indented one step deeper.
    const indent = before + (before.includes('\t') ? '\t' : '  ')
    after = `${text.slice(0, lineStart)}${indent}<SkewGuard />\n${text.slice(lineStart)}`
  } else {
    after = `${text.slice(0, at)}<SkewGuard />${text.slice(at)}`
  }
  after = addImport(after, `import { SkewGuard } from ${q(style, 'next-skew-guard/react')}${style.semi}`)
  plan.changes.push({
    file,
    before: text,
    after,
    why: 'the client guard: watches actions, polls the health endpoint, reloads safely, shows a notice',
  })
}

const ENV_FILES = ['.env.production.local', '.env.local', '.env.production', '.env']

function git(dir: string, args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('git', args, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8', timeout: 5000 }) }
  } catch {
    return { ok: false, out: '' }
  }
}

/** The key: kept where it is set; else a new one in `.env.local`, only where git ignores that file. */
function planKey(plan: InitPlan, dir: string, env: Record<string, string | undefined>): void {
  if (env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY) return void plan.present.push('NEXT_SERVER_ACTIONS_ENCRYPTION_KEY (environment)')
  for (const name of ENV_FILES) {
    if (/^\s*(export\s+)?NEXT_SERVER_ACTIONS_ENCRYPTION_KEY\s*=/m.test(read(path.join(dir, name)) ?? '')) {
      return void plan.present.push(`NEXT_SERVER_ACTIONS_ENCRYPTION_KEY (${name})`)
    }
  }
  const target = '.env.local'
  const inRepo = git(dir, ['rev-parse', '--is-inside-work-tree']).ok
  if (inRepo && git(dir, ['ls-files', '--error-unmatch', target]).ok) {
    plan.manual.push({
      file: target,
      why: 'it is tracked by git, and a key must never be committed',
      what: 'Run `npx next-skew-guard keygen` and store the key as a secret of your build and your server.',
    })
    return
  }
  if (inRepo && !git(dir, ['check-ignore', '-q', target]).ok) {
    const gitignore = path.join(dir, '.gitignore')
    const text = read(gitignore)
    plan.changes.push({
      file: '.gitignore',
      before: text,
      after: `${text === null || text === '' ? '' : `${text.trimEnd()}\n`}\n# local env files hold secrets\n.env*.local\n`,
      why: 'keep .env.local (which holds the key) out of git',
    })
  }
  const key = generateKey(32)
  const existing = read(path.join(dir, target))
  const line = `NEXT_SERVER_ACTIONS_ENCRYPTION_KEY=${key}`
  const comment = '# Server Actions key (next-skew-guard init): the same value at `next build` and at runtime, in every environment.'
  const prefix = existing === null || existing === '' ? '' : `${existing.trimEnd()}\n`
  plan.changes.push({
    file: target,
    before: existing,
    after: `${prefix}${comment}\n${line}\n`,
    why: `a new key (check value ${keyCheckValue(key)}) for local builds; set the same key as a secret in CI and production`,
    shown: {
      before: existing === null ? null : '…',
      after: `${prefix === '' ? '' : '…\n'}${comment}\nNEXT_SERVER_ACTIONS_ENCRYPTION_KEY=<new key, not shown>\n`,
    },
  })
}

/** Works out what `init` would change in the app at `dirArg`. Writes nothing. */
export function planInit(dirArg: string, env: Record<string, string | undefined> = process.env): InitPlan {
  const dir = path.resolve(dirArg)
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new InitUsageError(`${dirArg}: no such directory.`)
  const pkgText = read(path.join(dir, 'package.json'))
  if (pkgText === null)
    throw new InitUsageError(`${dirArg}: not a Node.js project (no package.json). Run init in your Next.js app's directory.`)
  let nextVersion: string | null = null
  try {
    nextVersion = (appRequire(dir)('next/package.json') as { version?: string }).version ?? null
  } catch {
    nextVersion = /"next"\s*:\s*"[^\d"]*(\d+(?:\.\d+){0,2})/.exec(pkgText)?.[1] ?? null
  }
  if (nextVersion === null && !/"next"\s*:/.test(pkgText)) {
    throw new InitUsageError(`${dirArg}: next is not a dependency here. Run init in your Next.js app's directory.`)
  }
  const [major, minor] = (nextVersion ?? '').split('.').map((n) => Number.parseInt(n, 10))
  const appDir = ['src/app', 'app'].find((d) => fs.existsSync(path.join(dir, d)) && fs.statSync(path.join(dir, d)).isDirectory()) ?? null
  const plan: InitPlan = {
    dir,
    nextVersion,
    appDir,
    typescript: fs.existsSync(path.join(dir, 'tsconfig.json')),
    changes: [],
    manual: [],
    present: [],
    notes: [],
  }
  if (Number.isFinite(major) && (major < 14 || (major === 14 && minor < 2))) {
    plan.notes.push(`Next.js ${nextVersion} is older than 14.2, which next-skew-guard supports from.`)
  }
  // With a src/ directory, Next.js looks for instrumentation and middleware/proxy there.
  const base = appDir === 'src/app' ? path.join(dir, 'src') : dir
  planConfig(plan, dir)
  planInstrumentation(plan, dir, base)
  planProxy(plan, dir, base, Number.isFinite(major) ? major : null, Number.isFinite(minor) ? minor : 0)
  if (appDir) planLayout(plan, dir, appDir)
  else
    plan.manual.push({
      file: 'app/layout',
      why: 'no App Router (app/ or src/app/) found: Server Actions and <SkewGuard /> need it',
      what: 'Add <SkewGuard /> to your root layout once you use the App Router.',
    })
  planKey(plan, dir, env)
  plan.notes.push(
    'Optional: wrap Server Actions in createSafeAction and call them with callSafeAction (next-skew-guard/action), so a call that did not run can never look like a success.',
  )
  return plan
}

/** Writes the planned changes (new directories as needed). */
export function applyInit(plan: InitPlan): void {
  for (const change of plan.changes) {
    const file = path.join(plan.dir, change.file)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    const temp = `${file}.next-skew-guard-${process.pid}.tmp`
    fs.writeFileSync(temp, change.after)
    fs.renameSync(temp, file)
  }
}
