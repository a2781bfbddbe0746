/**
 * `next-skew-guard diff <old> <new>`: which Server Action IDs a deploy keeps, removes and adds.
 * A removed ID is an action that open tabs of the old build will call in vain.
 */

import * as fs from 'node:fs'
import * as path from 'node:path'

import { keyCheckValue } from '../core'
import { ManifestError, readActionManifest, type ActionEntry, type ActionManifest } from '../server/build-info'

/** One action in a diff. */
export interface DiffAction {
  id: string
  filename?: string
  exportedName?: string
}

/** The result of {@link diffBuilds}. */
export interface BuildDiff {
  old: { dir: string; actions: number; keyCheckValue: string | null }
  new: { dir: string; actions: number; keyCheckValue: string | null }
  kept: DiffAction[]
  removed: DiffAction[]
  added: DiffAction[]
  /** Why every ID changed, when it did (the classic unpinned-key or moved-checkout case). */
  warning: string | null
}

/** A problem with the arguments (exit 2) rather than with the builds. */
export class DiffUsageError extends Error {}

/** Accepts the app directory or its build directory (`.next` or a custom distDir). */
export function resolveBuildDir(dir: string): string {
  const abs = path.resolve(dir)
  if (!fs.existsSync(abs)) throw new DiffUsageError(`${dir}: no such directory.`)
  if (!fs.statSync(abs).isDirectory()) throw new DiffUsageError(`${dir}: not a directory.`)
  // A build directory has BUILD_ID; an app may have a server/ folder of its own.
  if (fs.existsSync(path.join(abs, 'BUILD_ID'))) return abs
  if (fs.existsSync(path.join(abs, '.next', 'BUILD_ID'))) return path.join(abs, '.next')
  if (fs.existsSync(path.join(abs, 'package.json')) || fs.existsSync(path.join(abs, '.next'))) {
    throw new DiffUsageError(
      `${dir}: no build output (.next/BUILD_ID) found; run \`next build\` first, or pass the build directory itself if the app sets distDir.`,
    )
  }
  throw new DiffUsageError(`${dir}: not a Next.js app or build directory (no .next/server or server/ inside).`)
}

function describe(id: string, entry: ActionEntry | undefined): DiffAction {
  return {
    id,
    ...(entry?.filename ? { filename: entry.filename } : {}),
    ...(entry?.exportedName ? { exportedName: entry.exportedName } : {}),
  }
}

function kcv(manifest: ActionManifest): string | null {
  try {
    return manifest.encryptionKey ? keyCheckValue(manifest.encryptionKey) : null
  } catch {
    return null
  }
}

/** Compares the action manifests of two builds. Throws {@link ManifestError} for unreadable manifests. */
export function diffBuilds(oldDir: string, newDir: string): BuildDiff {
  const [a, b] = [resolveBuildDir(oldDir), resolveBuildDir(newDir)]
  const [ma, mb] = [readActionManifest(a), readActionManifest(b)]
  const kept: DiffAction[] = []
  const removed: DiffAction[] = []
  for (const [id, entry] of ma.actions) (mb.actions.has(id) ? kept : removed).push(describe(id, entry))
  const added = [...mb.actions].filter(([id]) => !ma.actions.has(id)).map(([id, e]) => describe(id, e))
  const [ka, kb] = [kcv(ma), kcv(mb)]
  let warning: string | null = null
  if (kept.length === 0 && removed.length > 0 && added.length > 0) {
    const idLengths = new Set([...ma.actions.keys(), ...mb.actions.keys()].map((id) => id.length))
    warning =
      'Every action ID changed, so every open tab of the old build breaks. ' +
      (ka && kb && ka !== kb && !idLengths.has(40)
        ? `The builds used different encryption keys (check values ${ka} and ${kb}); Next.js 15/16 salt every ` +
          'action ID with the key, so pin NEXT_SERVER_ACTIONS_ENCRYPTION_KEY to one value for all builds.'
        : 'Usual causes: an unpinned NEXT_SERVER_ACTIONS_ENCRYPTION_KEY (Next.js 15/16 salt IDs with it), or, ' +
          'with webpack, building in a different directory (IDs hash the absolute file path).')
  }
  return {
    old: { dir: a, actions: ma.actions.size, keyCheckValue: ka },
    new: { dir: b, actions: mb.actions.size, keyCheckValue: kb },
    kept,
    removed,
    added,
    warning,
  }
}

/** One line per action, for people. */
export function formatAction(a: DiffAction): string {
  const where = a.filename ? `${a.filename}${a.exportedName ? `#${a.exportedName}` : ''}` : '(no name in manifest)'
  return `${a.id}  ${where}`
}

export { ManifestError }
