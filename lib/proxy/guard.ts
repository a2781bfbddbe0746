/**
 * The proxy/middleware guard, independent of the runtime: `index.ts` binds it
 * to the Node runtime (native core, build files on disk), `edge.ts` to Edge
 * (WebCrypto, values inlined at build). What a request calls is read by
 * `request.ts` (Next.js's wire format); this file decides the verdict.
 *
 * Cost model (docs/performance.md): a request that is no Server Action costs a
 * few header reads; an action's ID and build checks read headers only; only
 * inline closures (per the manifest) and no-JS form posts read the body, once,
 * from Next.js's own copy for the proxy where there is one.
 */

import { NextResponse } from 'next/server'

// Types only: this module also runs on Edge, where build-info's `node:fs` does not exist.
import type { ActionEntry, ActionManifest } from '../server/build-info'
import { recordConfigError, recordSkew, setSkewLogging, type SkewKind } from '../server/events'
import {
  SkewGuardOptionError,
  bool,
  checkOptions,
  describe,
  either,
  fn,
  integer,
  literal,
  matching,
  millis,
  nonEmptyString,
  oneOf,
  type Check,
} from '../shared/options'
import {
  ACTION_ID_PATTERN,
  BUILD_ID_HEADER,
  CLIENT_BUILD_HEADER,
  DEFAULT_HEALTH_PATH,
  DEPLOYMENT_COOKIE,
  GUARD_HEADER,
  NOT_FOUND_HEADER,
  REFUSAL_TEXT,
  REFUSED_STATUS,
  type GuardVerdict,
  type HealthBody,
} from '../shared/protocol'
// Types only: forwarding is Node-only (node:http); the Node entry hands it in through the runtime.
import type { ForwardOptions, Forwarder } from './forward'
import { findActionCall, isProxyRequest, type ActionCall, type BodyReading } from './request'

/**
 * The part of a keyring the guard uses (both core entries' `Keyring` fit). `verifySync`, where a
 * keyring has it (the Node entry's), is used for small payloads: a thread-pool round trip costs
 * more than the check itself.
 */
export interface GuardKeyring {
  verify(payload: string, actionId: string): Promise<{ status: string }>
  verifySync?(payload: string, actionId: string): { status: string }
}

/** What to do when a page from another build calls an action whose ID this build also has. */
export type StalePolicy = 'reload-after' | 'reject'

/** Options of {@link skewGuard}. */
export interface SkewGuardOptions<R extends Request = Request, E = unknown> {
  /** Your own proxy/middleware, run after the guard lets a request through. Its response is stamped too. */
  next?: (request: R, event: E) => Response | null | undefined | void | Promise<Response | null | undefined | void>
  /** Path of the health endpoint (GET and HEAD), or `false` to leave that path to your app. Default `/api/health`. */
  healthPath?: string | false
  /** `'reload-after'` (default): let the action run and tell the page to reload; `'reject'`: refuse it (409). */
  policy?: StalePolicy
  /**
   * Most body bytes read to find action IDs and closure payloads; bodies declared larger, or
   * without a `content-length`, pass unchecked. Default 1 MiB. Only inline closures' calls and
   * no-JS form posts are read at all.
   */
  maxBodyBytes?: number
  /** Keyring for closure payloads; default `Keyring.fromEnv()`; `false` turns payload checks off. */
  keyring?: GuardKeyring | false
  /** The server's build identity; default from the build (`SKEW_GUARD_BUILD_ID` / `.next/BUILD_ID`). */
  buildId?: string
  /** Deployment ID to report on the health endpoint and in the deployment cookie. Default `NEXT_DEPLOYMENT_ID` (set by `withSkewGuard`). */
  deploymentId?: string
  /**
   * Set `__vdpl=<deploymentId>` (HttpOnly, SameSite=Lax) on document responses, so a version-routing
   * proxy can send the page's no-JS form posts back to the deployment that served it. Only GET
   * requests for a document (`Sec-Fetch-Dest: document`) get it: assets and data requests never
   * overwrite the pin. Off by default, because any `Set-Cookie` makes documents uncacheable for
   * CDNs; also on when `SKEW_GUARD_DEPLOYMENT_COOKIE=1` at runtime.
   */
  deploymentCookie?: boolean
  /**
   * Log one line per kind of skew the guard sees (at most one per kind a minute, with a count).
   * Default true; `false` (or `SKEW_GUARD_LOG=off`) silences them. Counters and `onSkew` are unaffected.
   */
  log?: boolean
  /**
   * Read action bodies from a clone of the request. By default the guard reads the request Next.js
   * hands the proxy directly: its body is Next.js's copy for the proxy, and the action gets its
   * own. With a `next` proxy the guard always reads a clone, so `next` gets an unread request. Set
   * `true` if your code calls the guard itself and reads the request's body afterwards.
   */
  cloneBody?: boolean
  /**
   * In-app forwarding, for hosts whose reverse proxy cannot route by deployment (Node runtime
   * only): a request that belongs to a deployment the registry retains (by `x-deployment-id`,
   * `?dpl=`, an action ID only it knows, or the `__vdpl` cookie of a form post) is sent to that
   * deployment's `next start`, once; everything else is this app's. `true` reads the registry
   * from `SKEW_GUARD_DEPLOYMENTS`; also on when `SKEW_GUARD_FORWARD=1` at runtime. The matcher
   * must let those requests reach the proxy (docs/routing.md, "Forwarding from the app").
   */
  forward?: boolean | ForwardOptions
}

const DEFAULT_MAX_BODY = 1024 * 1024
const MAX_CLIENT_BUILD_ID = 1024

/** Runtime services the guard needs. */
export interface GuardRuntime {
  /** False under `next dev`: the guard then only answers the health endpoint. */
  isProduction(): boolean
  readBuildId(): string | null
  /** The action manifest, or null where it cannot be read (the unknown-ID check is then off). */
  readManifest(): ActionManifest | null
  /** The keyring from the environment, or null (errors already reported). */
  keyringFromEnv(): GuardKeyring | null
  compareBuildIds(client: string | null, server: string | null): 'same' | 'different' | 'unknown'
  /** In-app forwarding; absent where the runtime cannot open connections itself (Edge). */
  createForwarder?(options: ForwardOptions): Forwarder
}

const FORWARD_CHECKS: Record<keyof ForwardOptions, Check> = {
  registry: nonEmptyString,
  self: nonEmptyString,
  timeoutMs: millis(1),
  connectTimeoutMs: millis(1),
}

const OPTION_CHECKS: Record<keyof SkewGuardOptions, Check> = {
  next: fn,
  healthPath: either(literal(false), matching(/^\//, 'a path starting with "/", or false')),
  policy: oneOf(['reload-after', 'reject']),
  maxBodyBytes: integer(0),
  keyring: either(literal(false), (where, name, value) => {
    if (typeof (value as GuardKeyring | null)?.verify !== 'function') {
      throw new SkewGuardOptionError(
        'ERR_INVALID_ARG_TYPE',
        `${where}: "${name}" must be a Keyring from next-skew-guard, or false; received ${describe(value)}.`,
      )
    }
  }),
  buildId: nonEmptyString,
  deploymentId: nonEmptyString,
  deploymentCookie: bool,
  log: bool,
  cloneBody: bool,
  forward: (where, name, value) => {
    if (typeof value === 'boolean') return
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new SkewGuardOptionError(
        'ERR_INVALID_ARG_TYPE',
        `${where}: "${name}" must be true, false or { registry, self, timeoutMs, connectTimeoutMs }; received ${describe(value)}.`,
      )
    }
    checkOptions(`${where}: "${name}"`, value, FORWARD_CHECKS)
  },
}

/** Payloads up to this length are verified synchronously (≈ 12 µs at most); longer ones off-thread. */
const SYNC_VERIFY_MAX_CHARS = 16 * 1024

/** Keyrings whose `verifySync` is unavailable (the Edge entry's): asked asynchronously from then on. */
const asyncOnly = new WeakSet<GuardKeyring>()

/** `keyring.verifySync` for small payloads where the keyring has it, else `keyring.verify`. */
function verifyPayload(keyring: GuardKeyring, payload: string, actionId: string): { status: string } | Promise<{ status: string }> {
  if (typeof keyring.verifySync === 'function' && payload.length <= SYNC_VERIFY_MAX_CHARS && !asyncOnly.has(keyring)) {
    try {
      return keyring.verifySync(payload, actionId)
    } catch (e) {
      if ((e as { code?: unknown })?.code !== 'ERR_SYNC_UNAVAILABLE') throw e
      asyncOnly.add(keyring)
    }
  }
  return keyring.verify(payload, actionId)
}

type Refusal = Exclude<GuardVerdict, 'reload' | 'unknown-key'>

const MESSAGES: Record<Refusal, string> = {
  'unknown-action': 'This page is from an older or newer deployment: the server does not know this action.',
  'stale-build': 'This page is from another deployment; the action was not run.',
  'key-rotated': 'This page predates a key rotation; the action was not run.',
}

function refuse(verdict: Refusal, call: ActionCall, buildId: string | null): Response {
  const headers = new Headers({
    [NOT_FOUND_HEADER]: '1',
    [GUARD_HEADER]: verdict,
    'cache-control': 'no-store',
  })
  if (buildId) headers.set(BUILD_ID_HEADER, buildId)
  if (call.form) {
    headers.set('content-type', 'text/html; charset=utf-8')
    const html =
      '<!doctype html><meta charset="utf-8"><meta name="robots" content="noindex"><title>Page updated</title>' +
      `<p>${MESSAGES[verdict]} Your submission was not processed.</p>` +
      '<p><a href="">Reload the page</a> and try again.</p>'
    return new Response(html, { status: REFUSED_STATUS, headers })
  }
  // The not-found header decides what Next.js 15.4.1+ clients throw; the text is for people
  // reading the network panel and for clients older than that header.
  headers.set('content-type', 'text/plain')
  return new Response(`${REFUSAL_TEXT} ${MESSAGES[verdict]} Reload the page.`, { status: REFUSED_STATUS, headers })
}

function health(buildId: string | null, deploymentId: string | null, method: string): Response {
  const body: HealthBody = { status: 'ok', buildId, deploymentId }
  const headers = new Headers({ 'content-type': 'application/json', 'cache-control': 'no-store' })
  if (buildId) headers.set(BUILD_ID_HEADER, buildId)
  return new Response(method === 'HEAD' ? null : JSON.stringify(body), { status: 200, headers })
}

/** Stamps a passed-on response: the build identity, the verdict, the deployment pin. */
function stamp(response: Response, buildId: string | null, verdict: GuardVerdict | null, cookie: string | null): void {
  if (buildId) response.headers.set(BUILD_ID_HEADER, buildId)
  if (verdict) response.headers.set(GUARD_HEADER, verdict)
  if (cookie) response.headers.append('set-cookie', cookie)
}

/** Builds the guard over one runtime. */
export function createSkewGuard(runtime: GuardRuntime) {
  return function skewGuard<R extends Request = Request, E = unknown>(
    options?: SkewGuardOptions<R, E>,
  ): (request: R, event: E) => Promise<Response> {
    const o = checkOptions<SkewGuardOptions<R, E>>('skewGuard', options, OPTION_CHECKS)
    const healthPath = o.healthPath === undefined ? DEFAULT_HEALTH_PATH : o.healthPath
    const policy = o.policy ?? 'reload-after'
    const maxBodyBytes = o.maxBodyBytes ?? DEFAULT_MAX_BODY
    let keyring: GuardKeyring | null | undefined = o.keyring === false ? null : o.keyring
    // A build identity, once found, is final for this server (a build cannot change under it);
    // while none is found (no build yet) it is looked up again on the next request.
    let knownBuildId: string | null = o.buildId ?? null
    const buildId = () => (knownBuildId ??= runtime.readBuildId())
    // Next.js's copy of the body is the proxy's own unless a `next` proxy may want it too.
    const ownBody = !o.next && o.cloneBody !== true
    const reading = (request: Request): BodyReading => ({ maxBodyBytes, ownBody: ownBody && isProxyRequest(request) })
    // Next.js inlines an unset NEXT_DEPLOYMENT_ID as `false`: only a non-empty string counts.
    const deploymentId = (): string | null => {
      const id = o.deploymentId ?? process.env.NEXT_DEPLOYMENT_ID
      return typeof id === 'string' && id ? id : null
    }
    if (o.log === false) setSkewLogging(false)
    // `next start` and `next dev` do not change into each other: decided once per guard.
    const production = runtime.isProduction()
    const forwarding = o.forward === undefined ? process.env.SKEW_GUARD_FORWARD === '1' : o.forward !== false
    if (forwarding && o.forward !== undefined && !runtime.createForwarder) {
      throw new SkewGuardOptionError(
        'ERR_INVALID_ARG_VALUE',
        'skewGuard: "forward" needs the Node runtime (proxy.ts on Next.js 16, or middleware.ts with `runtime: \'nodejs\'` on 15.5+); Edge middleware cannot open connections to other deployments.',
      )
    }
    // Created on the first request: the registry is a runtime setting, absent while `next build` loads this module.
    let forwarder: Forwarder | null | undefined = forwarding && production ? undefined : null
    function forwarderNow(): Forwarder | null {
      if (forwarder !== undefined) return forwarder
      forwarder = null
      if (!runtime.createForwarder) {
        recordConfigError('ERR_FORWARD_REGISTRY', 'SKEW_GUARD_FORWARD=1 has no effect on the Edge runtime: nothing is forwarded.', 'warn')
        return forwarder
      }
      try {
        forwarder = runtime.createForwarder({ self: deploymentId() ?? undefined, ...(typeof o.forward === 'object' ? o.forward : {}) })
      } catch (e) {
        recordConfigError('ERR_FORWARD_REGISTRY', (e as Error).message)
      }
      return forwarder
    }

    /** The deployment pin for a document response, or null. */
    function cookieFor(request: Request): string | null {
      if (request.method !== 'GET' || request.headers.get('sec-fetch-dest') !== 'document') return null
      if (!(o.deploymentCookie ?? process.env.SKEW_GUARD_DEPLOYMENT_COOKIE === '1')) return null
      const id = deploymentId()
      if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return null
      const secure = new URL(request.url).protocol === 'https:' || request.headers.get('x-forwarded-proto') === 'https'
      return `${DEPLOYMENT_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
    }

    async function check(call: ActionCall, request: Request, serverBuildId: string | null): Promise<GuardVerdict | null> {
      // An over-long (attacker-made) identity is no identity: unknown, never an error.
      const sent = request.headers.get(CLIENT_BUILD_HEADER)
      const clientBuildId = sent && utf8Length(sent) <= MAX_CLIENT_BUILD_ID ? sent : null
      const event = (kind: SkewKind) =>
        recordSkew({
          kind,
          actionId: call.id,
          ...(clientBuildId ? { clientBuildId } : {}),
          serverBuildId,
          source: 'proxy',
        })
      const manifest = runtime.readManifest()
      if (!ACTION_ID_PATTERN.test(call.id) || (manifest && !manifest.actions.has(call.id))) {
        event('unknown-action')
        return 'unknown-action'
      }
      let verdict: GuardVerdict | null = null
      if (runtime.compareBuildIds(clientBuildId, serverBuildId) === 'different') {
        event('stale-build')
        if (policy === 'reject') return 'stale-build'
        verdict = 'reload'
      }
      // Only inline closures carry sealed bound args, so only their calls are read; without a
      // manifest (Edge functions hosted elsewhere) every call that carries a payload is checked.
      if (!manifest || sealedActions(manifest).has(call.id)) {
        if (keyring === undefined) keyring = runtime.keyringFromEnv()
        const payload = keyring ? await call.payload() : undefined
        if (keyring && payload) {
          const { status } = await verifyPayload(keyring, payload, call.id)
          if (status === 'previous-key') {
            event('key-rotated')
            return 'key-rotated'
          }
          // Not ours to refuse: Next.js rejects it. A key this server never had is what a page
          // sealed before the key changed carries (or a forgery): mark Next.js's answer so the page
          // can recover. A payload for another action is no page's doing: recorded, not marked.
          if (status === 'unknown-key' || status === 'wrong-action') event('unknown-key')
          if (status === 'unknown-key') return 'unknown-key'
        }
      }
      return verdict
    }

    // With `trailingSlash: true` Next.js redirects the poll to `<path>/` before the proxy runs.
    const healthPaths = healthPath ? [healthPath, `${healthPath}/`] : []

    return async function guard(request: R, ev: E): Promise<Response> {
      const serverBuildId = buildId()
      const method = request.method
      if ((method === 'GET' || method === 'HEAD') && healthPaths.length) {
        // NextRequest's pathname leaves out basePath, which the client guard adds.
        const pathname = (request as { nextUrl?: { pathname?: string } }).nextUrl?.pathname ?? new URL(request.url).pathname
        if (healthPaths.includes(pathname)) return health(serverBuildId, deploymentId(), method)
      }
      if (forwarder !== null) {
        // A request of a retained deployment is that deployment's to check and answer.
        const forwarded = await forwarderNow()?.(request)
        if (forwarded) return forwarded
      }
      let verdict: GuardVerdict | null = null
      try {
        // Under `next dev` action IDs and builds change with every edit: no checks there.
        const call = production ? await findActionCall(request, reading(request)) : undefined
        if (call) verdict = await check(call, request, serverBuildId)
        if (call && verdict && verdict !== 'reload' && verdict !== 'unknown-key') return refuse(verdict, call, serverBuildId)
      } catch (e) {
        // The guard's own failure must never block the app.
        recordConfigError('ERR_GUARD', `the guard failed on a request and let it through: ${(e as Error)?.message ?? e}`)
      }
      let response = (o.next ? await o.next(request, ev) : null) ?? NextResponse.next()
      const cookie = method === 'GET' ? cookieFor(request) : null
      try {
        stamp(response, serverBuildId, verdict, cookie)
      } catch {
        // Responses like Response.redirect() have immutable headers: stamp a copy.
        response = new Response(response.body, response)
        stamp(response, serverBuildId, verdict, cookie)
      }
      return response
    }
  }
}

const encoder = new TextEncoder()

/** Length in UTF-8 bytes, the unit compareBuildIds caps identities in (every char is at most 3 bytes). */
function utf8Length(text: string): number {
  return text.length * 3 <= MAX_CLIENT_BUILD_ID ? text.length : encoder.encode(text).length
}

/** Whether a manifest entry is an inline closure (which carries encrypted bound args). */
function isInlineAction(entry: ActionEntry): boolean {
  return !!entry.exportedName && /^\$\$(RSC_SERVER_)?ACTION_\d+$/.test(entry.exportedName)
}

const sealedByManifest = new WeakMap<ActionManifest, ReadonlySet<string>>()

/**
 * The IDs whose calls may carry a sealed payload: the manifest's inline closures, worked out once
 * per manifest. Next.js 14 manifests have no export names, so there every action counts.
 */
function sealedActions(manifest: ActionManifest): ReadonlySet<string> {
  let ids = sealedByManifest.get(manifest)
  if (!ids) {
    const entries = [...manifest.actions]
    const named = entries.some(([, entry]) => entry.exportedName)
    ids = new Set(entries.filter(([, entry]) => !named || isInlineAction(entry)).map(([id]) => id))
    sealedByManifest.set(manifest, ids)
  }
  return ids
}
