/**
 * What the running server knows about its own build: the build identity
 * (`<distDir>/BUILD_ID`, which `withSkewGuard` makes deterministic), the
 * action manifest, the key the build used and the Next.js major. Node
 * runtime only; every reader fails soft (null) and the caller degrades to
 * pass-through, because a guard must never block traffic on its own error.
 */

import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'

import { logOnce } from './events'

/**
 * Env var through which `withSkewGuard` tells the server runtime where `distDir` is: absolute when
 * the wrapper could locate the project (its next.config file, or the directory given to
 * `next start`), else relative to the working directory.
 */
export const DIST_DIR_ENV = '__SKEW_GUARD_DIST_DIR'
/** Env var that pins the build identity at build time (also inlined into bundles by `withSkewGuard`). */
export const BUILD_ID_ENV = 'SKEW_GUARD_BUILD_ID'

/** `next` options that take a value (`-p 3000`), so the value is not taken for the project directory. */
const START_VALUE_OPTIONS = new Set(['-p', '--port', '-H', '--hostname', '--keepAliveTimeout', '--keep-alive-timeout'])

/**
 * The project directory a `next start [dir]` command line names, resolved against the working
 * directory; null when `argv` is not a `next start`. `next start apps/web` from a monorepo root
 * does not change directory, so the working directory alone would be the wrong project.
 */
export function nextStartDir(argv: readonly string[] = process.argv, cwd: string = process.cwd()): string | null {
  if (argv[2] !== 'start' || !/(^|[\\/])next(\.js)?$/.test(argv[1] ?? '')) return null
  for (let i = 3; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') continue
    if (arg.startsWith('-')) {
      if (START_VALUE_OPTIONS.has(arg)) i++
      continue
    }
    return path.resolve(cwd, arg)
  }
  return cwd
}

let resolvedDistDir: { env: string | undefined; dir: string } | undefined

/**
 * The app's build output directory (absolute): what `withSkewGuard` recorded when Next.js loaded
 * the config, else the config a standalone `server.js` carries (it never runs next.config, and
 * changes into its own directory first), else `.next` in the directory `next start` was given,
 * else in the working directory. Computed once per process (the standalone config can be large).
 */
export function distDir(): string {
  const env = process.env[DIST_DIR_ENV]
  if (resolvedDistDir && resolvedDistDir.env === env) return resolvedDistDir.dir
  let dir: string
  if (env) {
    dir = path.resolve(process.cwd(), env)
  } else {
    let standalone: string | undefined
    try {
      standalone = (JSON.parse(process.env.__NEXT_PRIVATE_STANDALONE_CONFIG || '{}') as { distDir?: string }).distDir
    } catch {
      standalone = undefined
    }
    dir = standalone ? path.resolve(process.cwd(), standalone) : path.join(nextStartDir() ?? process.cwd(), '.next')
  }
  resolvedDistDir = { env, dir }
  return dir
}

/** `next dev` and tests run with another NODE_ENV; the guard's checks are for production builds. */
export function isProduction(): boolean {
  return process.env.NODE_ENV === 'production'
}

const buildIds = new Map<string, string | null>()

/**
 * The server's build identity: `<distDir>/BUILD_ID`, read once per directory; else
 * `SKEW_GUARD_BUILD_ID`; else null. The build on disk is what runs: a runtime `SKEW_GUARD_BUILD_ID`
 * that says otherwise (a container with the variable left over from another build) is ignored,
 * with one warning, because trusting it would call every action of this build stale.
 */
export function readBuildId(): string | null {
  const file = path.join(distDir(), 'BUILD_ID')
  let id = buildIds.get(file)
  if (id === undefined) {
    try {
      id = fs.readFileSync(file, 'utf8').trim() || null
    } catch {
      id = null
    }
    // A missing file is retried on the next call (a build may land later); a found one is final.
    if (id !== null) {
      buildIds.set(file, id)
      const fromEnv = process.env[BUILD_ID_ENV]
      if (fromEnv && fromEnv !== id) {
        logOnce(
          'build-id-env',
          'warn',
          `${BUILD_ID_ENV}=${JSON.stringify(fromEnv.slice(0, 64))} disagrees with the build being served (${file}: ` +
            `${JSON.stringify(id)}); using the build's. ${BUILD_ID_ENV} is read at build time only: unset it at runtime.`,
        )
      }
    }
  }
  return id ?? (process.env[BUILD_ID_ENV] || null)
}

/** One action of the manifest. */
export interface ActionEntry {
  /** Source file, where the manifest records it (15/16). */
  filename?: string
  /** Export name; inline closures are `$$RSC_SERVER_ACTION_<n>` (15/16). */
  exportedName?: string
  /** Pages whose workers know the action. */
  pages: string[]
}

/** The parts of `server-reference-manifest.json` the guard uses. */
export interface ActionManifest {
  /** Action ID → entry, `node` ∪ `edge`. */
  actions: Map<string, ActionEntry>
  /** The key the build wrote (the real key on 15/16; a random one on 14). */
  encryptionKey: string | null
  /** Where it was read from. */
  file: string
}

/** Thrown by {@link readActionManifest} with the reason in words. */
export class ManifestError extends Error {
  readonly code = 'ERR_MANIFEST'
}

/** Reads and validates the action manifest of a build directory. */
export function readActionManifest(dir: string = distDir()): ActionManifest {
  const file = path.join(dir, 'server', 'server-reference-manifest.json')
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    throw new ManifestError(
      `${file} is missing (${(e as NodeJS.ErrnoException).code ?? 'unreadable'}): run \`next build\` first, or the app has no Server Actions.`,
    )
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ManifestError(`${file} is not valid JSON (truncated or corrupt build output); rebuild the app.`)
  }
  const manifest = json as { node?: unknown; edge?: unknown; encryptionKey?: unknown }
  if (typeof manifest !== 'object' || manifest === null || typeof manifest.node !== 'object' || manifest.node === null) {
    throw new ManifestError(`${file} has no "node" section; it is not a Next.js 14-16 server actions manifest.`)
  }
  const actions = new Map<string, ActionEntry>()
  for (const section of [manifest.node, manifest.edge]) {
    if (typeof section !== 'object' || section === null) continue
    for (const [id, raw] of Object.entries(section as Record<string, unknown>)) {
      const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as {
        filename?: unknown
        exportedName?: unknown
        workers?: unknown
      }
      actions.set(id, {
        ...(typeof entry.filename === 'string' ? { filename: entry.filename } : {}),
        ...(typeof entry.exportedName === 'string' ? { exportedName: entry.exportedName } : {}),
        pages: typeof entry.workers === 'object' && entry.workers !== null ? Object.keys(entry.workers) : [],
      })
    }
  }
  const key = manifest.encryptionKey
  // Webpack edge manifests hold the literal placeholder, not a key.
  const encryptionKey = typeof key === 'string' && !key.startsWith('process.env') ? key : null
  return { actions, encryptionKey, file }
}

/**
 * Node's own `require`, resolving from the app directory. Bundlers cannot see through it, which
 * is the point: optional packages (prom-client) and the app's own `next/package.json` are looked
 * up at run time, from the app, not at build time from wherever this file was bundled.
 */
export function appRequire(fromDir: string = process.cwd()): NodeRequire {
  return createRequire(path.join(fromDir, 'package.json'))
}

/** The installed Next.js major (14, 15, 16…), or null when `next` cannot be resolved. */
export function nextMajor(fromDir: string = process.cwd()): number | null {
  try {
    const pkg = appRequire(fromDir)('next/package.json') as { version?: string }
    const major = Number.parseInt(pkg.version ?? '', 10)
    return Number.isFinite(major) ? major : null
  } catch {
    return null
  }
}
