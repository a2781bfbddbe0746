// `npx next-skew-guard init` on freshly generated apps, end to end: for Next.js 16, 15.5 and 14
// (pins from scripts/next-versions.json), the test writes a new app as create-next-app leaves it
// (scripts/e2e/fresh-app.mjs: one layout per version — 16 TypeScript + src/ + an existing proxy.ts,
// 15.5 JavaScript + an existing middleware.js, 14 TypeScript without middleware), installs the
// tarballs `npm run pack` makes with `npm install`, runs the installed `next-skew-guard init`,
// builds with `next build`, serves with `next start` and runs `next-skew-guard doctor`. Nothing is
// copied or configured by hand: the key is the one init wrote to .env.local, which Next.js and
// doctor read themselves, and the build identity is the app's git commit.
//
// Then the renamed-action story in Chromium: tabs of v1 are open, v1 is stopped, v2 (the action
// `greet` renamed to `welcome`, committed) is built and started on the same port. The tab that
// clicks the old action gets 409 unknown-action, reloads once by itself with the typed text put
// back, and the action then works; a tab that only waits shows <SkewGuard />'s default banner
// after its health poll, without reloading, and its Reload button brings the new version.
//
// NSG_SKIP_E2E=1 skips the suite; NSG_INIT_VERSIONS=16,14 runs a subset. Needs dist/ and
// native/*.node (npm test builds both first), /usr/bin/chromium (installed with apt-get when
// missing), and npm registry access on the first run for a version no other suite has installed.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { documentsSeen, launchChromium, navigationType, openTab, textWhen, waitHydrated } from '../scripts/e2e/browser.mjs'
import { HOOK_HEADER, LAYOUTS, applyFreshV2, commitAll, hookHeaderValue, prepareFreshApp } from '../scripts/e2e/fresh-app.mjs'
import { progress, step } from '../scripts/e2e/log.mjs'
import { startServer, waitFor } from '../scripts/e2e/server.mjs'
import { childEnv, ensureChromium, readActionIds, run } from '../scripts/e2e/setup.mjs'
import { pack } from '../scripts/pack.mjs'

const SKIP = process.env.NSG_SKIP_E2E === '1' ? 'NSG_SKIP_E2E=1' : false
const ALL = ['16', '15.5', '14']
const VERSIONS = process.env.NSG_INIT_VERSIONS ? process.env.NSG_INIT_VERSIONS.split(',').map((v) => v.trim()) : ALL
for (const v of VERSIONS) if (!ALL.includes(v)) throw new Error(`NSG_INIT_VERSIONS: unknown version ${v} (known: ${ALL.join(', ')})`)
const MINUTE = 60_000
const KEY_LINE = /^NEXT_SERVER_ACTIONS_ENCRYPTION_KEY=([A-Za-z0-9+/]{43}=)$/m

const shared = { tarballs: null, packDir: null, browser: null }
const servers = new Set()
const tabs = new Set()

before(
  async () => {
    if (SKIP) return
    await ensureChromium()
    shared.packDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-init-pack-'))
    const { tarballs, native } = await step('packing next-skew-guard (npm run pack)', () =>
      pack({ out: shared.packDir, build: false, log: () => {} }),
    )
    if (!native) throw new Error('native/*.node is missing: run `npm run build:native` (npm test does) first')
    shared.tarballs = tarballs
  },
  { timeout: 5 * MINUTE },
)

after(async () => {
  for (const tab of tabs) await tab.close().catch(() => {})
  await shared.browser?.close().catch(() => {})
  await Promise.all([...servers].map((s) => s.stop().catch(() => {})))
  if (shared.packDir) fs.rmSync(shared.packDir, { recursive: true, force: true })
})

/**
 * The environment of every command in the app: ours without anything that would decide for the
 * app (childEnv drops NEXT_*, SKEW_GUARD_*), and without the CI commit variables, so the build
 * identity comes from the app's own git repository. No key: Next.js and doctor read .env.local.
 */
function appEnv() {
  const env = childEnv()
  for (const name of ['GIT_COMMIT', 'SOURCE_COMMIT', 'GITHUB_SHA', 'CI_COMMIT_SHA', 'VERCEL_GIT_COMMIT_SHA', 'GIT_DIR', 'GIT_WORK_TREE'])
    delete env[name]
  return env
}

/** Runs the installed CLI (node_modules/.bin/next-skew-guard) in the app; its output goes to the logs too. */
async function cli(app, args, logName) {
  const bin = path.join(app.dir, 'node_modules', '.bin', 'next-skew-guard')
  const result = await run(bin, args, { cwd: app.dir, env: appEnv(), timeoutMs: 2 * MINUTE })
  fs.writeFileSync(path.join(app.logs, `${logName}.log`), result.output)
  return result
}

/** `next build` in the app; returns the BUILD_ID it wrote. */
async function nextBuild(app, name) {
  const result = await step(`${app.version}: next build (${name})`, () =>
    run(process.execPath, [app.nextBin, 'build'], { cwd: app.dir, env: appEnv(), timeoutMs: 6 * MINUTE }),
  )
  fs.writeFileSync(path.join(app.logs, `build-${name}.log`), result.output)
  assert.equal(result.code, 0, `next build (${name}) failed:\n${result.output.slice(-6000)}`)
  const buildId = fs.readFileSync(path.join(app.dir, '.next', 'BUILD_ID'), 'utf8').trim()
  progress(`${app.version}: build ${name} is ${buildId}`)
  return { distDir: '.next', buildId, name }
}

async function serve(app, build, port) {
  const server = await startServer({ app, build, label: `init ${app.version} ${build.name}`, port, env: appEnv() })
  servers.add(server)
  return server
}

async function stop(server) {
  await server.stop()
  servers.delete(server)
}

async function tab(url, options = {}) {
  shared.browser ??= await step('launching Chromium', () => launchChromium())
  const opened = await openTab(shared.browser, url, { ready: '#greet', ...options })
  tabs.add(opened)
  return opened
}

/** Every file of the app outside node_modules, .git and build output, with its content. */
function snapshot(dir) {
  const files = {}
  const walk = (rel) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const file = path.join(rel, entry.name)
      if (entry.isDirectory()) {
        if (!['node_modules', '.git', '.next'].includes(entry.name)) walk(file)
      } else if (entry.isFile()) {
        files[file] = fs.readFileSync(path.join(dir, file), 'utf8')
      }
    }
  }
  walk('')
  return files
}

/** Lets the secret scan of `npm test` look for the key init wrote (it is made in a child process). */
function recordKeyForScan(key) {
  const file = process.env.NSG_TEST_KEYS_FILE
  if (!file) return
  try {
    fs.appendFileSync(file, `${key}\n`)
  } catch {
    // best effort, as the preload does
  }
}

/** What init must add in each layout: [create|change, file]. */
function expectedChanges(version) {
  const { src, typescript: ts, hook } = LAYOUTS[version]
  const base = src ? 'src/' : ''
  const major = Number.parseInt(version, 10)
  const x = ts ? 'ts' : 'js'
  const guardFile = hook ? `${base}${hook}.${x}` : `${base}${major >= 16 ? 'proxy' : 'middleware'}.${x}`
  return [
    ['change', ts && major >= 15 ? 'next.config.ts' : 'next.config.mjs'],
    ['create', `${base}instrumentation.${x}`],
    [hook ? 'change' : 'create', guardFile],
    ['change', `${base}app/layout.${ts ? 'tsx' : 'js'}`],
    ['create', '.env.local'],
  ]
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

for (const version of ALL) {
  const layout = LAYOUTS[version]
  const skip = SKIP || (VERSIONS.includes(version) ? false : `NSG_INIT_VERSIONS=${process.env.NSG_INIT_VERSIONS}`)
  const what = `${layout.typescript ? 'TypeScript' : 'JavaScript'}, ${layout.src ? 'src/' : 'no src/'}, ${layout.hook ? `an existing ${layout.hook}` : 'no middleware'}`

  describe(`init on a fresh Next.js ${version} app (${what})`, { skip, timeout: 20 * MINUTE }, () => {
    const s = { app: null, key: null, kcv: null, v1: null, server: null, guardFile: null }
    const needs = (_t, ...keys) => {
      const missing = keys.filter((k) => !s[k])
      if (missing.length) assert.fail(`an earlier step failed (no ${missing.join(', ')})`)
    }

    before(
      async () => {
        s.app = await prepareFreshApp({ version, tarballs: shared.tarballs })
        s.nextVersion = JSON.parse(fs.readFileSync(path.join(s.app.dir, 'node_modules', 'next', 'package.json'), 'utf8')).version
      },
      { timeout: 10 * MINUTE },
    )

    it('init adds every touch point and names each one; the key goes to .env.local, never to the output; a second run changes nothing', async (t) => {
      needs(t, 'app')
      const { app } = s
      const before = snapshot(app.dir)
      const first = await cli(app, ['init'], 'init-1')
      assert.equal(first.code, 0, first.output)
      assert.match(
        first.output,
        new RegExp(
          `^next-skew-guard init: ${escapeRe(app.dir)} \\(Next\\.js ${escapeRe(s.nextVersion)}${layout.typescript ? ', TypeScript' : ''}, ${layout.src ? 'src/app' : 'app'}\\)$`,
          'm',
        ),
      )
      const changed = [...first.output.matchAll(/^✓ (create|change) (\S+): /gm)].map((m) => [m[1], m[2]])
      assert.deepEqual(changed.sort(), expectedChanges(version).sort(), first.output)
      assert.doesNotMatch(first.output, /^✗/m, 'nothing left to do by hand')
      if (layout.hook === 'proxy')
        assert.match(first.output, /^! src\/proxy\.ts has a config\.matcher: the guard runs only where it matches\./m)

      const env = fs.readFileSync(path.join(app.dir, '.env.local'), 'utf8')
      const key = KEY_LINE.exec(env)?.[1]
      assert.ok(key, '.env.local holds a 32-byte base64 NEXT_SERVER_ACTIONS_ENCRYPTION_KEY')
      recordKeyForScan(key)
      assert.equal(first.output.includes(key), false, 'the key is never printed')
      assert.match(first.output, /NEXT_SERVER_ACTIONS_ENCRYPTION_KEY=<new key, not shown>/)
      s.kcv = /a new key \(check value ([0-9a-f]+)\)/.exec(first.output)?.[1]
      assert.ok(s.kcv, 'init names the check value of the key it wrote')
      const ignored = await run('git', ['check-ignore', '-q', '.env.local'], { cwd: app.dir, env: appEnv() })
      assert.equal(ignored.code, 0, '.env.local (with the key) is ignored by git')

      // What was written is the guard composed with the app, not a replacement of it.
      const after = snapshot(app.dir)
      const changedFiles = Object.keys(after)
        .filter((f) => after[f] !== before[f])
        .sort()
      assert.deepEqual(
        changedFiles,
        expectedChanges(version)
          .map(([, f]) => f)
          .sort(),
        'init touched exactly the files it named',
      )
      const guardFile = expectedChanges(version)[2][1]
      s.guardFile = guardFile
      if (layout.hook) {
        const mine = layout.hook === 'proxy' ? 'appProxy' : 'appMiddleware'
        assert.match(after[guardFile], new RegExp(`export const ${layout.hook} = skewGuard\\(\\{ next: ${mine} \\}\\)`))
        assert.ok(after[guardFile].includes(`response.headers.set("${HOOK_HEADER}"`), "the app's own code is still there")
      } else {
        assert.match(after[guardFile], /export const middleware = skewGuard\(\)/)
      }

      const second = await cli(app, ['init'], 'init-2')
      assert.equal(second.code, 0, second.output)
      assert.match(second.output, /^Nothing to change: every touch point is in place\.$/m)
      assert.doesNotMatch(second.output, /^✓ (create|change) /m)
      assert.equal([...second.output.matchAll(/^✓ already in place: /gm)].length, 5, second.output)
      assert.match(second.output, /^✓ already in place: NEXT_SERVER_ACTIONS_ENCRYPTION_KEY \(\.env\.local\)$/m)
      assert.deepEqual(snapshot(app.dir), after, 'the second run wrote nothing')
      s.key = key
      // As a user would: the guard's changes are committed (the key is not: git ignores it).
      await commitAll(app, 'Add next-skew-guard')
    })

    it('next build and next start with what init wrote; doctor finds nothing to fix', async (t) => {
      needs(t, 'app', 'key')
      const { app } = s
      s.v1 = await nextBuild(app, 'v1')
      assert.match(s.v1.buildId, /^git-[0-9a-f]{16}$/, 'withSkewGuard derived the build identity from the commit')
      s.server = await serve(app, s.v1)
      const doctor = await cli(app, ['doctor'], 'doctor')
      const lines = doctor.output.split('\n')
      assert.equal(doctor.code, 0, doctor.output)
      assert.deepEqual(
        lines.filter((l) => l.startsWith('✗')),
        [],
        'no failed check',
      )
      const warnings = lines.filter((l) => l.startsWith('!'))
      // Next.js 14 runs middleware on Edge only: doctor says so (a warning). On 15.5 init moves the
      // app's own middleware to the Node runtime, where every check runs.
      const edge = version === '14'
      assert.deepEqual(
        warnings.map((l) => l.replace(/:.*/, '')),
        edge ? ['! guard'] : [],
        `warnings:\n${warnings.join('\n')}`,
      )
      if (edge) assert.match(warnings[0], new RegExp(`^! guard: ${escapeRe(s.guardFile)} runs on Edge: `))
      const expected = [
        `· Next.js: ${escapeRe(s.nextVersion)} — on skew without a guard: `,
        `✓ key valid: 32-byte key from \\.env\\.local, check value ${s.kcv}$`,
        `✓ build identity: BUILD_ID ${s.v1.buildId}, derived from the git commit$`,
        '· actions: 1 Server Actions in the build$',
        version === '14' ? '· build key: Next\\.js 14 always writes a random build key' : `✓ build key = runtime key: both ${s.kcv}$`,
        '✓ externals: withSkewGuard adds next-skew-guard-native$',
        edge ? null : `✓ guard: ${escapeRe(s.guardFile)}( \\(Node runtime\\)| on the Node runtime): every check runs$`,
        `✓ instrumentation: ${escapeRe(expectedChanges(version)[1][1])} registers the guard$`,
        `✓ client guard: <SkewGuard /> in ${escapeRe(expectedChanges(version)[3][1])}, rendered by the root layout$`,
      ].filter(Boolean)
      for (const line of expected) assert.match(doctor.output, new RegExp(`^${line}`, 'm'))
      assert.equal(lines.filter((l) => /^[✓✗!·] /.test(l)).length, expected.length + (edge ? 1 : 0), doctor.output)
    })

    it("the guard answers the health endpoint and stamps responses; the app's own proxy/middleware still runs", async (t) => {
      needs(t, 'server')
      const health = await fetch(`${s.server.url}/api/health`)
      assert.equal(health.status, 200)
      const body = await health.json()
      assert.equal(body.buildId, s.v1.buildId)
      assert.equal(health.headers.get('x-build-id'), s.v1.buildId)
      const page = await fetch(`${s.server.url}/`)
      assert.equal(page.status, 200)
      // The matcher init writes keeps the guard off pages (they cannot be skew); an app's own
      // matcher that covers pages gets them stamped.
      assert.equal(page.headers.get('x-build-id'), layout.hook ? s.v1.buildId : null)
      assert.match(await page.text(), /Fresh app/)
      if (layout.hook) {
        assert.equal(
          page.headers.get(HOOK_HEADER),
          hookHeaderValue(layout.hook, '/'),
          `the ${layout.hook} init wrapped still sets its header`,
        )
        assert.equal(health.headers.get(HOOK_HEADER), null, 'the guard answers the health endpoint before the app runs')
      }
    })

    it('in Chromium: after v2 renames the action, the old tab recovers by itself (409, one reload, typed text kept); a waiting tab shows the default banner', async (t) => {
      needs(t, 'server')
      const { app } = s
      const port = s.server.port
      const actor = await tab(s.server.url)
      const waiter = await tab(s.server.url, { clock: true })
      await actor.page.fill('#name', 'Grace')
      await actor.page.click('#greet')
      await textWhen(actor.page, '#answer', (x) => x === 'Hello, Grace!', 'greet on v1')
      const v1Call = actor.actions.at(-1)
      assert.equal(v1Call.status, 200)
      assert.equal(v1Call.serverBuild, s.v1.buildId)
      assert.equal(v1Call.sentBuild, s.v1.buildId, 'the page sends the build identity withSkewGuard inlined')

      // The redeploy: v1 stops, the renamed action is committed and built, v2 starts on the same port.
      await stop(s.server)
      await applyFreshV2(app)
      const v2 = await nextBuild(app, 'v2')
      assert.match(v2.buildId, /^git-[0-9a-f]{16}$/)
      assert.notEqual(v2.buildId, s.v1.buildId, 'a new commit is a new build identity')
      assert.equal(readActionIds(app, '.next').includes(v1Call.actionId), false, "v2 does not know v1's greet")
      const server2 = await serve(app, v2, port)

      // The user goes on typing in the old tab, then clicks: the action did not run, so the guard
      // reloads at once, keeping the text.
      await actor.page.fill('#name', 'Grace Hopper')
      await actor.page.click('#greet')
      await waitFor(() => actor.loads === 2, 'the old tab to reload by itself', { timeoutMs: 20_000 })
      await actor.page.waitForLoadState('load')
      await waitHydrated(actor.page, '#greet')
      assert.deepEqual(actor.actions.at(-1), {
        actionId: v1Call.actionId,
        sentBuild: s.v1.buildId,
        status: 409,
        guard: 'unknown-action',
        serverBuild: v2.buildId,
      })
      assert.equal(await navigationType(actor.page), 'reload')
      await waitFor(async () => (await actor.page.inputValue('#name')) === 'Grace Hopper', 'the typed text to be put back').catch(
        async (e) => {
          throw new Error(`${e.message}; #name holds ${JSON.stringify(await actor.page.inputValue('#name'))}`)
        },
      )
      // The reloaded page is v2's: the same button calls `welcome`, with the restored text.
      await actor.page.click('#greet')
      await textWhen(actor.page, '#answer', (x) => x === 'Welcome, Grace Hopper!', 'welcome on v2 with the restored name')
      const v2Call = actor.actions.at(-1)
      assert.equal(v2Call.status, 200)
      assert.equal(v2Call.guard, null)
      assert.equal(v2Call.serverBuild, v2.buildId)
      assert.equal(v2Call.sentBuild, v2.buildId)
      assert.equal(actor.loads, 2, 'exactly one reload')
      assert.equal(await documentsSeen(actor.page), 2)
      progress(`${version}: the old tab recovered (409 unknown-action, one reload, text kept, welcome ran)`)

      // The tab that only waits: its health poll (fake clock) finds v2; a visible page is not
      // reloaded for that, the default banner says so, and its Reload button keeps what was typed.
      await waiter.page.fill('#name', 'Ada')
      const banner = waiter.page.locator('.next-skew-guard-banner')
      for (let i = 0; i < 8 && (await banner.count()) === 0; i++) {
        const polls = waiter.health.length
        await waiter.page.clock.fastForward(i === 0 ? 1.25 * MINUTE : 10_000)
        await waitFor(() => waiter.health.length > polls, 'a health poll', { timeoutMs: 10_000 }).catch(() => {})
        await waiter.page.waitForTimeout(300)
      }
      assert.equal(await banner.count(), 1, `the default banner shows (health answers: ${waiter.health.join(', ')})`)
      progress(`${version}: the waiting tab shows the banner after ${waiter.health.length} health poll(s)`)
      assert.equal(await banner.getAttribute('role'), 'status')
      assert.equal(await banner.getAttribute('data-next-skew-guard'), 'build-mismatch')
      assert.match(await banner.textContent(), /^A new version of this app is available\./)
      assert.equal(waiter.loads, 1, 'no reload of a visible page for a version check')
      await banner.getByRole('button', { name: 'Reload' }).click()
      await waitFor(() => waiter.loads === 2, 'the Reload button to reload')
      await waiter.page.waitForLoadState('load')
      await waitHydrated(waiter.page, '#greet')
      await waitFor(async () => (await waiter.page.inputValue('#name')) === 'Ada', 'the text typed before Reload to be put back')
      assert.equal(await banner.count(), 0, 'the reloaded page is current: no banner')
      await waiter.page.click('#greet')
      await textWhen(waiter.page, '#answer', (x) => x === 'Welcome, Ada!', 'welcome on v2')
      await stop(server2)
    })
  })
}
