/**
 * The small YAML subset the Traefik, Kubernetes and Compose renderers write, and a reader for
 * exactly that subset, so a rendered file is read back and compared with what was meant before it replaces the live one.
 * No dependency: block mappings, block sequences (of scalars or of mappings), single-quoted
 * strings, integers, booleans, `{}`, and full-line comments.
 */

import { DeploymentError } from './errors'

/** A value the emitter can write. Keys starting with `#` are written as comment lines (their value is the text). */
export type YamlValue = string | number | boolean | YamlMap | YamlValue[]
/** A mapping; insertion order is output order. */
export interface YamlMap {
  [key: string]: YamlValue
}

// Kubernetes label keys carry a prefix with "/" (app.kubernetes.io/managed-by), caddy-docker-proxy
// labels an "@" (caddy.@matcher.header): both are plain in YAML anywhere but in front.
const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_./@-]*$/

function scalar(value: string | number | boolean): string {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new DeploymentError('ERR_INVALID_ARG_VALUE', `YAML: only integers are written; got ${value}.`)
    return String(value)
  }
  if (typeof value === 'boolean') return String(value)
  if (/[\n\r\u0000-\u001f]/.test(value))
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', 'YAML: a value with a line break or control character.')
  return `'${value.replace(/'/g, "''")}'`
}

function isMap(v: YamlValue): v is YamlMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Writes a mapping as block YAML (two-space indentation, a trailing newline). Deterministic. */
export function emitYaml(map: YamlMap): string {
  const lines: string[] = []
  const writeMap = (m: YamlMap, indent: string, firstPrefix?: string): void => {
    let first = true
    for (const [key, value] of Object.entries(m)) {
      const lead = first && firstPrefix !== undefined ? firstPrefix : indent
      if (key.startsWith('#')) {
        for (const line of String(value).split('\n')) lines.push(line === '' ? `${indent}#` : `${indent}# ${line}`)
        continue
      }
      first = false
      if (!PLAIN_KEY.test(key)) throw new DeploymentError('ERR_INVALID_ARG_VALUE', `YAML: key ${JSON.stringify(key)} is not a plain name.`)
      if (isMap(value)) {
        if (Object.keys(value).filter((k) => !k.startsWith('#')).length === 0) lines.push(`${lead}${key}: {}`)
        else {
          lines.push(`${lead}${key}:`)
          writeMap(value, `${indent}  `)
        }
      } else if (Array.isArray(value)) {
        lines.push(`${lead}${key}:`)
        for (const item of value) {
          if (isMap(item)) writeMap(item, `${indent}    `, `${indent}  - `)
          else if (Array.isArray(item)) throw new DeploymentError('ERR_INVALID_ARG_VALUE', 'YAML: nested sequences are not written.')
          else lines.push(`${indent}  - ${scalar(item)}`)
        }
      } else {
        lines.push(`${lead}${key}: ${scalar(value)}`)
      }
    }
  }
  writeMap(map, '')
  return `${lines.join('\n')}\n`
}

interface Line {
  no: number
  indent: number
  text: string
}

function parseScalar(text: string, no: number): string | number | boolean | YamlMap {
  if (text === '{}') return {}
  if (text === 'true' || text === 'false') return text === 'true'
  if (/^-?\d+$/.test(text)) return Number(text)
  const m = /^'((?:[^']|'')*)'$/.exec(text)
  if (m) return m[1].replace(/''/g, "'")
  throw new DeploymentError(
    'ERR_PROXY_CHECK',
    `YAML line ${no}: ${JSON.stringify(text)} is not a value this file may hold (a quoted string, an integer, true/false or {}).`,
  )
}

/** Reads YAML written by {@link emitYaml} (comments dropped); throws `ERR_PROXY_CHECK` naming the line on anything else. */
export function parseYaml(text: string): YamlMap {
  const lines: Line[] = []
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) return
    if (/\t/.test(raw)) throw new DeploymentError('ERR_PROXY_CHECK', `YAML line ${i + 1}: a tab character.`)
    const indent = raw.length - raw.trimStart().length
    lines.push({ no: i + 1, indent, text: raw.trim() })
  })
  let pos = 0
  const fail = (line: Line, why: string): never => {
    throw new DeploymentError('ERR_PROXY_CHECK', `YAML line ${line.no}: ${why}`)
  }
  const readMap = (indent: number): YamlMap => {
    const map: YamlMap = {}
    while (pos < lines.length && lines[pos].indent === indent && !lines[pos].text.startsWith('- ')) {
      const line = lines[pos]
      const m = /^([A-Za-z0-9_][A-Za-z0-9_./@-]*):(?: (.*))?$/.exec(line.text)
      if (!m) fail(line, `expected "key: value", got ${JSON.stringify(line.text)}.`)
      const [, key, rest] = m as RegExpExecArray
      if (key in map) fail(line, `key ${key} appears twice.`)
      pos++
      if (rest !== undefined) map[key] = parseScalar(rest, line.no)
      else if (pos < lines.length && lines[pos].indent > indent) {
        map[key] = lines[pos].text.startsWith('- ') ? readSeq(lines[pos].indent) : readMap(lines[pos].indent)
      } else fail(line, `key ${key} has no value.`)
    }
    if (pos < lines.length && lines[pos].indent > indent) fail(lines[pos], 'unexpected indentation.')
    return map
  }
  const readSeq = (indent: number): YamlValue[] => {
    const seq: YamlValue[] = []
    while (pos < lines.length && lines[pos].indent === indent && lines[pos].text.startsWith('- ')) {
      const line = lines[pos]
      const item = line.text.slice(2)
      if (/^[A-Za-z0-9_][A-Za-z0-9_./@-]*:( |$)/.test(item)) {
        // "- key: value" opens a mapping whose further keys sit two columns right of the dash.
        lines[pos] = { no: line.no, indent: indent + 2, text: item }
        seq.push(readMap(indent + 2))
      } else {
        seq.push(parseScalar(item, line.no))
        pos++
      }
    }
    return seq
  }
  const root = readMap(0)
  if (pos < lines.length) fail(lines[pos], 'unexpected content.')
  return root
}

/** The same value without comment keys (what {@link parseYaml} gives back). */
export function withoutComments(value: YamlValue): YamlValue {
  if (Array.isArray(value)) return value.map(withoutComments)
  if (isMap(value)) {
    const out: YamlMap = {}
    for (const [k, v] of Object.entries(value)) if (!k.startsWith('#')) out[k] = withoutComments(v)
    return out
  }
  return value
}
