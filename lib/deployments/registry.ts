/**
 * The registry of live deployments: which builds are running, where, which one is current, and
 * which Server Action IDs each knows. Every change runs under the registry's lock and ends in one
 * atomic write, so two deploy scripts at once never lose each other's changes and a crash never
 * leaves a half-written file.
 */

import * as fs from 'node:fs'
import * as path from 'node:path'

import { ManifestError, readActionManifest } from '../server/build-info'
import { DeploymentError, quote } from './errors'
import { parseUpstream, validateDeploymentId } from './ids'
import { withLock } from './lock'
import { emptyState, readStateFile, writeStateFile, type Deployment, type DeploymentBuild, type RegistryState } from './state'

/** Options shared by every registry operation. */
export interface RegistryOptions {
  /** How long to wait for another deploy script's lock (default 30 s). */
  lockTimeoutMs?: number
  /** The clock (tests). */
  now?: () => Date
}

/** The lock file of a state file. */
export function lockPathFor(stateFile: string): string {
  return `${stateFile}.lock`
}

function checkFile(file: unknown): string {
  if (typeof file !== 'string' || file === '') {
    throw new DeploymentError(
      'ERR_INVALID_ARG_VALUE',
      'The registry operations need the path of the state file (--state or SKEW_GUARD_DEPLOYMENTS).',
    )
  }
  return path.resolve(file)
}

/**
 * Reads the registry without locking or writing. A missing file throws `ERR_DEPLOYMENTS_STATE`
 * (a typo in --state must not look like an empty registry).
 */
export function readRegistry(file: string): RegistryState {
  const abs = checkFile(file)
  const state = readStateFile(abs)
  if (state === null) {
    throw new DeploymentError(
      'ERR_DEPLOYMENTS_STATE',
      `${abs} does not exist. Add the first deployment with \`next-skew-guard deployments add <id> --upstream host:port\`, ` +
        'or point --state (or SKEW_GUARD_DEPLOYMENTS) at the registry your deploys use.',
    )
  }
  return state
}

/**
 * Read-modify-write under the lock. `change` gets a copy of the registry (empty when the file does
 * not exist and `create` is set) and returns its result; the registry is written only when
 * `change` returns normally and left untouched when it throws.
 */
export function updateRegistry<T>(
  file: string,
  change: (state: RegistryState) => T,
  options: RegistryOptions & { create?: boolean; purpose?: string } = {},
): { result: T; created: boolean } {
  const abs = checkFile(file)
  if (options.create) fs.mkdirSync(path.dirname(abs), { recursive: true })
  return withLock(
    lockPathFor(abs),
    () => {
      const existing = readStateFile(abs)
      if (existing === null && !options.create) readRegistry(abs) // throws the "does not exist" error
      const state = existing ?? emptyState()
      const result = change(state)
      writeStateFile(abs, state)
      return { result, created: existing === null }
    },
    { timeoutMs: options.lockTimeoutMs, purpose: options.purpose },
  )
}

/** A build's inventory: its Server Action IDs and where it came from. */
export interface BuildInventory {
  build: DeploymentBuild
  actions: string[]
}

/**
 * Reads a build's Server Action IDs (`node` ∪ `edge` of `<dir>/<distDir>/server/server-reference-manifest.json`)
 * and its BUILD_ID. Throws `ERR_MANIFEST` when the manifest is missing or broken.
 */
export function readBuildInventory(dir: string, distDir = '.next'): BuildInventory {
  if (typeof dir !== 'string' || dir === '')
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', '--dir needs the app directory of the build.')
  if (typeof distDir !== 'string' || distDir === '')
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', '--dist-dir needs the build directory (default .next).')
  const appDir = path.resolve(dir)
  const buildDir = path.resolve(appDir, distDir)
  if (!fs.existsSync(appDir))
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', `${dir}: no such directory (--dir is the app directory of the build).`)
  const manifest = readActionManifest(buildDir)
  let buildId: string | null = null
  try {
    buildId = fs.readFileSync(path.join(buildDir, 'BUILD_ID'), 'utf8').trim() || null
  } catch {
    buildId = null
  }
  return { build: { dir: appDir, distDir, buildId }, actions: [...manifest.actions.keys()].sort() }
}

/** Input of {@link addDeployment}. */
export interface AddInput {
  id: string
  upstream: string
  /** The app directory of the build, to record its Server Action IDs. */
  dir?: string
  distDir?: string
  /** Replace an existing deployment of that ID (upstream and inventory; its history is kept). */
  replace?: boolean
}

/** Result of {@link addDeployment}. */
export interface AddResult {
  deployment: Deployment
  /** True when this call created the state file. */
  created: boolean
  /** True when an existing deployment was replaced. */
  replaced: boolean
}

/**
 * Records a running deployment. Refuses an invalid ID or upstream, an ID that is already
 * registered (unless `replace`), and an upstream another deployment uses. Reads the build's
 * Server Action IDs when `dir` is given (before taking the lock: the manifest can be large).
 */
export function addDeployment(file: string, input: AddInput, options: RegistryOptions = {}): AddResult {
  if (typeof input !== 'object' || input === null)
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', 'addDeployment needs { id, upstream }.')
  const id = validateDeploymentId(input.id)
  const upstream = parseUpstream(input.upstream).address
  if (input.distDir !== undefined && input.dir === undefined) {
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', '--dist-dir needs --dir (the app directory it is relative to).')
  }
  const inventory = input.dir !== undefined ? readBuildInventory(input.dir, input.distDir) : null
  const now = (options.now ?? (() => new Date()))().toISOString()
  let replaced = false
  const { result, created } = updateRegistry(
    file,
    (state) => {
      const same = state.deployments.find((d) => d.id.toLowerCase() === id.toLowerCase())
      if (same && (same.id !== id || !input.replace)) {
        throw new DeploymentError(
          'ERR_DEPLOYMENT_EXISTS',
          same.id === id
            ? `Deployment ${quote(id)} is already registered (upstream ${same.upstream}). Give every build its own ID, ` +
                'or pass --replace to record a new upstream or build for it.'
            : `Deployment ${quote(id)} differs from the registered ${quote(same.id)} only in letter case; some proxies ` +
                'match IDs without regard to case, so choose another ID.',
        )
      }
      const clash = state.deployments.find((d) => d.upstream === upstream && d.id !== id)
      if (clash) {
        throw new DeploymentError(
          'ERR_DEPLOYMENT_UPSTREAM',
          `${upstream} is already the upstream of deployment ${quote(clash.id)}: start each deployment on its own port ` +
            `(retire ${clash.id} first if its process is gone).`,
        )
      }
      const deployment: Deployment = {
        id,
        upstream,
        addedAt: same?.addedAt ?? now,
        promotedAt: same?.promotedAt ?? null,
        supersededAt: same?.supersededAt ?? null,
        build: inventory?.build ?? null,
        actions: inventory?.actions ?? [],
      }
      if (same) {
        state.deployments[state.deployments.indexOf(same)] = deployment
        replaced = true
      } else {
        state.deployments.push(deployment)
      }
      return deployment
    },
    { ...options, create: true, purpose: `deployments add ${id}` },
  )
  return { deployment: result, created, replaced }
}

/** Result of {@link promoteDeployment}. */
export interface PromoteResult {
  current: Deployment
  /** The deployment that was current before, if any and if different. */
  previous: Deployment | null
  /** True when `id` was current already (nothing changed). */
  unchanged: boolean
}

/** Makes `id` the current deployment: new documents (and every request without a carrier) go there. */
export function promoteDeployment(file: string, id: string, options: RegistryOptions = {}): PromoteResult {
  validateDeploymentId(id)
  const now = (options.now ?? (() => new Date()))().toISOString()
  return updateRegistry(
    file,
    (state) => {
      const target = find(state, id)
      if (state.current === id) return { current: target, previous: null, unchanged: true }
      const previous = state.current === null ? null : find(state, state.current)
      if (previous) previous.supersededAt = now
      target.promotedAt = now
      target.supersededAt = null
      state.current = id
      return { current: target, previous, unchanged: false }
    },
    { ...options, purpose: `deployments promote ${id}` },
  ).result
}

/**
 * Removes `id` from the registry: after the next render its requests go to the current
 * deployment, and its process can be stopped. The current deployment cannot be retired.
 */
export function retireDeployment(file: string, id: string, options: RegistryOptions = {}): Deployment {
  validateDeploymentId(id)
  return updateRegistry(
    file,
    (state) => {
      const target = find(state, id)
      if (state.current === id) {
        throw new DeploymentError(
          'ERR_DEPLOYMENT_CURRENT',
          `Deployment ${quote(id)} is the current one; promote another deployment first, then retire it.`,
        )
      }
      state.deployments.splice(state.deployments.indexOf(target), 1)
      return target
    },
    { ...options, purpose: `deployments retire ${id}` },
  ).result
}

/** Options of {@link gcDeployments}; at least one of `keep` and `maxAgeMs`. */
export interface GcOptions extends RegistryOptions {
  /** How many previous deployments to keep besides the current one (the most recently replaced). */
  keep?: number
  /** Drop previous deployments replaced longer ago than this. */
  maxAgeMs?: number
  /** Report what would go, change nothing. */
  dryRun?: boolean
}

/** Why {@link gcDeployments} removed a deployment. */
export interface GcRemoval {
  deployment: Deployment
  reason: string
}

/**
 * Retention: keeps the current deployment, deployments never promoted that were added after it
 * (the next release, staged), and the `keep` most recently replaced ones that were replaced less
 * than `maxAgeMs` ago. Removes the rest, and staged deployments that were added before the
 * current one was promoted (a release that was never promoted). Returns what it removed (or would
 * remove, with `dryRun`).
 */
export function gcDeployments(file: string, options: GcOptions): GcRemoval[] {
  if (typeof options !== 'object' || options === null)
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', 'gcDeployments needs { keep, maxAgeMs }.')
  const { keep, maxAgeMs } = options
  if (keep === undefined && maxAgeMs === undefined) {
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', 'gc needs --keep <n>, --max-age <duration>, or both (e.g. --keep 3 --max-age 7d).')
  }
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 0 || keep > 1000)) {
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', `--keep must be a whole number from 0 to 1000; got ${quote(String(keep))}.`)
  }
  if (maxAgeMs !== undefined && (!Number.isFinite(maxAgeMs) || maxAgeMs <= 0)) {
    throw new DeploymentError('ERR_INVALID_ARG_VALUE', '--max-age must be a positive duration (e.g. 7d).')
  }
  const now = (options.now ?? (() => new Date()))().getTime()
  const select = (state: RegistryState): GcRemoval[] => {
    const current = state.current === null ? null : find(state, state.current)
    const removals: GcRemoval[] = []
    const previous = state.deployments
      .filter((d) => d.id !== state.current && d.supersededAt !== null)
      .sort((a, b) => Date.parse(b.supersededAt as string) - Date.parse(a.supersededAt as string) || a.id.localeCompare(b.id))
    previous.forEach((d, rank) => {
      const age = now - Date.parse(d.supersededAt as string)
      if (keep !== undefined && rank >= keep)
        removals.push({ deployment: d, reason: `more than ${keep} previous deployment${keep === 1 ? '' : 's'}` })
      else if (maxAgeMs !== undefined && age > maxAgeMs) removals.push({ deployment: d, reason: 'replaced longer ago than --max-age' })
    })
    const promotedAt = current?.promotedAt ? Date.parse(current.promotedAt) : null
    for (const d of state.deployments) {
      if (d.id === state.current || d.supersededAt !== null || d.promotedAt !== null) continue
      if (promotedAt !== null && Date.parse(d.addedAt) < promotedAt)
        removals.push({ deployment: d, reason: 'never promoted, and an older release than the current one' })
    }
    return removals.sort((a, b) => state.deployments.indexOf(a.deployment) - state.deployments.indexOf(b.deployment))
  }
  if (options.dryRun) return select(readRegistry(file))
  return updateRegistry(
    file,
    (state) => {
      const removals = select(state)
      state.deployments = state.deployments.filter((d) => !removals.some((r) => r.deployment === d))
      return removals
    },
    { ...options, purpose: 'deployments gc' },
  ).result
}

/** How a deployment stands: current, previous (was current), or staged (never promoted). */
export function deploymentStatus(state: RegistryState, d: Deployment): 'current' | 'previous' | 'staged' {
  if (state.current === d.id) return 'current'
  return d.supersededAt !== null || d.promotedAt !== null ? 'previous' : 'staged'
}

function find(state: RegistryState, id: string): Deployment {
  const d = state.deployments.find((x) => x.id === id)
  if (!d) {
    const known = state.deployments.map((x) => x.id)
    throw new DeploymentError(
      'ERR_DEPLOYMENT_UNKNOWN',
      `No deployment ${quote(id)} in the registry${known.length ? ` (it has ${known.join(', ')})` : ' (it is empty)'}. ` +
        'Add it first with `next-skew-guard deployments add`.',
    )
  }
  return d
}

export { ManifestError }
