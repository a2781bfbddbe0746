// `next start` servers for the tests: 127.0.0.1 only, each in its own process group, stopped by
// their own PID. Readiness is the guard's health endpoint answering with the expected build.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

import { track } from '../child-registry.mjs'
import { freePort } from '../ports.mjs'
import { progress } from './log.mjs'
import { childEnv } from './setup.mjs'

const HOST = '127.0.0.1'

export { freePort }

/** Polls `check` (sync or async, truthy = done) every `everyMs` until it holds; throws `what` after `timeoutMs`. */
export async function waitFor(check, what, { timeoutMs = 15_000, everyMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/**
 * Starts `next start` for one build of the app and waits until `/api/health` reports that build.
 *
 * @param {object} o
 * @param {{ dir: string, nextBin: string, logs?: string }} o.app
 * @param {{ distDir: string, buildId: string }} o.build
 * @param {string} o.key         NEXT_SERVER_ACTIONS_ENCRYPTION_KEY at run time
 * @param {string[]} [o.previousKeys]  SKEW_GUARD_PREVIOUS_KEYS
 * @param {'reload-after'|'reject'} [o.policy]
 * @param {number} [o.port]      default: a free port
 * @param {string} o.label       for progress lines and errors
 * @param {string} [o.cwd]       the server's working directory; default the app's directory
 * @param {string} [o.projectDir]  passed as `next start <projectDir>` (a monorepo starts an app from its root)
 * @param {string} [o.readyPath]   what readiness polls; default `/api/health`
 * @param {string|null} [o.expectBuildId]  the build the ready answer must report (its JSON `buildId`);
 *                               default `build.buildId`; `null`: any 200 answer is ready (a page, not JSON)
 * @param {Record<string, string>} [o.env]  more environment variables for the server
 */
export async function startServer({
  app,
  build,
  key,
  previousKeys = [],
  policy,
  port,
  label,
  cwd = app.dir,
  projectDir,
  readyPath = '/api/health',
  expectBuildId = build.buildId,
  env: extraEnv = {},
}) {
  port ??= await freePort()
  const env = childEnv({
    NEXT_DIST_DIR: build.distDir,
    NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: key,
    ...(previousKeys.length ? { SKEW_GUARD_PREVIOUS_KEYS: previousKeys.join(',') } : {}),
    ...(policy ? { SKEW_POLICY: policy } : {}),
    ...extraEnv,
  })
  const started = Date.now()
  const args = [app.nextBin, 'start', ...(projectDir ? [projectDir] : []), '-H', HOST, '-p', String(port)]
  const child = spawn(process.execPath, args, {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // Killed with this process, or by the run that owns it if this process is killed first.
  track(child, `next start ${label}`)
  let output = ''
  let exited = null
  const collect = (chunk) => {
    if (output.length < 2_000_000) output += chunk
  }
  child.stdout.setEncoding('utf8').on('data', collect)
  child.stderr.setEncoding('utf8').on('data', collect)
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal }
      // Kept for CI logs: <work>/logs/server-<name>-<port>.log
      try {
        if (app.logs) fs.writeFileSync(path.join(app.logs, `${label.replace(/\W+/g, '-')}-${port}.log`), output)
      } catch {
        // logging must not fail a test
      }
      resolve(exited)
    })
  })
  const url = `http://${HOST}:${port}`
  const server = {
    label,
    port,
    url,
    pid: child.pid,
    build,
    /** Everything the server printed so far (stdout and stderr). */
    output: () => output,
    /** Stops the server (its whole process group); idempotent; resolves when it has exited. */
    async stop() {
      if (exited) return exited
      for (const [signal, waitMs] of [
        ['SIGTERM', 10_000],
        ['SIGKILL', 10_000],
      ]) {
        try {
          process.kill(-child.pid, signal)
        } catch {
          // the group is gone already
        }
        const done = await Promise.race([exit, new Promise((resolve) => setTimeout(() => resolve(null), waitMs))])
        if (done) {
          progress(`${label}: stopped (pid ${child.pid})`)
          return done
        }
      }
      throw new Error(`${label}: pid ${child.pid} did not exit after SIGKILL`)
    },
  }
  progress(`${label}: starting next start on :${port} (${build.distDir}${policy ? `, policy ${policy}` : ''})`)
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`exited early (${exited.code ?? exited.signal})`)
        try {
          const response = await fetch(`${url}${readyPath}`, { signal: AbortSignal.timeout(2_000) })
          if (response.status !== 200) return false
          if (expectBuildId === null) return true
          const body = await response.json()
          if (body.buildId !== expectBuildId) throw new Error(`${readyPath} reports build ${body.buildId}, expected ${expectBuildId}`)
          return true
        } catch (error) {
          if (error instanceof Error && /reports build/.test(error.message)) throw error
          return false
        }
      },
      `${label} to answer ${readyPath}`,
      { timeoutMs: 60_000, everyMs: 150 },
    )
  } catch (error) {
    await server.stop().catch(() => {})
    throw new Error(`${label}: ${error.message}\n--- server output ---\n${output.slice(-6000)}`)
  }
  progress(`${label}: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return server
}
