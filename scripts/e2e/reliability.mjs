// Shared by the no-skew suite (__test__/e2e-noskew.test.mjs) and the skew-recovery suite
// (__test__/e2e-recovery.test.mjs): the example's reliability/ overlay, a monorepo layout for the
// no-skew build, and what a tab shows (document loads, skew events, the crash screens, typed text).
//
// examples/next-app/reliability/ holds
//   app/**          pages over the example (copied over the work copy after the v1 sources): a root
//                   layout that logs every client skew event, /keep (every kind of field), /lazy
//                   (next/dynamic and import()), /revalidate, /closure, /upload, /calls pages
//                   (/gateway/<status>, /csrf, /errors), /links and /bad-prop;
//   v2/app/**       the next deploy of those pages (an action renamed, lazy and client components changed);
//   noskew/**       the no-skew build's next.config.mjs (basePath, trailingSlash, the commit as an
//                   untrimmed build ID), the app's own middleware and its composition with the guard.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

import { documentsSeen, openTab, textWhen, waitHydrated } from './browser.mjs'
import { step, progress } from './log.mjs'
import { EXAMPLE, MATRIX, childEnv, readActionIds, readActions, run } from './setup.mjs'

export const RELIABILITY = path.join(EXAMPLE, 'reliability')

/** What Next.js shows when the client app crashed: 14/15 (webpack) and 16. */
export const CRASH_SCREENS = /Application error: a client-side exception has occurred|This page couldn.t load/

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Copies reliability/app over the work copy (`stage: 'v2'` adds reliability/v2/app, after the
 * example's own v2 overlay has been applied by the caller). `noskew: true` also brings the no-skew
 * build's config and hooks: next.config.mjs, app-proxy.ts and, per Next.js version, proxy.ts (16)
 * or middleware.ts (14, 15.x).
 */
export function applyReliabilityOverlay(app, { stage = 'v1', noskew = false } = {}) {
  fs.cpSync(path.join(RELIABILITY, 'app'), path.join(app.dir, 'app'), { recursive: true, force: true })
  if (stage === 'v2') fs.cpSync(path.join(RELIABILITY, 'v2', 'app'), path.join(app.dir, 'app'), { recursive: true, force: true })
  if (!noskew) return
  const from = path.join(RELIABILITY, 'noskew')
  for (const file of ['next.config.mjs', 'app-proxy.ts']) fs.copyFileSync(path.join(from, file), path.join(app.dir, file))
  const version = String(app.version ?? '16')
  if (MATRIX[version]?.overlay === false) {
    fs.copyFileSync(path.join(from, 'proxy.ts'), path.join(app.dir, 'proxy.ts'))
  } else {
    fs.rmSync(path.join(app.dir, 'proxy.ts'), { force: true })
    fs.copyFileSync(path.join(from, 'versions', version, 'middleware.ts'), path.join(app.dir, 'middleware.ts'))
  }
}

function git(root, args) {
  // Whatever the machine's git configuration says about signing and hooks: a plain commit.
  return execFileSync('git', ['-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...childEnv(),
      GIT_AUTHOR_NAME: 'e2e',
      GIT_AUTHOR_EMAIL: 'e2e@localhost',
      GIT_COMMITTER_NAME: 'e2e',
      GIT_COMMITTER_EMAIL: 'e2e@localhost',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/**
 * The work copy as one app of a monorepo: its parent directory is the repository root (git, one
 * new commit per run, whose hash the app's `generateBuildId` returns with git's newline), and that
 * root holds another app's build output (`.next/` with its own BUILD_ID and actions), as a root
 * where `next build` once ran does. `next build <dir>` / `next start <dir>` run from the root.
 * Returns `{ root, projectDir, commit, decoyBuildId }`.
 */
export function prepareMonorepo(app) {
  const root = path.dirname(app.dir)
  const projectDir = path.basename(app.dir)
  if (!fs.existsSync(path.join(root, '.git'))) git(root, ['init', '--quiet'])
  git(root, ['commit', '--quiet', '--allow-empty', '-m', `build ${new Date().toISOString()}`])
  const commit = git(root, ['rev-parse', 'HEAD']).trim()
  const decoy = path.join(root, '.next')
  const decoyBuildId = 'another-app-at-the-root'
  fs.rmSync(decoy, { recursive: true, force: true })
  fs.mkdirSync(path.join(decoy, 'server'), { recursive: true })
  fs.writeFileSync(path.join(decoy, 'BUILD_ID'), decoyBuildId)
  fs.writeFileSync(
    path.join(decoy, 'server', 'server-reference-manifest.json'),
    JSON.stringify({
      node: {
        ['7f'.padEnd(42, '0')]: { workers: { 'app/page': { moduleId: 1, async: false } }, filename: 'app/other.ts', exportedName: 'other' },
      },
      edge: {},
    }),
  )
  return { root, projectDir, commit, decoyBuildId }
}

/**
 * `next build <projectDir>` from the monorepo root, with the key and nothing else set: the app's
 * own `generateBuildId` (the commit) decides the build ID. Resolves like setup.mjs's `build()`.
 */
export async function buildInMonorepo(app, mono, { name, key }) {
  const env = childEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: key })
  const result = await step(`building ${name} (next build ${mono.projectDir}, from the monorepo root)`, () =>
    run(process.execPath, [app.nextBin, 'build', mono.projectDir], { cwd: mono.root, env, timeoutMs: 5 * 60_000 }),
  )
  fs.writeFileSync(path.join(app.logs, `build-${name}.log`), result.output)
  if (result.code !== 0) throw new Error(`next build of ${name} failed (exit ${result.code}):\n${result.output.slice(-8000)}`)
  const distDir = '.next'
  const written = fs.readFileSync(path.join(app.dir, distDir, 'BUILD_ID'), 'utf8')
  if (written !== mono.commit) throw new Error(`${distDir}/BUILD_ID is ${JSON.stringify(written)}, expected the commit ${mono.commit}`)
  progress(`${name}: build ${mono.commit}`)
  return { ...result, distDir, buildId: mono.commit, actions: readActions(app, distDir), actionIds: readActionIds(app, distDir) }
}

/**
 * A tab (see browser.mjs `openTab`) that also records the health polls under any base path
 * (`tab.polls`: `{ url, status, buildId }`, redirects included) and the console's errors.
 */
export async function openPage(browser, url, { ready, clock = false, healthPath = '/api/health' } = {}) {
  const tab = await openTab(browser, url, { ready, clock })
  tab.polls = []
  tab.console = []
  tab.page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') tab.console.push(`${message.type()}: ${message.text()}`.slice(0, 300))
  })
  tab.page.on('response', async (response) => {
    const { pathname } = new URL(response.url())
    if (!pathname.replace(/\/$/, '').endsWith(healthPath)) return
    const entry = { url: pathname, status: response.status(), buildId: undefined }
    tab.polls.push(entry)
    if (response.status() === 200) {
      entry.buildId = await response
        .json()
        .then((body) => body?.buildId)
        .catch(() => undefined)
    }
  })
  tab.ready = ready
  return tab
}

/** Document loads the tab has seen (its sessionStorage counter; survives reloads). */
export async function documents(tab) {
  for (let i = 0; i < 50; i++) {
    const n = await documentsSeen(tab.page).catch(() => null)
    if (n !== null) return n
    await sleep(100)
  }
  throw new Error('could not read the document counter')
}

/** Every skew event the client guard published in this tab (the example's log; survives reloads). */
export async function skewEvents(tab) {
  for (let i = 0; i < 50; i++) {
    const events = await tab.page.evaluate(() => JSON.parse(sessionStorage.getItem('example:skew-events') ?? '[]')).catch(() => null)
    if (events !== null) return events
    await sleep(100)
  }
  throw new Error('could not read the skew event log')
}

/** The crash screen the page shows, or null. */
export async function crashScreen(page) {
  const text =
    (await page
      .locator('body')
      .innerText({ timeout: 2_000 })
      .catch(() => '')) ?? ''
  return CRASH_SCREENS.exec(text)?.[0] ?? null
}

/**
 * Waits until the tab is quiet: no new document for `quietMs` (a reload the guard does after an
 * answer, or after a chunk failed, comes within that time), the last document loaded and hydrated.
 */
export async function settle(tab, { quietMs = 1_200, timeoutMs = 30_000 } = {}) {
  const deadline = Date.now() + timeoutMs
  let last = null
  let since = Date.now()
  while (Date.now() < deadline) {
    const n = await documentsSeen(tab.page).catch(() => null)
    if (n === null || n !== last) {
      last = n
      since = Date.now()
    } else if (Date.now() - since >= quietMs) {
      break
    }
    await sleep(100)
  }
  await tab.page.waitForLoadState('load').catch(() => {})
  // A crash screen has nothing to hydrate.
  if (tab.ready && (await crashScreen(tab.page)) === null) await waitHydrated(tab.page, tab.ready).catch(() => {})
}

/** The text of each selector (null when absent), for assertions and failure messages. */
export async function texts(page, selectors) {
  const out = {}
  for (const selector of selectors) {
    out[selector] = (await page
      .locator(selector)
      .count()
      .catch(() => 0))
      ? await page
          .locator(selector)
          .first()
          .textContent({ timeout: 1_000 })
          .catch(() => null)
      : null
  }
  return out
}

/** `textWhen` for a tab: on timeout, the error says what the tab loaded, saw and showed. */
export async function waitShown(tab, selector, predicate, what, timeoutMs = 15_000) {
  try {
    return await textWhen(tab.page, selector, predicate, what, timeoutMs)
  } catch (error) {
    throw new Error(`${error.message}\n${await tabReport(tab, [selector])}`)
  }
}

/** Everything a failure message needs: where the tab is, what it loaded, saw, showed and logged. */
export async function tabReport(tab, selectors = []) {
  return JSON.stringify(
    {
      url: tab.page.url(),
      documents: await documentsSeen(tab.page).catch(() => null),
      loadEvents: tab.loads,
      skewEvents: await skewEvents(tab).catch(() => null),
      actions: tab.actions,
      polls: tab.polls,
      pageErrors: tab.errors,
      console: tab.console?.slice(-8),
      crashScreen: await crashScreen(tab.page),
      shown: await texts(tab.page, ['#doc-build', ...selectors]),
    },
    null,
    1,
  )
}

// ---------------------------------------------------------------------------------------------
// The keep form (app/keep): what the user types into each kind of field, and reading it back.

/** Field → the value typed into it. `notes` is the contenteditable. */
export const TYPED = {
  title: 'A controlled title',
  subtitle: 'An uncontrolled subtitle',
  body: 'First line\nsecond line',
  color: 'blue',
  notes: 'Notes in a contenteditable',
}

const FIELDS = Object.keys(TYPED)

/** The fields a `/keep/?fields=…` page shows. */
export function keepFields(fields) {
  return fields === 'all' ? FIELDS : fields.split(',')
}

/** Types {@link TYPED} into the fields as a user does (clicks, key presses, a select choice). */
export async function typeDraft(page, fields) {
  for (const name of keepFields(fields)) {
    const field = page.locator(`#keep-${name}`)
    if (name === 'color') {
      await field.selectOption(TYPED.color)
      continue
    }
    await field.click()
    await page.keyboard.type(TYPED[name])
  }
}

/** What each field holds now (null: the field is not on the page). */
export async function readDraft(page, fields) {
  const out = {}
  for (const name of keepFields(fields)) {
    const field = page.locator(`#keep-${name}`)
    if (!(await field.count())) {
      out[name] = null
      continue
    }
    out[name] = name === 'notes' ? await field.innerText({ timeout: 2_000 }) : await field.inputValue({ timeout: 2_000 })
  }
  return out
}

/** The subset of {@link TYPED} a page with `fields` holds. */
export function typedFor(fields) {
  return Object.fromEntries(keepFields(fields).map((name) => [name, TYPED[name]]))
}

/** The server's description of a stored draft (app/keep/draft.ts), for `fields`. */
export function describedDraft(fields) {
  return keepFields(fields)
    .map((name) => `${name}=${JSON.stringify(TYPED[name])}`)
    .join('; ')
}
