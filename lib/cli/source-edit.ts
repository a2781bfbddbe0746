/**
 * The few source transformations `init` makes, done on text with a small scanner instead of a
 * parser dependency: find where an expression ends (brackets, strings, template literals and
 * comments skipped), add an import in the file's own quote and semicolon style, and a line diff to
 * show what changed. Anything the scanner is not sure about is refused, never guessed.
 */

/** The quote and semicolon habits of a file, so added lines look like the rest. */
export interface Style {
  quote: "'" | '"'
  semi: string
}

/**
 * Reads a file's style off its import/require lines, side-effect imports (`import "./globals.css"`)
 * included (or its statements, when it has none).
 */
export function styleOf(text: string): Style {
  const doubles = (text.match(/(\bfrom|\brequire\(|^[ \t]*import)\s*"/gm) ?? []).length
  const singles = (text.match(/(\bfrom|\brequire\(|^[ \t]*import)\s*'/gm) ?? []).length
  const quote = doubles > singles ? '"' : "'"
  const lines = text.split('\n').filter((l) => /^\s*(import|export|const|let|var|module\.exports)\b/.test(l) && !/[{(,[]\s*$/.test(l))
  const withSemi = lines.filter((l) => /;\s*(\/\/.*)?$/.test(l)).length
  return { quote, semi: lines.length > 0 && withSemi * 2 >= lines.length ? ';' : '' }
}

/** Characters that, starting the next line, continue the expression of the line before. */
const CONTINUES = /^[.?:+\-*/|&,=<>%]|^(satisfies|as)\b/

/**
 * The index just past the expression that starts at `start`: the first `;` or line end at bracket
 * depth 0 after which the statement cannot go on, skipping strings, template literals (with their
 * `${}`), comments and brackets. Null when the brackets do not balance (the text is not what the
 * scanner understands).
 */
export function expressionEnd(text: string, start: number): number | null {
  const stack: string[] = []
  let i = start
  const closing: Record<string, string> = { '(': ')', '[': ']', '{': '}' }
  while (i < text.length) {
    const c = text[i]
    const next = text[i + 1]
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i)
      i = end === -1 ? text.length : end
      continue
    }
    if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2)
      if (end === -1) return null
      i = end + 2
      continue
    }
    if (c === '"' || c === "'") {
      i++
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\') i++
        if (text[i] === '\n') return null
        i++
      }
      if (i >= text.length) return null
      i++
      continue
    }
    if (c === '`') {
      // A template literal: its `${…}` is an expression with brackets of its own.
      stack.push('`')
      i++
      while (i < text.length) {
        if (text[i] === '\\') {
          i += 2
          continue
        }
        if (text[i] === '`') {
          stack.pop()
          i++
          break
        }
        if (text[i] === '$' && text[i + 1] === '{') {
          const inner = expressionEnd(text, i + 2)
          // The inner scan stops at the unmatched `}`.
          if (inner === null || text[inner] !== '}') return null
          i = inner + 1
          continue
        }
        i++
      }
      if (stack[stack.length - 1] === '`') return null
      continue
    }
    if (c in closing) {
      stack.push(closing[c])
      i++
      continue
    }
    if (c === ')' || c === ']' || c === '}') {
      if (stack.length === 0) return i
      if (stack.pop() !== c) return null
      i++
      continue
    }
    if (stack.length === 0) {
      if (c === ';') return i
      if (c === '\n') {
        const rest = text.slice(i + 1).replace(/^\s+/, '')
        if (rest === '' || !CONTINUES.test(rest)) return i
      }
    }
    i++
  }
  return stack.length === 0 ? text.length : null
}

/** `text` with `line` added on top, after a `'use client'`/`'use server'` directive or a shebang. */
export function addImport(text: string, line: string): string {
  const lead = /^(#![^\n]*\n|\s*(['"])use (client|server)\2;?[ \t]*\n)/.exec(text)
  const at = lead ? lead[0].length : 0
  return `${text.slice(0, at)}${line}\n${text.slice(at)}`
}

/**
 * A unified diff of two texts (whole files, so small), `---`/`+++` headers naming `file`, three lines
 * of context. Empty when nothing changed.
 */
export function unifiedDiff(file: string, before: string | null, after: string): string {
  const a = before === null ? [] : before.split('\n')
  const b = after.split('\n')
  if (before === after) return ''
  // Longest common subsequence, then a walk that emits -, + and context lines.
  const n = a.length
  const m = b.length
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
  const ops: Array<{ op: ' ' | '-' | '+'; text: string; ai: number; bi: number }> = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ op: ' ', text: a[i], ai: i++, bi: j++ })
    else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push({ op: '-', text: a[i], ai: i++, bi: j })
    else ops.push({ op: '+', text: b[j], ai: i, bi: j++ })
  }
  const out = [`--- ${before === null ? '/dev/null' : `a/${file}`}`, `+++ b/${file}`]
  const CONTEXT = 3
  let k = 0
  while (k < ops.length) {
    if (ops[k].op === ' ') {
      k++
      continue
    }
    let from = Math.max(0, k - CONTEXT)
    let to = k
    // Extend the hunk while changes follow within twice the context.
    for (let scan = k; scan < ops.length; scan++) {
      if (ops[scan].op !== ' ') to = scan
      else if (scan - to > 2 * CONTEXT) break
    }
    to = Math.min(ops.length - 1, to + CONTEXT)
    const hunk = ops.slice(from, to + 1)
    const aCount = hunk.filter((o) => o.op !== '+').length
    const bCount = hunk.filter((o) => o.op !== '-').length
    out.push(`@@ -${aCount ? hunk[0].ai + 1 : hunk[0].ai},${aCount} +${bCount ? hunk[0].bi + 1 : hunk[0].bi},${bCount} @@`)
    for (const o of hunk) out.push(`${o.op}${o.text}`)
    k = to + 1
    from = k
  }
  return out.join('\n')
}
