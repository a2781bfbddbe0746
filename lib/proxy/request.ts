/**
 * Server Action requests as Next.js 14–16 send them (docs/nextjs-internals.md §7): which action a
 * request calls and, for an inline closure, where its sealed bound arguments are. This is the part
 * of the guard tied to Next.js's wire format; `guard.ts` decides what to do with what it finds.
 *
 * Bodies are read once, from a stream, by a multipart scanner that keeps only the fields it needs
 * (numbered Flight rows of a JS call, `$ACTION_…` fields of a no-JS form) and skips everything else,
 * file contents included, without building a `FormData`. Runtime-neutral: it also runs in Edge
 * middleware (no `Buffer`, no `node:` modules).
 */

import { ACTION_HEADER } from '../shared/protocol'

/** A Server Action call found in a request. */
export interface ActionCall {
  /** The action ID as sent (header or form field name); not validated here. */
  id: string
  /** No-JS form post (the browser expects an HTML page back). */
  form: boolean
  /**
   * The encrypted bound-args payload, when the call carries one. For JS calls the body is read
   * only when this is called, after the ID checks: a flood of unknown IDs costs no body reading.
   */
  payload(): Promise<string | undefined>
}

/** How the guard may read a request body. */
export interface BodyReading {
  /** Bodies whose declared `content-length` is larger (or absent) are not read. */
  maxBodyBytes: number
  /**
   * Read `request.body` itself instead of a clone. Only for the request Next.js hands the proxy,
   * whose body is a copy made for the proxy alone (see {@link isProxyRequest}).
   */
  ownBody: boolean
}

/**
 * A body longer than its declared length (impossible over HTTP, where the length frames the body,
 * but possible for a `Request` made in code) is read at most this far beyond `maxBodyBytes`'s
 * floor, then left unchecked: work and memory stay bounded whatever the header says.
 */
export const UNDECLARED_SLACK_BYTES = 64 * 1024

/** Longest header block of one multipart part; real ones are under 200 bytes. */
const MAX_PART_HEADER_BYTES = 8 * 1024

/**
 * Whether `request` is the one Next.js built for middleware or `proxy.ts` (its `NextRequestHint`,
 * which carries `sourcePage` on 14.2, 15 and 16). Next.js gives that request its own copy of the
 * body and the action another (docs/performance.md, "Reading the body"), so the guard may consume
 * it without a clone. Any other request (tests, a proxy composed by hand) is cloned first.
 */
export function isProxyRequest(request: Request): boolean {
  return typeof (request as { sourcePage?: unknown }).sourcePage === 'string'
}

/** Finds the Server Action a request calls, or undefined when it calls none. */
export async function findActionCall(request: Request, reading: BodyReading): Promise<ActionCall | undefined> {
  if (request.method !== 'POST') return undefined
  const header = request.headers.get(ACTION_HEADER)
  if (header !== null) return { id: header, form: false, payload: () => payloadOfJsCall(request, reading) }
  // A browser's no-JS form submission asks for HTML; skip everything else unread.
  if (!(request.headers.get('accept') ?? '').includes('text/html')) return undefined
  return callOfForm(request, reading)
}

/** The first occurrence of each field name, as `FormData.get` returns it (files have no text). */
type Fields = Map<string, { file: boolean; text?: string }>

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** `"$@1f"` → `31`: React's outlined-row reference (hex) → the form field name (decimal). */
function rowRef(value: unknown): string | undefined {
  if (typeof value !== 'string' || !/^\$@[0-9a-f]{1,6}$/.test(value)) return undefined
  return String(Number.parseInt(value.slice(2), 16))
}

const NUMBERED = /^\d+$/

/** JS call: field `0` is `[boundRef, ...args]`; `boundRef` names the field holding the payload as a JSON string. */
async function payloadOfJsCall(request: Request, reading: BodyReading): Promise<string | undefined> {
  // Only numbered rows can be the root or the payload; file parts and `_n_key` entries are skipped.
  const fields = await readFields(request, reading, (name) => NUMBERED.test(name))
  if (!fields) return undefined
  const root = parseJson(fields.get('0')?.text)
  const field = Array.isArray(root) ? rowRef(root[0]) : undefined
  const payload = field === undefined ? undefined : parseJson(fields.get(field)?.text)
  return typeof payload === 'string' ? payload : undefined
}

const FORM_ACTION = /^\$ACTION_(ID_[0-9a-f]+|REF_\d+)$/
const FORM_ROW = /^\$ACTION_\d+:\d+$/

/**
 * No-JS post: `$ACTION_ID_<id>`, or `$ACTION_REF_n` with rows `$ACTION_n:k` leading to the payload.
 * A form can carry two (`<form action={a}>` with `<button formAction={b}>`); React runs the last
 * one in the body, so that is the call to check, and the whole body is scanned for it.
 */
async function callOfForm(request: Request, reading: BodyReading): Promise<ActionCall | undefined> {
  let last: string | undefined
  const fields = await readFields(request, reading, (name) => {
    if (FORM_ACTION.test(name)) last = name
    return FORM_ROW.test(name)
  })
  if (!fields || last === undefined) return undefined
  if (last.startsWith('$ACTION_ID_')) return { id: last.slice('$ACTION_ID_'.length), form: true, payload: async () => undefined }
  const prefix = `$ACTION_${last.slice('$ACTION_REF_'.length)}:`
  const row0 = parseJson(fields.get(`${prefix}0`)?.text) as { id?: unknown; bound?: unknown } | undefined
  if (typeof row0?.id !== 'string') return undefined
  const boundField = rowRef(row0.bound)
  const bound = boundField === undefined ? undefined : parseJson(fields.get(prefix + boundField)?.text)
  const payloadField = Array.isArray(bound) ? rowRef(bound[0]) : undefined
  const payload = payloadField === undefined ? undefined : parseJson(fields.get(prefix + payloadField)?.text)
  return { id: row0.id, form: true, payload: async () => (typeof payload === 'string' ? payload : undefined) }
}

/**
 * The boundary of a `multipart/form-data` body the guard may read, or null: another content type,
 * no usable boundary, or a declared length that is absent or over `maxBodyBytes` (unknown or large
 * bodies are not read: the guard must not buffer uploads or stall on a stream).
 */
export function readableBoundary(request: Request, maxBodyBytes: number): string | null {
  const type = request.headers.get('content-type') ?? ''
  const length = Number(request.headers.get('content-length') ?? NaN)
  if (!type.startsWith('multipart/form-data') || !(length <= maxBodyBytes)) return null
  return multipartBoundary(type)
}

/** `multipart/form-data; boundary=<RFC 2046 characters, no space>` and nothing else. */
const USUAL_TYPE = /^multipart\/form-data; ?boundary=([0-9A-Za-z'()+_,\-./:=?]{1,70})$/
const HTTP_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const QUOTED_VALUE = /^[\t\u0020-\u007e\u0080-\u00ff]*$/

/**
 * The `boundary` parameter of a `multipart/form-data` content type, parsed as `fetch` parses MIME
 * types (case-insensitive names, the first occurrence wins, quoted values unescaped), or null.
 */
export function multipartBoundary(type: string): string | null {
  // What browsers, undici and React send, without the general parse.
  const usual = USUAL_TYPE.exec(type)
  if (usual) return usual[1]
  const semicolon = type.indexOf(';')
  const essence = (semicolon === -1 ? type : type.slice(0, semicolon)).replace(HTTP_WHITESPACE, '').toLowerCase()
  if (essence !== 'multipart/form-data' || semicolon === -1) return null
  let i = semicolon + 1
  while (i < type.length) {
    while (i < type.length && /[\t\n\r ]/.test(type[i])) i++
    let end = i
    while (end < type.length && type[end] !== ';' && type[end] !== '=') end++
    const name = type.slice(i, end).toLowerCase()
    i = end
    if (i >= type.length) break
    if (type[i] === ';') {
      i++
      continue
    }
    i++ // '='
    let value: string
    if (type[i] === '"') {
      value = ''
      i++
      while (i < type.length && type[i] !== '"') {
        if (type[i] === '\\' && i + 1 < type.length) i++
        value += type[i++]
      }
      while (i < type.length && type[i] !== ';') i++
    } else {
      end = i
      while (end < type.length && type[end] !== ';') end++
      value = type.slice(i, end).replace(/[\t\n\r ]+$/, '')
      i = end
      if (value === '') continue
    }
    i++
    // An invalid value is ignored, and a later `boundary` may still be used.
    if (name === 'boundary' && QUOTED_VALUE.test(value)) return value
  }
  return null
}

/**
 * Reads the request's multipart body once and returns the first occurrence of every field
 * `wanted(name)` accepts (files as `{ file: true }` without content), or null when the body is
 * not readable multipart: not declared as such, too large, malformed or cut short. `wanted` also
 * sees every other part's name, in wire order.
 */
export async function readFields(request: Request, reading: BodyReading, wanted: (name: string) => boolean): Promise<Fields | null> {
  const boundary = readableBoundary(request, reading.maxBodyBytes)
  if (boundary === null) return null
  let reader: ReadableStreamDefaultReader<Uint8Array>
  try {
    // A body already read or locked (by code before the guard) throws here: nothing to check.
    const stream = reading.ownBody ? request.body : request.clone().body
    if (!stream) return null
    reader = stream.getReader()
  } catch {
    return null
  }
  const fields: Fields = new Map()
  const scanner = new MultipartScanner(boundary, (name, file) => {
    const take = wanted(name) && !fields.has(name)
    if (take) fields.set(name, { file })
    return take && !file
  })
  const limit = Math.max(reading.maxBodyBytes, UNDECLARED_SLACK_BYTES)
  let read = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!ArrayBuffer.isView(value)) return null
      read += value.byteLength
      if (read > limit || !scanner.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))) return null
    }
  } catch {
    // A body that errors (the client went away) is no action call the guard can read.
    return null
  }
  // The reader is left as it is, never cancelled: the stream may be Next.js's copy, which it feeds
  // as the original arrives; whatever is left unread goes with the request.
  const parts = scanner.end()
  if (!parts) return null
  for (const part of parts) {
    const field = fields.get(part.name)
    if (field && !field.file && field.text === undefined) field.text = part.text
  }
  return fields
}

const CR = 13
const LF = 10
const DASH = 45
const QUOTE = 34
const STAR = 42
const EMPTY = new Uint8Array(0)

/** Bytes of ASCII text (no encoder call for the short strings this module needs). */
function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i)
  return out
}

/** The first header line of every part browsers, undici and React write, up to the name. */
const USUAL_FIRST_LINE = ascii('Content-Disposition: form-data; name="')
const FORM_DATA_NAME = ascii('form-data; name="')
const FILENAME = ascii('; filename')

/** A part whose content the scanner kept. */
interface KeptPart {
  name: string
  /** UTF-8 text of the content, or undefined when it cannot be read as such (an encoded transfer). */
  text: string | undefined
}

type State = 'start' | 'after-boundary' | 'headers' | 'content' | 'close' | 'failed'

const decoder = new TextDecoder()

/**
 * A streaming `multipart/form-data` scanner with the acceptance rules of `Request.formData()` in
 * Node.js (undici): optional CRLFs, then `--boundary`, parts of header lines and content separated
 * by `CRLF--boundary`, a closing `--boundary--` followed by nothing but CRLFs. Anything else is
 * malformed, and a body that ends before its closing boundary is cut short: both yield nothing, as
 * `formData()` rejects them. Chunks may split anything anywhere (boundaries, headers, UTF-8).
 * Content of parts nobody keeps is skipped, not copied.
 */
export class MultipartScanner {
  /** `CRLF--boundary`; without its first two bytes it is the opening boundary. */
  readonly #delimiter: Uint8Array
  readonly #keep: (name: string, file: boolean) => boolean
  #state: State = 'start'
  /** Bytes not yet consumed start at `#pos` (a chunk, or a short tail joined to the next one). */
  #buffer: Uint8Array = EMPTY
  #pos = 0
  #name = ''
  #base64 = false
  /** Content of the current part when it is kept, else null. */
  #chunks: Uint8Array[] | null = null
  readonly #kept: KeptPart[] = []

  /**
   * @param boundary the content type's boundary parameter
   * @param keep called with each part's name and whether it is a file, in wire order; true keeps
   *   its content
   */
  constructor(boundary: string, keep: (name: string, file: boolean) => boolean) {
    this.#delimiter = /^[\x00-\x7f]*$/.test(boundary) ? ascii(`\r\n--${boundary}`) : new TextEncoder().encode(`\r\n--${boundary}`)
    this.#keep = keep
  }

  /** Feeds the next chunk; false once the body is known to be malformed. */
  push(chunk: Uint8Array): boolean {
    if (this.#state === 'failed') return false
    if (chunk.byteLength === 0) return true
    this.#buffer = this.#pos >= this.#buffer.byteLength ? chunk : concat([this.#buffer.subarray(this.#pos), chunk])
    this.#pos = 0
    this.#advance()
    return (this.#state as State) !== 'failed'
  }

  /** The kept parts, in wire order, when the body was complete and well formed; else null. */
  end(): KeptPart[] | null {
    if (this.#state !== 'close') return null
    // After the closing boundary only CRLF pairs may follow.
    const b = this.#buffer
    if ((b.byteLength - this.#pos) % 2 !== 0) return null
    for (let i = this.#pos; i < b.byteLength; i += 2) if (b[i] !== CR || b[i + 1] !== LF) return null
    return this.#kept
  }

  #fail(): void {
    this.#state = 'failed'
    this.#buffer = EMPTY
    this.#pos = 0
    this.#chunks = null
  }

  #advance(): void {
    const b = this.#buffer
    const n = b.byteLength
    const delimiter = this.#delimiter
    for (;;) {
      let p = this.#pos
      switch (this.#state) {
        case 'start': {
          while (p + 1 < n && b[p] === CR && b[p + 1] === LF) p += 2
          this.#pos = p
          const need = delimiter.byteLength - 2
          if (n - p < need) {
            // Wait for more: what is here must be the start of the boundary (or of a CRLF).
            if (!matches(b, p, delimiter, 2, n - p) && !(n - p === 1 && b[p] === CR)) return this.#fail()
            return
          }
          if (!matches(b, p, delimiter, 2, need)) return this.#fail()
          this.#pos = p + need
          this.#state = 'after-boundary'
          break
        }
        case 'after-boundary': {
          if (n - p < 2) return
          if (b[p] === DASH && b[p + 1] === DASH) {
            this.#pos = p + 2
            this.#state = 'close'
          } else if (b[p] === CR && b[p + 1] === LF) {
            this.#pos = p + 2
            this.#state = 'headers'
          } else {
            return this.#fail()
          }
          break
        }
        case 'headers': {
          // A part needs at least its Content-Disposition line.
          if (n - p >= 2 && b[p] === CR && b[p + 1] === LF) return this.#fail()
          const end = indexOfBlankLine(b, p)
          if (end === -1) {
            if (n - p > MAX_PART_HEADER_BYTES) return this.#fail()
            return
          }
          const header = parsePartHeader(b, p, end + 2)
          if (!header) return this.#fail()
          this.#pos = end + 4
          this.#name = header.name
          this.#base64 = header.base64
          this.#chunks = this.#keep(header.name, header.file) ? [] : null
          this.#state = 'content'
          break
        }
        case 'content': {
          const at = indexOfDelimiter(b, delimiter, p)
          if (at === -1) {
            // Everything but a possible start of the delimiter is content.
            const safe = n - (delimiter.byteLength - 1)
            if (safe > p) {
              this.#chunks?.push(b.subarray(p, safe))
              this.#pos = safe
            }
            return
          }
          const chunks = this.#chunks
          if (chunks) {
            chunks.push(b.subarray(p, at))
            const bytes = chunks.length === 1 ? chunks[0] : concat(chunks)
            this.#kept.push({ name: this.#name, text: this.#base64 ? undefined : decoder.decode(bytes) })
            this.#chunks = null
          }
          this.#pos = at + delimiter.byteLength
          this.#state = 'after-boundary'
          break
        }
        case 'close':
          // Only CRLFs may follow (checked at the end); a long tail is no form.
          if (n - p > MAX_PART_HEADER_BYTES) this.#fail()
          return
        default:
          return
      }
    }
  }
}

function concat(arrays: Uint8Array[]): Uint8Array {
  let length = 0
  for (const a of arrays) length += a.byteLength
  const out = new Uint8Array(length)
  let offset = 0
  for (const a of arrays) {
    out.set(a, offset)
    offset += a.byteLength
  }
  return out
}

/** Whether `count` bytes of `b` at `at` equal `pattern` from `from` on. */
function matches(b: Uint8Array, at: number, pattern: Uint8Array, from: number, count: number): boolean {
  for (let i = 0; i < count; i++) if (b[at + i] !== pattern[from + i]) return false
  return true
}

/** First index ≥ `from` of the delimiter (which starts with CR) in `b`, or -1. Finds CRs natively. */
function indexOfDelimiter(b: Uint8Array, delimiter: Uint8Array, from: number): number {
  const last = b.byteLength - delimiter.byteLength
  let i = b.indexOf(CR, from)
  while (i !== -1 && i <= last) {
    if (matches(b, i, delimiter, 0, delimiter.byteLength)) return i
    i = b.indexOf(CR, i + 1)
  }
  return -1
}

/** Index ≥ `from` of the CRLFCRLF ending a header block, or -1. */
function indexOfBlankLine(b: Uint8Array, from: number): number {
  let i = b.indexOf(CR, from)
  while (i !== -1 && i + 3 < b.byteLength) {
    if (b[i + 1] === LF && b[i + 2] === CR && b[i + 3] === LF) return i
    i = b.indexOf(CR, i + 1)
  }
  return -1
}

interface PartHeader {
  name: string
  file: boolean
  base64: boolean
}

/**
 * One part's header lines, bytes `[start, end)`, each line ending in CRLF, read as `formData()`
 * reads them: every line a token, a colon and a value; `Content-Disposition: form-data; name="…"`
 * with an optional `; filename="…"` (or `filename*`) and nothing after; the last disposition wins;
 * a part without one is malformed.
 */
function parsePartHeader(b: Uint8Array, start: number, end: number): PartHeader | null {
  // The usual part: a single line exactly as browsers and React write it, read without strings.
  if (matches(b, start, USUAL_FIRST_LINE, 0, USUAL_FIRST_LINE.byteLength) && b.indexOf(CR, start) === end - 2) {
    const disposition = parseDisposition(b, start + USUAL_FIRST_LINE.byteLength - FORM_DATA_NAME.byteLength, end - 2)
    return disposition && { name: disposition.name, file: disposition.file, base64: false }
  }
  let name: string | null = null
  let file = false
  let base64 = false
  let lineStart = start
  while (lineStart < end) {
    const lineEnd = b.indexOf(CR, lineStart)
    if (lineEnd === -1 || lineEnd >= end || b[lineEnd + 1] !== LF) return null
    const line = latin1(b, lineStart, lineEnd)
    const colon = line.indexOf(':')
    if (colon === -1) return null
    const field = line.slice(0, colon).replace(/^[\t ]+|[\t ]+$/g, '')
    if (!TOKEN.test(field)) return null
    const value = line.slice(colon + 1).replace(/^[\t ]+/, '')
    switch (field.toLowerCase()) {
      case 'content-disposition': {
        const disposition = parseDisposition(b, lineEnd - value.length, lineEnd)
        if (!disposition) return null
        ;({ name, file } = disposition)
        break
      }
      case 'content-transfer-encoding':
        base64 = value.replace(/[\t ]+$/, '') === 'base64'
        break
      default:
        break
    }
    lineStart = lineEnd + 2
  }
  return name === null ? null : { name, file, base64 }
}

/** A Content-Disposition value, bytes `[start, end)`: `form-data; name="…"[; filename="…"]`. */
function parseDisposition(b: Uint8Array, start: number, end: number): { name: string; file: boolean } | null {
  if (end - start < FORM_DATA_NAME.byteLength || !matches(b, start, FORM_DATA_NAME, 0, FORM_DATA_NAME.byteLength)) return null
  const nameStart = start + FORM_DATA_NAME.byteLength
  const nameEnd = b.indexOf(QUOTE, nameStart)
  if (nameEnd === -1 || nameEnd >= end) return null
  let p = nameEnd + 1
  let file = false
  if (p < end) {
    if (end - p < FILENAME.byteLength || !matches(b, p, FILENAME, 0, FILENAME.byteLength)) return null
    p += FILENAME.byteLength
    if (b[p] === STAR) p++
    if (b[p] !== 61 /* = */ || b[p + 1] !== QUOTE) return null
    const close = b.indexOf(QUOTE, p + 2)
    if (close === -1 || close + 1 !== end) return null
    file = true
  }
  return { name: decodeName(b, nameStart, nameEnd), file }
}

/** A field name: UTF-8, with `%0A`, `%0D` and `%22` unescaped (browsers escape those three). */
function decodeName(b: Uint8Array, start: number, end: number): string {
  let plain = end - start <= 64
  for (let i = start; plain && i < end; i++) plain = b[i] < 0x80 && b[i] !== 37 /* % */
  if (plain) return latin1(b, start, end)
  return decoder.decode(b.subarray(start, end)).replace(/%0A/gi, '\n').replace(/%0D/gi, '\r').replace(/%22/g, '"')
}

/** Bytes as Latin-1 text: one character per byte, so string offsets are byte offsets. */
function latin1(b: Uint8Array, start: number, end: number): string {
  let out = ''
  for (let i = start; i < end; i++) out += String.fromCharCode(b[i])
  return out
}
