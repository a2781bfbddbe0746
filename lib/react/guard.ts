'use client'
/**
 * The React side: hooks and the `<SkewGuard>` component. Everything that
 * touches the browser runs in effects, so rendering on the server (SSR) is a
 * plain render of `null`/children.
 */
import { Fragment, createElement, useEffect, useRef, useState, useSyncExternalStore } from 'react'
import type { ReactElement, ReactNode } from 'react'
import { DEFAULT_HEALTH_PATH, VERSION_SKEW } from '../shared/protocol'
import { SkewGuardBanner } from './banner'
import { getClientBuildId } from './build-id'
import { confirmChunkSkew, watchChunkFailures } from './chunks'
import { browserPolicyEnv, currentPage, inputDocument, isDocumentVisible, onVisibilityChange, saveBrowserInput, sessionStore } from './dom'
import { anything, buildIdCheck, checkOptions, fn, healthPathCheck, lenientOptions, millis, oneOf } from '../shared/options'
import { domWriter, restoreFields, takeSnapshot, trackInput } from './input'
import { installActionInterceptor } from './interceptor'
import { ReloadPolicy } from './policy'
import { emitSkew, getLastSkew, registerPolicy, subscribeToSkew } from './store'
import type { ReloadMode, SkewEvent } from './types'
import { DEFAULT_INTERVAL_MS, DEFAULT_MAX_BACKOFF_MS, VersionChecker, fetchServerBuildId, type VersionCheckResult } from './version'

/** Options of {@link useVersionCheck}. */
export interface VersionCheckOptions {
  /** The page's build ID; default `getClientBuildId()`. Without one nothing can be compared, so nothing is polled. */
  buildId?: string | null
  /** Health endpoint (`GET`, JSON `{ status, buildId, deploymentId }`); default `/api/health`; `false` disables polling. */
  healthPath?: string | false
  /** Time between checks while the tab is visible; default 60 000 ms, at least 1 000. */
  intervalMs?: number
  /** Ceiling of the exponential backoff after failed checks; default 600 000 ms (10 min). */
  maxBackoffMs?: number
}

const VERSION_CHECKS = {
  buildId: buildIdCheck,
  healthPath: healthPathCheck,
  intervalMs: millis(1_000),
  maxBackoffMs: millis(1_000),
}

/**
 * The health path as the app's other requests go: Next.js inlines the app's `basePath` into client
 * bundles as `process.env.__NEXT_ROUTER_BASEPATH`, and `trailingSlash: true` as
 * `process.env.__NEXT_TRAILING_SLASH` (without the slash, Next.js would answer the poll with a
 * redirect first).
 */
export function healthUrl(healthPath: string, base = inlinedBasePath(), trailingSlash = inlinedTrailingSlash()): string {
  if (!healthPath.startsWith('/')) return healthPath
  let path = base && !healthPath.startsWith(`${base}/`) ? `${base}${healthPath}` : healthPath
  if (trailingSlash && !path.endsWith('/')) path += '/'
  return path
}

function inlinedBasePath(): string {
  try {
    // Written out literally so the bundler can inline it; `process` may not exist otherwise.
    return process.env.__NEXT_ROUTER_BASEPATH || ''
  } catch {
    return ''
  }
}

function inlinedTrailingSlash(): boolean {
  try {
    return String(process.env.__NEXT_TRAILING_SLASH) === 'true'
  } catch {
    return false
  }
}

/**
 * Polls the health endpoint to learn which build the server runs, and compares it with the page's
 * build. Polls only while the tab is visible (every `intervalMs`, ±20 % jitter, exponential backoff
 * after errors up to `maxBackoffMs`), checks once when the tab becomes visible again, and stops on
 * unmount. A server build that differs from the page's is published as a `build-mismatch` skew
 * event (`actionRan: false`), once per server build. Renders the same on the server and the
 * client (`status: 'unknown'` until the first check), so hydration never mismatches.
 */
export function useVersionCheck(options: VersionCheckOptions = {}): VersionCheckResult {
  const opts = checkOptions<VersionCheckOptions>('useVersionCheck', options, VERSION_CHECKS)
  const clientBuildId = getClientBuildId(opts.buildId)
  const healthPath = opts.healthPath === undefined ? DEFAULT_HEALTH_PATH : opts.healthPath
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS
  const maxBackoffMs = opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS
  const [result, setResult] = useState<VersionCheckResult>({
    status: 'unknown',
    serverBuildId: null,
    clientBuildId,
    lastChecked: null,
  })

  useEffect(() => {
    if (healthPath === false || clientBuildId === null || typeof window === 'undefined') return
    const win = window
    const checker = new VersionChecker(
      {
        // Looked up per call, like Next.js does, so other fetch wrappers keep working.
        fetchBuildId: () => fetchServerBuildId((input, init) => win.fetch(input, init), healthUrl(healthPath)),
        isVisible: isDocumentVisible,
        setTimer: (callback, ms) => setTimeout(callback, ms),
        clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
        random: Math.random,
        now: Date.now,
      },
      { clientBuildId, intervalMs, maxBackoffMs, onResult: setResult, onSkew: emitSkew },
    )
    const off = onVisibilityChange(() => checker.visibilityChanged())
    checker.start()
    return () => {
      off()
      checker.stop()
    }
  }, [clientBuildId, healthPath, intervalMs, maxBackoffMs])

  return result.clientBuildId === clientBuildId ? result : { ...result, clientBuildId, status: 'unknown' }
}

/**
 * The latest skew event of this page (`null` until one is seen), re-rendering when a new one
 * arrives: for an app's own "a new version is available" banner. `null` during SSR.
 */
export function useSkewState(): SkewEvent | null {
  return useSyncExternalStore(subscribeToSkew, getLastSkew, () => null)
}

/** What `<SkewGuard>`'s render props receive. */
export interface SkewGuardRenderState {
  /** The latest skew event, or `null`. `skew.suppressed` means the page will not reload by itself. */
  skew: SkewEvent | null
  /** The version check's state. */
  version: VersionCheckResult
  /** Reloads now, keeping what the user typed (for a banner's button: a user's click is never loop-protected). */
  reload(): void
}

/** Props of {@link SkewGuard}. */
export interface SkewGuardProps {
  /** The page's build ID; default the inlined `NEXT_PUBLIC_SKEW_GUARD_BUILD_ID` (set by `withSkewGuard`). */
  buildId?: string | null
  /** Health endpoint to poll; default `/api/health`; `false` disables polling (action interception stays). */
  healthPath?: string | false
  /** Time between version checks while visible; default 60 000 ms, at least 1 000. */
  pollIntervalMs?: number
  /**
   * What to do on skew:
   * - `'safe'` (default): reload at a moment that loses nothing: at the next internal navigation (the
   *   link's href is loaded in full instead of client-side), when the tab becomes hidden, or at once
   *   when an action the user just triggered did not run and the tab is visible. The last two wait
   *   while the page holds unsaved input (a focused text field or an edited form field). A version
   *   check alone never reloads a visible page.
   * - `'eager'`: reload at once on any skew.
   * - `'manual'`: never reload; only `onSkew`, `useSkewState` and `fallback` learn about it.
   */
  reload?: ReloadMode
  /**
   * Called with every skew event before any reload. Return `false` to prevent the reload (and show
   * your own banner). A function prop: use `<SkewGuard>` from a client component to pass it.
   */
  onSkew?: (event: SkewEvent) => boolean | void
  /**
   * No automatic reload within this many ms of the previous one in this tab (recorded in
   * `sessionStorage` under `next-skew-guard:last-reload` before each reload), so a page that is
   * still skewed after reloading cannot loop. The withheld reload is reported with
   * `suppressed: true`. Default 30 000; 0 disables the protection.
   */
  cooldownMs?: number
  /** Rendered as is, or called with the guard's state (a render prop, from a client component). */
  children?: ReactNode | ((state: SkewGuardRenderState) => ReactNode)
  /**
   * Rendered after `children` once skew has been seen. Default: {@link SkewGuardBanner}, a small
   * notice with a Reload button. Pass your own element or a render prop receiving the state to
   * replace it, or `false` to show nothing (the guard still reloads by its `reload` rule).
   */
  fallback?: ReactNode | ((state: SkewGuardRenderState & { skew: SkewEvent }) => ReactNode)
}

const RELOAD_MODES: readonly ReloadMode[] = ['safe', 'eager', 'manual']

const GUARD_CHECKS = {
  buildId: buildIdCheck,
  healthPath: healthPathCheck,
  pollIntervalMs: millis(1_000),
  reload: oneOf(RELOAD_MODES),
  onSkew: fn,
  cooldownMs: millis(0),
  children: anything,
  fallback: anything,
}

/** Default loop-protection window. */
export const DEFAULT_COOLDOWN_MS = 30_000

/** Delays (ms after mount) at which saved fields that were not in the page yet are tried again. */
const RESTORE_RETRIES_MS = [50, 150, 400, 1_000, 2_500]

/**
 * Puts back what the user typed before the guard's last reload of this page (see input.ts),
 * retrying for fields that render late. Returns the canceller.
 */
function restoreSavedInput(): () => void {
  const doc = inputDocument()
  const snapshot = takeSnapshot(sessionStore(), currentPage(), Date.now())
  if (doc === null || snapshot === null) return () => {}
  const writer = domWriter()
  let missing = restoreFields(snapshot.fields, doc, writer)
  const timers = RESTORE_RETRIES_MS.map((ms) =>
    setTimeout(() => {
      if (missing.length > 0) missing = restoreFields(missing, doc, writer)
    }, ms),
  )
  return () => timers.forEach(clearTimeout)
}

let chunkSkewSeen = false

/**
 * Turns lazily loaded code that is gone from the server into a `missing-chunk` skew event, once
 * per page, after making sure it is skew (see chunks.ts).
 */
function watchMissingChunks(clientBuildId: string | null, healthPath: string | false): () => void {
  if (typeof window === 'undefined') return () => {}
  const win = window
  return watchChunkFailures(win, (failure) => {
    if (chunkSkewSeen) return
    chunkSkewSeen = true
    const probe = async (url: string) => (await win.fetch(url, { method: 'HEAD', cache: 'no-store', credentials: 'same-origin' })).status
    const serverBuild = async () =>
      healthPath === false ? null : fetchServerBuildId((input, init) => win.fetch(input, init), healthUrl(healthPath))
    void confirmChunkSkew(failure, win.location.href, clientBuildId, probe, serverBuild).then(
      (skew) => {
        if (!skew) {
          chunkSkewSeen = false
          return
        }
        emitSkew({
          type: VERSION_SKEW,
          kind: 'missing-chunk',
          source: 'chunk',
          actionId: null,
          clientBuildId,
          serverBuildId: null,
          actionRan: false,
          at: Date.now(),
        })
      },
      () => {
        chunkSkewSeen = false
      },
    )
  })
}

/**
 * Keeps a page working across redeploys. Put it once in the root layout:
 * `<SkewGuard />` (until skew is seen it renders nothing; then a small notice, see `fallback`). It watches Server Action responses (see
 * `installActionInterceptor`), polls the health endpoint (see `useVersionCheck`), catches lazily
 * loaded code that is gone from the server, and reloads the page by the `reload` rule when the
 * page and the server no longer belong to the same build, never twice within `cooldownMs`, and
 * keeping what the user typed. An invalid prop is reported once on the console and its default
 * used: a typo must not take the root layout down.
 */
export function SkewGuard(props: SkewGuardProps): ReactElement | null {
  const opts = lenientOptions<SkewGuardProps>('<SkewGuard>', props, GUARD_CHECKS)
  const buildId = getClientBuildId(opts.buildId)
  const mode = opts.reload ?? 'safe'
  const cooldownMs = opts.cooldownMs ?? DEFAULT_COOLDOWN_MS
  const onSkewRef = useRef(opts.onSkew)
  useEffect(() => {
    onSkewRef.current = opts.onSkew
  })

  // The policy first, so the interceptor never publishes before it is in place.
  useEffect(() => {
    const policy = new ReloadPolicy({
      mode,
      cooldownMs,
      onSkew: (event) => onSkewRef.current?.(event),
      env: browserPolicyEnv(),
    })
    const unregister = registerPolicy((event) => policy.handle(event))
    return () => {
      unregister()
      policy.dispose()
    }
  }, [mode, cooldownMs])

  useEffect(() => installActionInterceptor({ buildId, beforeDocumentLoad: saveBrowserInput }), [buildId])

  // What the user types is tracked from the start, and put back after the guard's own reload.
  useEffect(() => {
    const stop = trackInput(inputDocument())
    const cancel = restoreSavedInput()
    return () => {
      cancel()
      stop()
    }
  }, [])

  const healthPath = opts.healthPath === undefined ? DEFAULT_HEALTH_PATH : opts.healthPath
  useEffect(() => watchMissingChunks(buildId, healthPath), [buildId, healthPath])

  const version = useVersionCheck({ buildId, healthPath: opts.healthPath, intervalMs: opts.pollIntervalMs })
  const skew = useSkewState()
  const reload = () => {
    if (typeof window === 'undefined') return
    // The user asked for it: reload even if something cannot be saved, but keep what can be.
    saveBrowserInput()
    window.location.reload()
  }

  const { children, fallback } = opts
  const content = typeof children === 'function' ? children({ skew, version, reload }) : children
  const banner =
    skew === null || fallback === false || fallback === null
      ? null
      : fallback === undefined
        ? createElement(SkewGuardBanner, { skew, reload })
        : typeof fallback === 'function'
          ? fallback({ skew, version, reload })
          : fallback
  if ((content === undefined || content === null) && banner === null) return null
  return createElement(Fragment, null, content, banner)
}
