// The matcher recipe as docs/performance.md writes it, so the benchmark measures exactly what the
// documentation recommends (and a change to the doc changes what is measured).
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const DOC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'performance.md')

/** The text of the `{ matcher: [...] }` object after `export const config = ` in the doc's recipe. */
export function recipeConfig() {
  const doc = fs.readFileSync(DOC, 'utf8')
  const start = doc.indexOf('export const config = {')
  if (start === -1) throw new Error(`${DOC} has no recipe (export const config = { … })`)
  let depth = 0
  let i = doc.indexOf('{', start)
  const from = i
  for (; i < doc.length; i++) {
    if (doc[i] === '{') depth++
    else if (doc[i] === '}' && --depth === 0) break
  }
  return doc.slice(from, i + 1)
}
