// Headless Chromium (the system's, never a Playwright download) and a tab wrapper that records
// what the tests assert on: document loads (reloads), Server Action responses and health checks.
import { createRequire } from 'node:module'

import { waitFor } from './server.mjs'
import { CHROMIUM, ROOT } from './setup.mjs'

const require = createRequire(`${ROOT}/package.json`)

/**
 * Launches the system Chromium through playwright-core (a devDependency of the repo). `options`
 * go to `chromium.launch` (the demo handles Ctrl-C itself: `handleSIGINT: false`).
 */
export async function launchChromium(executablePath = CHROMIUM, options = {}) {
  const { chromium } = require('playwright-core')
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update'],
    ...options,
  })
}

/**
 * Opens `url` in a fresh context (its own sessionStorage, so its own reload cooldown) and records:
 * - `loads`: documents loaded in the main frame (a full load or reload counts, client-side
 *   navigations do not), counted by the `load` event and cross-checked by a sessionStorage counter
 *   an init script bumps on every new document;
 * - `actions`: every Server Action response (`next-action` requests): status, `x-skew-guard`,
 *   `x-build-id`, and the `x-skew-guard-build` the page sent;
 * - `health`: every `/api/health` response status.
 * With `guard: false` (the demo's plain Next.js build) hydration alone is awaited: no <SkewGuard>.
 * `ready`: the element whose hydration means the page is ready (default the example page's `#read-note`).
 */
export async function openTab(browser, url, { javaScriptEnabled = true, clock = false, guard = true, ready = '#read-note' } = {}) {
  const context = await browser.newContext({ javaScriptEnabled })
  await context.addInitScript(() => {
    const key = 'e2e:documents'
    sessionStorage.setItem(key, String(Number(sessionStorage.getItem(key) ?? '0') + 1))
  })
  const page = await context.newPage()
  if (clock) await page.clock.install()
  const tab = { context, page, loads: 0, actions: [], health: [], errors: [] }
  page.on('load', () => {
    tab.loads++
  })
  page.on('pageerror', (error) => tab.errors.push(error.message))
  page.on('response', (response) => {
    const request = response.request()
    const headers = request.headers()
    if (headers['next-action']) {
      tab.actions.push({
        actionId: headers['next-action'],
        sentBuild: headers['x-skew-guard-build'] ?? null,
        status: response.status(),
        guard: response.headers()['x-skew-guard'] ?? null,
        serverBuild: response.headers()['x-build-id'] ?? null,
      })
    } else if (new URL(response.url()).pathname === '/api/health') {
      tab.health.push(response.status())
    }
  })
  const response = await page.goto(url, { waitUntil: 'load' })
  if (response?.status() !== 200) throw new Error(`GET ${url} answered ${response?.status()}`)
  if (javaScriptEnabled) await waitHydrated(page, ready, { guard })
  tab.close = () => context.close()
  return tab
}

/**
 * Waits until React has hydrated the action buttons (a click before that would do nothing) and the
 * client guard's effects have run: `<SkewGuard>` wraps `window.fetch` to watch action calls, so a
 * `fetch` that is no longer the native one means the guard is watching. `guard: false`: a page
 * without <SkewGuard> (hydration only).
 */
export async function waitHydrated(page, selector = '#read-note', { guard = true } = {}) {
  await page
    .waitForFunction(
      ([sel, withGuard]) => {
        const el = document.querySelector(sel)
        const hydrated = el !== null && Object.keys(el).some((k) => k.startsWith('__reactProps'))
        return hydrated && (!withGuard || !/\[native code\]/.test(Function.prototype.toString.call(window.fetch)))
      },
      [selector, guard],
      { timeout: 20_000 },
    )
    .catch((error) => {
      throw new Error(
        guard
          ? `the page did not hydrate with an active <SkewGuard> (window.fetch not wrapped): ${error.message}`
          : `the page did not hydrate: ${error.message}`,
      )
    })
}

/** The text of `selector` once `predicate(text)` holds; fails with the last text seen. */
export async function textWhen(page, selector, predicate, what, timeoutMs = 15_000) {
  let last = null
  try {
    return await waitFor(
      async () => {
        last = await page
          .locator(selector)
          .textContent({ timeout: 1_000 })
          .catch(() => null)
        return last !== null && predicate(last) ? last : false
      },
      what,
      { timeoutMs, everyMs: 100 },
    )
  } catch (error) {
    throw new Error(`${error.message}; ${selector} last read ${JSON.stringify(last)}`)
  }
}

/** Document loads according to the page itself (the init script's sessionStorage counter). */
export async function documentsSeen(page) {
  return page.evaluate(() => Number(sessionStorage.getItem('e2e:documents')))
}

/** How the current document was loaded: 'navigate' | 'reload' | 'back_forward'. */
export async function navigationType(page) {
  return page.evaluate(() => performance.getEntriesByType('navigation')[0]?.type ?? null)
}

/**
 * Uses every action of a v1 page the way a user would (both buttons, the inline closure, the form
 * with JavaScript) and waits for each answer; ends hydrated on the form's redirected page.
 */
export async function useEveryActionOfV1(page) {
  await page.click('#say-hello')
  await textWhen(page, '#say-hello-result', (s) => s === 'Hello, Ada!', 'greet to answer')
  await page.click('#shout')
  await textWhen(page, '#shout-result', (s) => s === 'hello!', 'shout to answer')
  const note = await page.locator('#page-note').textContent()
  await page.click('#read-note')
  await textWhen(page, '#read-note-result', (s) => s === `the server sealed "${note}"`, 'the closure to answer')
  await page.fill('#note-input', 'with JS')
  await page.click('#note-submit')
  await textWhen(page, '#saved-note', (s) => s === 'with JS', 'the form action to redirect')
  await waitHydrated(page)
}
