'use client'
/**
 * The React side: hooks and the `<SkewGuard>` component. Everything that
 * touches the browser runs in effects, so rendering on the server (SSR) is a
 * plain render of `null`/children.
 *
 * What this module imports is the page's first-load JavaScript: what must work from the first
 * moment, or at the moment the page's own chunks fail to load after a deploy (the interceptor,
 * the reload policy, recording and saving edited fields, the missing-chunk watch). The rest of
 * the guard (restoring typed input, the version poller, the default banner) is deferred.ts,
 * loaded right after hydration; loader.ts says why then and not when needed.
 */
import { Fragment, createElement, useEffect, useRef, useState, useSyncExternalStore } from 'react'
import type { ReactElement, ReactNode } from 'react'
import { DEFAULT_HEALTH_PATH, VERSION_SKEW } from '../shared/protocol'
import { anything, buildIdCheck, fn, healthPathCheck, lenientOptions, millis, oneOf } from '../shared/options'
import { getClientBuildId } from './build-id'
import { confirmChunkSkew, watchChunkFailures } from './chunks'
import { browserPolicyEnv, inputDocument, saveBrowserInput, sessionStore } from './dom'
import { hasSavedInput, trackInput } from './edits'
import { DEFAULT_INTERVAL_MS, DEFAULT_MAX_BACKOFF_MS, fetchServerBuildId, healthUrl } from './health'
import { interceptActions } from './interceptor'
import { deferredModule, loadDeferred, type Deferred } from './loader'
import { ReloadPolicy } from './policy'
import { emitSkew, getLastSkew, onSkewEvent, registerPolicy } from './store'
import type { ReloadMode, SkewEvent } from './types'
import type { VersionCheckResult } from './version'
import { useVersionState } from './version-state'

// Kept importable from here, as before it moved to health.ts.
export { healthUrl } from './health'

/**
 * The latest skew event of this page (`null` until one is seen), re-rendering when a new one
 * arrives: for an app's own "a new version is available" banner. `null` during SSR.
 */
export function useSkewState(): SkewEvent | null {
  return useSyncExternalStore(onSkewEvent, getLastSkew, () => null)
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

/** The checks with their messages, for development builds (see {@link guardProps}). */
const guardChecks = () => ({
  buildId: buildIdCheck,
  healthPath: healthPathCheck,
  pollIntervalMs: millis(1_000),
  reload: oneOf(RELOAD_MODES),
  onSkew: fn,
  cooldownMs: millis(0),
  children: anything,
  fallback: anything,
})

const atLeast = (min: number) => (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value >= min

/** What each prop accepts: the same rules as {@link guardChecks}, without the messages. */
const VALID_PROPS: Record<string, (value: unknown) => boolean> = {
  buildId: (value) => value === null || typeof value === 'string',
  healthPath: (value) => value === false || (typeof value === 'string' && (value.startsWith('/') || /^https?:\/\//i.test(value))),
  pollIntervalMs: atLeast(1_000),
  reload: (value) => RELOAD_MODES.includes(value as ReloadMode),
  onSkew: (value) => typeof value === 'function',
  cooldownMs: atLeast(0),
  children: () => true,
  fallback: () => true,
}

/**
 * The props `<SkewGuard>` goes by: each invalid or unknown one left out, so its default applies
 * (a typo must not take the root layout down, nor a `NaN` interval poll in a loop). Development
 * builds also say why, once per problem, on the console. Production builds leave the messages
 * out: Next.js inlines `process.env.NODE_ENV`, the minifier drops the branch, and the messages
 * and their checks (about 1 KB of the page's first-load JavaScript) with it. Read unguarded, as
 * React itself reads it: wherever this component renders, it is defined.
 */
export function guardProps(props: unknown): SkewGuardProps {
  if (process.env.NODE_ENV !== 'production') return lenientOptions<SkewGuardProps>('<SkewGuard>', props, guardChecks())
  const kept: Record<string, unknown> = {}
  if (typeof props === 'object' && props !== null && !Array.isArray(props)) {
    for (const [key, value] of Object.entries(props)) {
      if (value !== undefined && Object.hasOwn(VALID_PROPS, key) && VALID_PROPS[key](value)) kept[key] = value
    }
  }
  return kept as SkewGuardProps
}

/** Default loop-protection window. */
export const DEFAULT_COOLDOWN_MS = 30_000

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
  const opts = guardProps(props)
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

  useEffect(() => interceptActions({ buildId, beforeDocumentLoad: saveBrowserInput }), [buildId])

  // The rest of the guard (deferred.ts), requested right after hydration rather than when it is
  // needed: see loader.ts. Until it arrives, the default banner is not rendered.
  const [deferred, setDeferred] = useState<Deferred | null>(deferredModule)
  useEffect(() => {
    let mounted = true
    loadDeferred().then(
      (module) => {
        if (mounted) setDeferred(module)
      },
      () => {},
    )
    return () => {
      mounted = false
    }
  }, [])

  // What the user types is tracked from the start, and put back after the guard's own reload
  // (the restoring code is loaded first, which only such a page waits for).
  useEffect(() => {
    const stop = trackInput(inputDocument())
    let mounted = true
    let cancel = () => {}
    if (hasSavedInput(sessionStore())) {
      loadDeferred().then(
        (module) => {
          if (mounted) cancel = module.restoreSavedInput()
        },
        () => {},
      )
    }
    return () => {
      mounted = false
      cancel()
      stop()
    }
  }, [])

  const healthPath = opts.healthPath === undefined ? DEFAULT_HEALTH_PATH : opts.healthPath
  useEffect(() => watchMissingChunks(buildId, healthPath), [buildId, healthPath])

  // The first check comes one interval after the poller starts, so starting it once deferred.ts
  // has loaded changes nothing the page can see.
  const version = useVersionState(buildId, healthPath, opts.pollIntervalMs ?? DEFAULT_INTERVAL_MS, DEFAULT_MAX_BACKOFF_MS, deferredChecker)
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
        ? deferred && createElement(deferred.SkewGuardBanner, { skew, reload })
        : typeof fallback === 'function'
          ? fallback({ skew, version, reload })
          : fallback
  if ((content === undefined || content === null) && banner === null) return null
  return createElement(Fragment, null, content, banner)
}

const deferredChecker = () => loadDeferred().then((module) => module.VersionChecker)
