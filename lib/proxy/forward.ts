/**
 * In-app forwarding (Node runtime), for hosts whose reverse proxy cannot be configured: the
 * current app's `proxy.ts` reads the deployment registry and forwards a request that belongs to a
 * retained deployment (by the routing contract's carriers) to that deployment's own `next start`.
 * Everything else is the app's, as without forwarding.
 *
 * Two ways, because Next.js hands a proxy a copy of the request without its router headers (`rsc`,
 * `next-router-state-tree`, …) and without `?_rsc=`: a GET or HEAD (navigations, prefetches, a
 * build's files) is handed back to Next.js as an external rewrite, which sends the original
 * request; a POST (Server Actions, forms) is sent by the guard itself, so that it goes exactly
 * once, with its headers as the browser sent them, and its failures are told apart.
 *
 * Rules that keep it safe:
 * - a request is forwarded at most once (the forwarded copy carries a marker the next guard
 *   honours) and never retried;
 * - `Host` and `X-Forwarded-Host` reach the retained app as the browser sent them (Next.js
 *   compares a Server Action's `Origin` with them);
 * - a retained deployment that refuses or does not accept the connection within
 *   `connectTimeoutMs` gets nothing: nothing was sent, so the request is the current app's, whose
 *   guard answers it as skew (an old tab then reloads once);
 * - once the request was sent, a failure is answered, never hidden: 502, or 504 after
 *   `timeoutMs` without an answer, marked `x-skew-guard: forward-failed` / `forward-timeout`
 *   (a safe action reports it as a transport error whose action may have run).
 */

import * as fs from 'node:fs'
import * as http from 'node:http'
import * as net from 'node:net'
import { Readable } from 'node:stream'

import { NextResponse } from 'next/server'

import { planRouting, routeRequest, type RouteTarget, type RoutingPlan } from '../deployments/routing'
import { readStateFile, STATE_ENV } from '../deployments/state'
import { recordConfigError } from '../server/events'
import { GUARD_HEADER } from '../shared/protocol'

/** Marks a request a guard forwarded: the guard that receives it serves it, whatever it carries. */
export const FORWARDED_HEADER = 'x-skew-guard-forwarded'

/** `skewGuard({ forward })` settings. */
export interface ForwardOptions {
  /**
   * The registry that `next-skew-guard deployments` keeps (its state file). Default: the
   * `SKEW_GUARD_DEPLOYMENTS` environment variable. Read again when the file changes (checked at
   * most once a second).
   */
  registry?: string
  /**
   * The deployment ID of this app, which is never forwarded to. Default: the build's deployment ID
   * (`NEXT_DEPLOYMENT_ID`), else the registry's current deployment. A replica of a retained
   * deployment that still gets traffic forwards the current deployment's requests to it.
   */
  self?: string
  /** How long a forwarded request waits for the answer's headers, in ms (default 30 000). */
  timeoutMs?: number
  /** How long to wait for the retained deployment to accept the connection, in ms (default 2 000). */
  connectTimeoutMs?: number
}

/** Forwards a request to its retained deployment: resolves the answer, or null when the request is this app's. */
export type Forwarder = (request: Request) => Promise<Response | null>

// Per connection, not per request: never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
])
const REGISTRY_CHECK_MS = 1_000
/** How long a reachability answer for a GET's rewrite is reused (a deployment that died is noticed within this). */
const PROBE_TTL_MS = 1_000

/** A forwarder for `options` (already validated by the guard). */
export function createForwarder(options: ForwardOptions, env: Record<string, string | undefined> = process.env): Forwarder {
  const file = options.registry ?? env[STATE_ENV]
  if (!file) {
    throw Object.assign(
      new Error(
        `skewGuard({ forward }) needs the deployment registry: set ${STATE_ENV} to the state file \`next-skew-guard deployments\` writes, ` +
          'or pass forward: { registry: "/path/to/deployments.json" }.',
      ),
      { code: 'ERR_FORWARD_REGISTRY' },
    )
  }
  const self = options.self ?? env.NEXT_DEPLOYMENT_ID ?? null
  const timeoutMs = options.timeoutMs ?? 30_000
  const connectTimeoutMs = options.connectTimeoutMs ?? 2_000

  let plan: RoutingPlan | null = null
  let seen = ''
  let checkedAt = -Infinity
  /** The routing plan of the registry as it is now; null when there is nothing to forward to. */
  function currentPlan(): RoutingPlan | null {
    const now = Date.now()
    if (now - checkedAt < REGISTRY_CHECK_MS) return plan
    checkedAt = now
    let stat: fs.Stats
    try {
      stat = fs.statSync(file as string)
    } catch {
      if (seen !== 'missing')
        recordConfigError('ERR_FORWARD_REGISTRY', `${file} does not exist: nothing is forwarded until it does.`, 'warn')
      seen = 'missing'
      plan = null
      return plan
    }
    const version = `${stat.mtimeMs}:${stat.size}:${stat.ino}`
    if (version === seen) return plan
    seen = version
    try {
      const state = readStateFile(file as string)
      plan = state?.current ? planRouting(state) : null
    } catch (e) {
      recordConfigError('ERR_FORWARD_REGISTRY', `${(e as Error).message} Nothing is forwarded until the registry reads again.`, 'warn')
      plan = null
    }
    return plan
  }

  const probes = new Map<string, { at: number; answer: Promise<boolean> }>()
  /** Whether `target` accepts connections, asked at most once a second. */
  function reachable(target: RouteTarget): Promise<boolean> {
    const now = Date.now()
    const known = probes.get(target.id)
    if (known && now - known.at < PROBE_TTL_MS) return known.answer
    const answer = probe(target, connectTimeoutMs)
    probes.set(target.id, { at: now, answer })
    return answer
  }

  return async function forward(request: Request): Promise<Response | null> {
    if (request.headers.has(FORWARDED_HEADER)) return null
    const routing = currentPlan()
    if (!routing || routing.retained.length === 0) return null
    const target = routeRequest(routing, { method: request.method, url: request.url, headers: request.headers })
    if (target.id === self) return null
    // What belongs to the current deployment is this app's to serve, unless this app is a replica of
    // a retained one that still gets traffic (a rolling update behind one balancer): then the
    // current deployment's pages and actions go to the current deployment.
    if (target.id === routing.current.id && !routing.retained.some((d) => d.id === self)) return null
    if (request.method === 'GET' || request.method === 'HEAD') return (await reachable(target)) ? rewrite(request, target) : null
    return send(request, target, { timeoutMs, connectTimeoutMs })
  }
}

/** Whether something accepts a connection at `target` within `timeoutMs`. */
function probe(target: RouteTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostOf(target), port: target.upstream.port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** `[::1]` is written with brackets in the registry, without them for a socket. */
function hostOf(target: RouteTarget): string {
  return target.upstream.host.replace(/^\[(.*)\]$/, '$1')
}

/**
 * An external rewrite to `target`: Next.js proxies the original request there (router headers and
 * `?_rsc=` included), marked so that the retained app's guard serves it.
 */
function rewrite(request: Request, target: RouteTarget): Response {
  const url = new URL(request.url)
  const headers = new Headers(request.headers)
  headers.set(FORWARDED_HEADER, target.id)
  return NextResponse.rewrite(new URL(`${url.pathname}${url.search}`, `http://${target.upstream.address}`), { request: { headers } })
}

/** Sends `request` to `target` once; see the file comment for what each failure gives. */
function send(request: Request, target: RouteTarget, limits: { timeoutMs: number; connectTimeoutMs: number }): Promise<Response | null> {
  const url = new URL(request.url)
  const headers: Record<string, string> = {}
  request.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) headers[name] = value
  })
  // The answer goes out through this app's server, which compresses what it sends: an encoded
  // answer would be encoded twice.
  delete headers['accept-encoding']
  headers[FORWARDED_HEADER] = target.id
  headers['x-forwarded-host'] ??= request.headers.get('host') ?? url.host
  const withBody = request.body !== null && request.method !== 'GET' && request.method !== 'HEAD'

  return new Promise((resolve) => {
    let connected = false
    let settled = false
    const finish = (response: Response | null) => {
      if (settled) return
      settled = true
      clearTimeout(connectTimer)
      clearTimeout(answerTimer)
      resolve(response)
    }
    // One connection per forwarded request: a pooled socket the retained app closed meanwhile
    // would fail after the request was sent, where a fresh one fails before.
    const outgoing = http.request({
      host: hostOf(target),
      port: target.upstream.port,
      method: request.method,
      path: `${url.pathname}${url.search}`,
      headers,
      agent: false,
    })
    let answerTimer: ReturnType<typeof setTimeout> | undefined
    const connectTimer = setTimeout(() => {
      if (connected) return
      outgoing.destroy()
      finish(null)
    }, limits.connectTimeoutMs)
    outgoing.on('socket', (socket) => {
      const onConnect = () => {
        connected = true
        clearTimeout(connectTimer)
        answerTimer = setTimeout(() => {
          outgoing.destroy()
          finish(failure(504, 'forward-timeout', target, `did not answer within ${limits.timeoutMs / 1000} s`))
        }, limits.timeoutMs)
        if (!withBody) {
          outgoing.end()
          return
        }
        const body = Readable.fromWeb(request.body as import('node:stream/web').ReadableStream<Uint8Array>)
        body.on('error', (e) => outgoing.destroy(e))
        body.pipe(outgoing)
      }
      if (socket.connecting) socket.once('connect', onConnect)
      else onConnect()
    })
    outgoing.on('error', (e) => {
      // Refused or unreachable before anything was sent: the request is this app's to answer.
      if (!connected) finish(null)
      else finish(failure(502, 'forward-failed', target, `failed (${(e as NodeJS.ErrnoException).code ?? e.message})`))
    })
    outgoing.on('response', (incoming) => {
      const answer = new Headers()
      for (let i = 0; i < incoming.rawHeaders.length; i += 2) {
        const name = incoming.rawHeaders[i].toLowerCase()
        if (!HOP_BY_HOP.has(name)) answer.append(name, incoming.rawHeaders[i + 1])
      }
      // Next.js reads a proxy's `Location` as an absolute URL (and makes one of its own origin
      // relative again for the browser): a retained app's relative redirect is resolved here.
      const location = answer.get('location')
      if (location) {
        try {
          answer.set('location', new URL(location, request.url).toString())
        } catch {
          // not a URL at all: passed on as it came
        }
      }
      const status = incoming.statusCode ?? 502
      const empty = status === 204 || status === 304 || request.method === 'HEAD'
      if (empty) incoming.resume()
      finish(
        new Response(empty ? null : (Readable.toWeb(incoming) as unknown as ReadableStream<Uint8Array>), {
          status,
          statusText: incoming.statusMessage,
          headers: answer,
        }),
      )
    })
  })
}

/** The answer when a sent request failed: the action may have run, so it is reported, never retried. */
function failure(status: 502 | 504, mark: string, target: RouteTarget, what: string): Response {
  return new Response(`Deployment ${target.id} (${target.upstream.address}) ${what}. The request was sent once and not retried.\n`, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', [GUARD_HEADER]: mark, 'cache-control': 'no-store' },
  })
}
