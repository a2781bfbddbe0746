/**
 * The registry's state file: one JSON document a person can read and, carefully, edit.
 *
 * ```json
 * {
 *   "format": "next-skew-guard/deployments@1",
 *   "current": "dpl_v2",
 *   "deployments": [
 *     { "id": "dpl_v1", "upstream": "127.0.0.1:3001", "addedAt": "…", "promotedAt": "…",
 *       "supersededAt": "…", "build": { "dir": "/srv/app/releases/v1", "distDir": ".next", "buildId": "…" },
 *       "actions": ["40c0…", …] },
 *     …
 *   ]
 * }
 * ```
 *
 * Reading is strict: a file that is empty, truncated, not JSON, or edited into something that is
 * not a registry is refused with the line (for JSON errors) or the field that is wrong, and the
 * caller writes nothing.
 */

import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import { removeStaleTemps, writeFileAtomic } from './atomic'
import { DeploymentError, quote } from './errors'
import { DEPLOYMENT_ID_PATTERN, DEPLOYMENT_ID_RULE, parseUpstream, validateActionId } from './ids'

/** The `format` value of this version of the file. */
export const STATE_FORMAT = 'next-skew-guard/deployments@1'

/** Environment variable naming the state file (the `--state` option wins). */
export const STATE_ENV = 'SKEW_GUARD_DEPLOYMENTS'

/** Where the build a deployment runs came from (recorded by `add --dir`). */
export interface DeploymentBuild {
  /** The app directory, absolute. */
  dir: string
  /** The build directory relative to `dir` (`.next` unless the app sets distDir). */
  distDir: string
  /** `<distDir>/BUILD_ID` at the time of `add`, when it was readable. */
  buildId: string | null
}

/** One deployment: a running `next start` of one build. */
export interface Deployment {
  id: string
  /** `host:port` of its `next start`. */
  upstream: string
  /** ISO 8601 times. */
  addedAt: string
  /** When it last became the current deployment; null if it never was. */
  promotedAt: string | null
  /** When it last stopped being current; null while current or if it never was. */
  supersededAt: string | null
  build: DeploymentBuild | null
  /** Its Server Action IDs (node ∪ edge), sorted; empty when added without `--dir`. */
  actions: string[]
}

/** The whole registry. */
export interface RegistryState {
  format: typeof STATE_FORMAT
  /** The deployment new documents go to; null until the first `promote`. */
  current: string | null
  /** In the order they were added. */
  deployments: Deployment[]
}

/** A registry with nothing in it. */
export function emptyState(): RegistryState {
  return { format: STATE_FORMAT, current: null, deployments: [] }
}

/**
 * The state file to use: `explicit` (the `--state` option), else `$SKEW_GUARD_DEPLOYMENTS`, else
 * `$XDG_STATE_HOME/next-skew-guard/deployments.json` (`~/.local/state/…` without XDG_STATE_HOME).
 * A per-user path rather than the working directory, so deploy scripts run from different
 * directories still share one registry.
 */
export function resolveStatePath(explicit: string | undefined, env: Record<string, string | undefined> = process.env): string {
  const chosen = explicit ?? env[STATE_ENV]
  if (chosen !== undefined) {
    if (chosen.trim() === '') {
      throw new DeploymentError(
        'ERR_INVALID_ARG_VALUE',
        `${explicit !== undefined ? '--state' : STATE_ENV} is empty: give the path of the registry file.`,
      )
    }
    return path.resolve(chosen)
  }
  const base =
    env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(env.HOME || os.homedir(), '.local', 'state')
  return path.join(base, 'next-skew-guard', 'deployments.json')
}

const DEPLOYMENT_FIELDS = ['id', 'upstream', 'addedAt', 'promotedAt', 'supersededAt', 'build', 'actions'] as const
const TOP_FIELDS = ['format', 'current', 'deployments'] as const

function stateError(file: string, message: string): DeploymentError {
  return new DeploymentError(
    'ERR_DEPLOYMENTS_STATE',
    `${file}: ${message} Nothing was changed. Fix the file (or restore it from a backup); ` +
      '`next-skew-guard deployments list` reads it without writing.',
  )
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)))
  const line = before.split('\n').length
  return { line, column: offset - before.lastIndexOf('\n') }
}

/** Where JSON.parse stopped, from its message (V8 says "at position N", newer ones "line L column C"). */
function jsonErrorWhere(text: string, message: string): string {
  const lc = /line (\d+) column (\d+)/.exec(message)
  if (lc) return `line ${lc[1]}, column ${lc[2]}`
  const pos = /position (\d+)/.exec(message)
  if (pos) {
    const { line, column } = lineColumn(text, Number(pos[1]))
    return `line ${line}, column ${column}`
  }
  // "Unexpected end of JSON input": the file stops early.
  const { line } = lineColumn(text, text.length)
  return `line ${line} (the end of the file: it is truncated)`
}

function closest(name: string, known: readonly string[]): string {
  const lower = name.toLowerCase()
  const hit = known.find((k) => k.toLowerCase() === lower || k.toLowerCase().startsWith(lower.slice(0, 4)))
  return hit ? ` (did you mean "${hit}"?)` : ''
}

function isTime(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) && Number.isFinite(Date.parse(value))
}

/**
 * Parses and validates the text of a state file. `file` names it in messages. Throws
 * `ERR_DEPLOYMENTS_STATE` naming the line (JSON errors) or the field (everything else).
 */
export function parseState(text: string, file = 'the deployment registry'): RegistryState {
  if (text.trim() === '') {
    throw stateError(file, 'the file is empty (a copy cut short, or a disk that filled up?).')
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw stateError(file, `not valid JSON at ${jsonErrorWhere(text, (e as Error).message)}: ${(e as Error).message}.`)
  }
  const fail = (field: string, message: string): never => {
    throw stateError(file, `field ${field}: ${message}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    fail('(top level)', 'expected an object with "format", "current" and "deployments".')
  const top = json as Record<string, unknown>
  for (const key of Object.keys(top))
    if (!(TOP_FIELDS as readonly string[]).includes(key)) fail(`"${key}"`, `unknown field${closest(key, TOP_FIELDS)}.`)
  if (top.format !== STATE_FORMAT)
    fail('"format"', `is ${quote(top.format)}, expected "${STATE_FORMAT}" (is this a deployment registry of next-skew-guard?).`)
  if (!Array.isArray(top.deployments)) fail('"deployments"', 'expected an array.')
  const deployments: Deployment[] = []
  const seen = new Map<string, string>()
  const upstreams = new Map<string, string>()
  ;(top.deployments as unknown[]).forEach((raw, i) => {
    const at = `deployments[${i}]`
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(at, 'expected an object.')
    const d = raw as Record<string, unknown>
    const name = typeof d.id === 'string' ? `${at} (${quote(d.id)})` : at
    for (const key of Object.keys(d))
      if (!(DEPLOYMENT_FIELDS as readonly string[]).includes(key))
        fail(`${name}."${key}"`, `unknown field${closest(key, DEPLOYMENT_FIELDS)}.`)
    if (typeof d.id !== 'string' || !DEPLOYMENT_ID_PATTERN.test(d.id))
      fail(`${at}.id`, `${quote(d.id)} is not a deployment ID (${DEPLOYMENT_ID_RULE}).`)
    const id = d.id as string
    const folded = id.toLowerCase()
    if (seen.has(folded))
      fail(`${name}.id`, `the ID is already used by ${quote(seen.get(folded))} (IDs must differ in more than letter case).`)
    seen.set(folded, id)
    let upstream: string
    try {
      upstream = parseUpstream(d.upstream).address
    } catch (e) {
      if (!(e instanceof DeploymentError)) throw e
      return fail(`${name}.upstream`, e.message)
    }
    if (upstreams.has(upstream)) fail(`${name}.upstream`, `${upstream} is also the upstream of ${quote(upstreams.get(upstream))}.`)
    upstreams.set(upstream, id)
    if (!isTime(d.addedAt)) fail(`${name}.addedAt`, `${quote(d.addedAt)} is not an ISO 8601 time.`)
    for (const key of ['promotedAt', 'supersededAt'] as const) {
      if (d[key] !== null && !isTime(d[key])) fail(`${name}.${key}`, `${quote(d[key])} is neither null nor an ISO 8601 time.`)
    }
    let build: DeploymentBuild | null = null
    if (d.build !== null && d.build !== undefined) {
      const b = d.build as Record<string, unknown>
      if (typeof b !== 'object' || Array.isArray(b))
        fail(`${name}.build`, 'expected null or an object with "dir", "distDir" and "buildId".')
      if (typeof b.dir !== 'string' || b.dir === '') fail(`${name}.build.dir`, 'expected the app directory.')
      if (typeof b.distDir !== 'string' || b.distDir === '') fail(`${name}.build.distDir`, 'expected the build directory (".next").')
      if (b.buildId !== null && typeof b.buildId !== 'string') fail(`${name}.build.buildId`, 'expected null or a string.')
      build = { dir: b.dir as string, distDir: b.distDir as string, buildId: (b.buildId as string | null) ?? null }
    } else if (d.build === undefined) {
      fail(`${name}.build`, 'missing (null when the deployment was added without --dir).')
    }
    if (!Array.isArray(d.actions)) fail(`${name}.actions`, 'expected an array of Server Action IDs.')
    const actions = (d.actions as unknown[]).map((a, j) => {
      try {
        return validateActionId(a, `${name}.actions[${j}]`)
      } catch (e) {
        if (!(e instanceof DeploymentError)) throw e
        return fail(`${name}.actions[${j}]`, `${quote(a)} is not a Server Action ID (40 or 42 lowercase hex digits).`)
      }
    })
    deployments.push({
      id,
      upstream,
      addedAt: d.addedAt as string,
      promotedAt: (d.promotedAt as string | null) ?? null,
      supersededAt: (d.supersededAt as string | null) ?? null,
      build,
      actions: [...new Set(actions)].sort(),
    })
  })
  if (top.current !== null && typeof top.current !== 'string') fail('"current"', 'expected null or the ID of a deployment.')
  if (typeof top.current === 'string' && !deployments.some((d) => d.id === top.current)) {
    fail('"current"', `${quote(top.current)} is not the ID of any deployment in "deployments".`)
  }
  return { format: STATE_FORMAT, current: (top.current as string | null) ?? null, deployments }
}

/**
 * The file's text: two-space JSON, one action ID per line, a trailing newline. Deterministic: the
 * same registry always gives the same bytes.
 */
export function serializeState(state: RegistryState): string {
  const ordered = {
    format: STATE_FORMAT,
    current: state.current,
    deployments: state.deployments.map((d) => ({
      id: d.id,
      upstream: d.upstream,
      addedAt: d.addedAt,
      promotedAt: d.promotedAt,
      supersededAt: d.supersededAt,
      build: d.build ? { dir: d.build.dir, distDir: d.build.distDir, buildId: d.build.buildId } : null,
      actions: [...new Set(d.actions)].sort(),
    })),
  }
  return `${JSON.stringify(ordered, null, 2)}\n`
}

/**
 * Reads the state file. A missing file is `null` (the caller decides whether that is an error);
 * anything unreadable or invalid throws `ERR_DEPLOYMENTS_STATE`.
 */
export function readStateFile(file: string): RegistryState | null {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return null
    throw new DeploymentError('ERR_DEPLOYMENTS_STATE', `${file}: cannot be read (${code ?? (e as Error).message}).`)
  }
  return parseState(text, file)
}

/**
 * Writes the state file atomically (never half-written, whatever happens to this process),
 * creating its directory when needed. Validates first: a registry that would not read back is
 * never written.
 */
export function writeStateFile(file: string, state: RegistryState): void {
  const text = serializeState(state)
  parseState(text, file)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  writeFileAtomic(file, text)
  // Writers are serialised by the lock: whatever a killed one left behind can go.
  removeStaleTemps(file)
}
