/**
 * An exclusive lock next to the state file, so two deploy scripts (or two `render` runs) never
 * interleave: the lock file is created with O_CREAT|O_EXCL, which exactly one process can win.
 *
 * A lock left behind by a crash is taken over: when its process is gone (same host, PID no longer
 * alive) or when it is older than `staleMs`. Taking over is itself serialised by a second
 * O_EXCL file, so two waiters can never both decide the same lock is stale and both proceed.
 *
 * Everything is synchronous (the CLI is); waiting sleeps with Atomics.wait, not a busy loop.
 */

import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'

import { DeploymentError } from './errors'

/** What a lock file holds (JSON), for the stale check and for the message a waiter prints. */
export interface LockInfo {
  pid: number
  host: string
  since: string
  /** Random, so a process never removes a lock it no longer owns. */
  token: string
  /** What holds it, e.g. `deployments promote dpl_v2`. */
  purpose: string
}

/** Options of {@link withLock}. */
export interface LockOptions {
  /** How long to wait for another holder (default 30 s). */
  timeoutMs?: number
  /** A lock older than this is stale whatever its PID says (default 5 min; no operation takes that long). */
  staleMs?: number
  /** Shown to other waiters. */
  purpose?: string
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms)
}

function readLock(file: string): { info: LockInfo | null; mtimeMs: number } | null {
  let text: string
  let mtimeMs: number
  try {
    mtimeMs = fs.statSync(file).mtimeMs
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return null
  }
  try {
    const info = JSON.parse(text) as LockInfo
    if (typeof info.pid === 'number' && typeof info.token === 'string') return { info, mtimeMs }
  } catch {
    // being written right now, or torn by a crash: judged by age below
  }
  return { info: null, mtimeMs }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Why a lock is stale, or null while its holder may still be working. */
function staleReason(lock: { info: LockInfo | null; mtimeMs: number }, staleMs: number): string | null {
  const age = Date.now() - lock.mtimeMs
  if (age > staleMs) return `older than ${Math.round(staleMs / 1000)} s`
  if (lock.info === null) return age > 2_000 ? 'unreadable (a crash while it was being written)' : null
  if (lock.info.host === os.hostname() && !alive(lock.info.pid)) return `its process ${lock.info.pid} is gone`
  return null
}

function tryCreate(file: string, info: LockInfo): boolean {
  let fd: number
  try {
    fd = fs.openSync(file, 'wx', 0o644)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new DeploymentError(
      'ERR_INVALID_ARG_VALUE',
      `Could not create the lock file ${file} (${(e as NodeJS.ErrnoException).code}): check that the state file's directory exists and is writable.`,
    )
  }
  try {
    fs.writeSync(fd, `${JSON.stringify(info)}\n`)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  return true
}

/**
 * Removes a stale lock, unless another waiter is doing the same: the breaker file makes the
 * check-then-remove one step. Returns true when the caller may retry at once.
 */
function breakStale(file: string, seen: { info: LockInfo | null; mtimeMs: number }, staleMs: number): boolean {
  const breaker = `${file}.break`
  const mine: LockInfo = {
    pid: process.pid,
    host: os.hostname(),
    since: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
    purpose: 'stale-lock takeover',
  }
  if (!tryCreate(breaker, mine)) {
    // A breaker of a crashed waiter: it only ever lives for a moment.
    const b = readLock(breaker)
    if (b && Date.now() - b.mtimeMs > 10_000) fs.rmSync(breaker, { force: true })
    return false
  }
  try {
    const now = readLock(file)
    // Still the very lock judged stale (not one a faster waiter created since)?
    const same = now !== null && now.mtimeMs === seen.mtimeMs && (now.info?.token ?? null) === (seen.info?.token ?? null)
    if (same && staleReason(now, staleMs) !== null) fs.rmSync(file, { force: true })
    return true
  } finally {
    fs.rmSync(breaker, { force: true })
  }
}

/**
 * Runs `fn` while holding the lock `file`. Waits up to `timeoutMs` for another holder, then throws
 * `ERR_DEPLOYMENTS_LOCKED` naming it. The lock is released when `fn` returns or throws.
 */
export function withLock<T>(file: string, fn: () => T, options: LockOptions = {}): T {
  if (typeof file !== 'string' || file === '') throw new DeploymentError('ERR_INVALID_ARG_VALUE', 'withLock needs a lock file path.')
  const timeoutMs = options.timeoutMs ?? 30_000
  const staleMs = options.staleMs ?? 5 * 60_000
  const info: LockInfo = {
    pid: process.pid,
    host: os.hostname(),
    since: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
    purpose: options.purpose ?? 'next-skew-guard deployments',
  }
  const deadline = Date.now() + timeoutMs
  let delay = 20
  for (;;) {
    if (tryCreate(file, info)) break
    const held = readLock(file)
    if (held === null) continue // released between our attempt and the read
    if (staleReason(held, staleMs) !== null && breakStale(file, held, staleMs)) continue
    if (Date.now() >= deadline) {
      const who = held.info
        ? `process ${held.info.pid} on ${held.info.host} (${held.info.purpose}) since ${held.info.since}`
        : 'a process that is still writing it'
      throw new DeploymentError(
        'ERR_DEPLOYMENTS_LOCKED',
        `The deployment registry is locked by ${who}; waited ${Math.round(timeoutMs / 1000)} s. Let that deploy finish and run ` +
          `this again. If no deploy is running, the lock is left over from a crash on another host: delete ${file}.`,
      )
    }
    sleep(delay + Math.floor(Math.random() * delay))
    delay = Math.min(delay * 2, 250)
  }
  try {
    return fn()
  } finally {
    const now = readLock(file)
    if (now?.info?.token === info.token) fs.rmSync(file, { force: true })
  }
}
