// Every code block in the README and docs/ runs as written or says it is a fragment: each
// TypeScript/JavaScript block must parse and use no name it does not define or import (imports
// from packages are taken on trust; the package's own API is type-checked elsewhere). A block that
// shows only part of a file is marked with an HTML comment `<!-- fragment -->` on the line before.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const ts = require('typescript')

const root = path.join(__dirname, '..')

function docs() {
  const out = ['README.md']
  const walk = (dir) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(rel)
      else if (entry.name.endsWith('.md') && rel !== path.join('docs', 'compatibility.md')) out.push(rel)
    }
  }
  walk('docs')
  return out
}

/** The code blocks of a Markdown file: language, first line number, text, and whether marked as a fragment. */
function blocks(file) {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n')
  const found = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i])
    if (!open) continue
    const start = i
    let end = i + 1
    while (end < lines.length && lines[end] !== '```') end++
    const fragment = start > 0 && /^<!--\s*fragment\b/.test(lines[start - 1].trim())
    found.push({ lang: open[1], line: start + 1, text: lines.slice(start + 1, end).join('\n'), fragment })
    i = end
  }
  return found
}

// Globals every Next.js file may use without importing them.
const AMBIENT = `
declare const process: { env: Record<string, string | undefined> }
declare namespace React { type ReactNode = unknown }
declare namespace JSX { interface IntrinsicElements { [name: string]: unknown } }
`

test('every code block in the README and docs/ parses and defines what it uses, or is marked as a fragment', () => {
  const problems = []
  let checked = 0
  for (const file of docs()) {
    for (const block of blocks(file)) {
      if (!/^(ts|tsx|js|jsx|mjs|cjs|javascript|typescript)$/.test(block.lang) || block.fragment) continue
      checked++
      const name = `block.${block.lang === 'tsx' || block.lang === 'jsx' ? 'tsx' : 'ts'}`
      const files = { [name]: block.text, 'ambient.d.ts': AMBIENT }
      const options = {
        noEmit: true,
        noResolve: true,
        lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
        types: [],
        jsx: ts.JsxEmit.Preserve,
        allowJs: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
      }
      const host = ts.createCompilerHost(options)
      const base = {
        ...host,
        getSourceFile: (f, v, ...rest) =>
          files[f] !== undefined ? ts.createSourceFile(f, files[f], v) : host.getSourceFile(f, v, ...rest),
        fileExists: (f) => files[f] !== undefined || host.fileExists(f),
        readFile: (f) => files[f] ?? host.readFile(f),
      }
      const program = ts.createProgram([name, 'ambient.d.ts'], options, base)
      const diagnostics = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()]
        // 2304/2552: a name used but neither defined nor imported. Everything else needs real types.
        .filter((d) => d.category === ts.DiagnosticCategory.Error && (d.code < 2000 || d.code === 2304 || d.code === 2552))
        .filter((d) => !/Cannot find global type/.test(ts.flattenDiagnosticMessageText(d.messageText, '')))
      for (const d of diagnostics) {
        const { line } = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0) : { line: 0 }
        problems.push(`${file}:${block.line + 1 + line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`)
      }
    }
  }
  assert.ok(checked > 10, `only ${checked} blocks checked: the scan is broken`)
  assert.deepEqual(problems, [])
})
