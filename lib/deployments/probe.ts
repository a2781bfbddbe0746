/**
 * Is anything listening on an upstream? A TCP connect, nothing more (an HTTP request could hit an
 * app that is still compiling a route). Synchronous, because the CLI is: the connect runs in a
 * short-lived child Node process.
 */

import { spawnSync } from 'node:child_process'

import { parseUpstream } from './ids'

const SCRIPT = `
const net = require('node:net')
const [host, port, ms] = process.argv.slice(1)
const socket = net.connect({ host: host.replace(/^\\[|\\]$/g, ''), port: Number(port) })
const done = (code) => { socket.destroy(); process.exit(code) }
socket.setTimeout(Number(ms), () => done(2))
socket.on('connect', () => done(0))
socket.on('error', () => done(1))
`

/** Result of {@link probeUpstream}. */
export interface ProbeResult {
  listening: boolean
  /** Why not, in words ("connection refused", "no answer within 2 s"). */
  reason: string | null
}

/** Tries a TCP connection to `host:port` within `timeoutMs` (default 2 s). */
export function probeUpstream(upstream: string, timeoutMs = 2_000): ProbeResult {
  const { host, port } = parseUpstream(upstream)
  const r = spawnSync(process.execPath, ['-e', SCRIPT, host, String(port), String(timeoutMs)], {
    timeout: timeoutMs + 5_000,
    stdio: 'ignore',
    env: { PATH: process.env.PATH },
  })
  if (r.status === 0) return { listening: true, reason: null }
  if (r.status === 2) return { listening: false, reason: `no answer within ${Math.round(timeoutMs / 1000)} s` }
  return { listening: false, reason: 'connection refused or host unreachable' }
}
