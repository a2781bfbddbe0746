/**
 * Crash-safe file replacement: the new content goes to a temporary file in the same directory,
 * is flushed to disk, and is renamed over the target. A reader (or a proxy reloading) sees either
 * the old file or the new one, never a half-written one, whatever happens to this process.
 */

import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'

import { DeploymentError } from './errors'

/** The temporary file {@link writeFileAtomic} writes first; the same directory, so the rename cannot cross file systems. */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
}

/**
 * Writes `content` to `file` atomically (temp file + fsync + rename + fsync of the directory).
 * Keeps the mode of an existing file (a config the proxy's user must read stays readable); new
 * files get `mode` (default 0644). Throws `ERR_INVALID_ARG_VALUE` when the directory is missing or
 * not writable, with nothing changed.
 */
export function writeFileAtomic(file: string, content: string, mode = 0o644): void {
  if (typeof file !== 'string' || file === '') throw new DeploymentError('ERR_INVALID_ARG_VALUE', 'writeFileAtomic needs a file path.')
  let keepMode = mode
  try {
    keepMode = fs.statSync(file).mode & 0o7777
  } catch {
    // a new file
  }
  const temp = tempPathFor(file)
  let fd: number | undefined
  try {
    fd = fs.openSync(temp, 'wx', keepMode)
    fs.writeSync(fd, content)
    fs.fsyncSync(fd)
    fs.closeSync(fd)
    fd = undefined
    // openSync's mode is filtered by the umask; the kept mode must be exact.
    fs.chmodSync(temp, keepMode)
    fs.renameSync(temp, file)
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd)
    fs.rmSync(temp, { force: true })
    const err = e as NodeJS.ErrnoException
    throw new DeploymentError(
      'ERR_INVALID_ARG_VALUE',
      `Could not write ${file} (${err.code ?? err.message}): check that its directory exists and is writable. Nothing was changed.`,
    )
  }
  fsyncDir(path.dirname(file))
}

/**
 * Removes temporary files {@link writeFileAtomic} left next to `file` when a writer was killed
 * mid-write (their PID is gone). Never touches a temp file of a live process.
 */
export function removeStaleTemps(file: string): void {
  const dir = path.dirname(file)
  const prefix = `.${path.basename(file)}.`
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue
    const pid = Number(name.slice(prefix.length).split('.')[0])
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue
    try {
      process.kill(pid, 0)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') fs.rmSync(path.join(dir, name), { force: true })
    }
  }
}

/** Flushes a directory entry (the rename) to disk; best effort where the platform cannot. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined
  try {
    fd = fs.openSync(dir, 'r')
    fs.fsyncSync(fd)
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}
