/** Public result types and the internal backend contract. */

/** What {@link parseKey} learned about a valid key. Never contains key material. */
export interface KeyInfo {
  /** Decoded length in bytes. */
  bytes: 16 | 24 | 32
  /** AES key size in bits. */
  bits: 128 | 192 | 256
  /** Key check value: 6 hex digits, safe to log and to compare across machines. */
  checkValue: string
  /** The string is exactly the padded, whitespace-free base64 of the key. */
  canonical: boolean
}

/** One finding of {@link checkKey}. */
export interface KeyFinding {
  /** `ERR_KEY_…` for errors, `WARN_KEY_…` for warnings. */
  code: string
  /** What is wrong and what to do, without the key itself. */
  message: string
}

/** The verdict of {@link checkKey}. */
export interface KeyCheckReport {
  /** True when the key is usable and not public or degenerate. */
  ok: boolean
  /** Decoded length in bytes, when the key is base64 at all. */
  bytes?: number
  /** Check value, when the key has a valid length. */
  checkValue?: string
  /** Reasons the key must not be used. */
  errors: KeyFinding[]
  /** Forms Next.js accepts that are probably mistakes. */
  warnings: KeyFinding[]
}

/** How a client's build identity relates to the server's. */
export type BuildIdComparison = 'same' | 'different' | 'unknown'

/** An opened payload. */
export interface OpenResult {
  /** Which key opened it: 0 = current, n = previous key n. */
  keyIndex: number
  /** Flight rows after the action ID, e.g. `0:["x"]\n`. */
  rows: string
}

/** A bound-args payload: the base64 text, or its bytes (e.g. sliced from a body). */
export type PayloadInput = string | Uint8Array

/** Which implementation is in use. */
export type BackendName = 'native' | 'js'

/** A verdict code shared by both backends: one of `VERDICTS` in `rules.ts` (from `rules.json`). */
export type VerdictCode = number

/** What the facade needs from a backend (not part of the public API). Inputs are already validated. */
export interface Backend {
  readonly name: BackendName
  /** Whether the `…Sync` payload methods work (false only on WebCrypto). */
  readonly sync: boolean
  generateKey(bytes: number): string
  parseKey(key: string): KeyInfo
  checkKey(key: string): KeyCheckReport
  compareBuildIds(client: string | undefined, server: string | undefined): BuildIdComparison
  shouldForceRefresh(clientLoadedAt: number, rotatedAt: number, noticeMs: number, now: number): boolean
  keyring(current: string, previous: string[], maxPayloadBytes: number): BackendKeyring
}

/** A backend's keyring (not part of the public API). */
export interface BackendKeyring {
  readonly checkValues: readonly string[]
  verifySync(payload: PayloadInput, actionId: string): VerdictCode
  verify(payload: PayloadInput, actionId: string): Promise<VerdictCode>
  openSync(payload: PayloadInput, actionId: string): OpenResult
  open(payload: PayloadInput, actionId: string): Promise<OpenResult>
  sealSync(actionId: string, rows: string): string
  seal(actionId: string, rows: string): Promise<string>
}
