// The operator CLI as users run it (`npx next-skew-guard …` → bin/next-skew-guard.js).
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { parseKey, keyCheckValue } = require('..')

const bin = path.join(__dirname, '..', 'bin', 'next-skew-guard.js')

function cli(args, env = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

test('keygen prints a valid canonical key in every format, and nothing else on stdout', () => {
  const raw = cli(['keygen'])
  assert.equal(raw.code, 0)
  assert.equal(parseKey(raw.out.trim()).bytes, 32)
  assert.ok(parseKey(raw.out.trim()).canonical)
  assert.equal(parseKey(cli(['keygen', '--bytes', '16']).out.trim()).bytes, 16)
  assert.match(cli(['keygen', '--format', 'env']).out, /^NEXT_SERVER_ACTIONS_ENCRYPTION_KEY=[A-Za-z0-9+/]{43}=\n$/)
  const docker = cli(['keygen', '--format', 'docker'])
  assert.match(docker.out, /^--build-arg NEXT_SERVER_ACTIONS_ENCRYPTION_KEY=[A-Za-z0-9+/]{43}=\n$/)
  assert.match(docker.err, /ARG NEXT_SERVER_ACTIONS_ENCRYPTION_KEY/)
  const k8s = cli(['keygen', '--format', 'k8s'])
  assert.match(
    k8s.out,
    /^apiVersion: v1\nkind: Secret\n[\s\S]*stringData:\n {2}NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: "[A-Za-z0-9+/]{43}="\n$/,
  )
  assert.notEqual(cli(['keygen']).out, raw.out)
})

test('check validates the environment key or --key, with exit codes 0 and 1', () => {
  const key = cli(['keygen']).out.trim()
  const ok = cli(['check'], { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: key })
  assert.equal(ok.code, 0)
  assert.equal(ok.out.trim(), keyCheckValue(key))
  assert.match(ok.err, /✓ valid 32-byte key/)
  assert.ok(!ok.err.includes(key) && !ok.out.includes(key), 'the key is never printed')
  const hex = cli(['check', '--key', 'ab'.repeat(32)])
  assert.equal(hex.code, 1)
  assert.equal(hex.out, '')
  assert.match(hex.err, /ERR_KEY_HEX: .*toString\('base64'\)/)
  const warned = cli(['check', '--key', `${key}\n`])
  assert.equal(warned.code, 0)
  assert.match(warned.err, /WARN_KEY_WHITESPACE/)
  const missing = cli(['check'])
  assert.equal(missing.code, 1)
  assert.match(missing.err, /NEXT_SERVER_ACTIONS_ENCRYPTION_KEY is not set/)
  const json = JSON.parse(cli(['check', '--json', '--key', 'AAECAwQFBgcICQoLDA0ODw==']).out)
  assert.deepEqual(
    json.errors.map((e) => e.code),
    ['ERR_KEY_PUBLIC'],
  )
  assert.equal(json.checkValue, 'c6a13b')
})

test('usage errors exit 2 with a message and no stack trace; help and version exit 0', () => {
  for (const args of [['frobnicate'], ['keygen', '--bytes', '20'], ['keygen', '--format', 'yaml'], ['check', '--nope'], []]) {
    const r = cli(args)
    assert.equal(r.code, 2, args.join(' '))
    assert.ok(!/\n\s+at /.test(r.err), 'no stack trace')
  }
  assert.match(cli(['frobnicate']).err, /Unknown command "frobnicate"/)
  assert.match(cli(['keygen', '--help']).out, /--format F/)
  assert.equal(cli(['--help']).code, 0)
  assert.equal(cli(['--version']).out.trim(), require('../package.json').version)
  // No colour when stderr is not a terminal.
  assert.ok(!/\u001b\[/.test(cli(['check', '--key', 'x']).err))
})

// diff and doctor on build directories shaped like Next.js 14, 15 and 16 output (real-build runs
// of both commands live in the e2e suite's follow-up; see the issue notes).
const fs = require('node:fs')
const os = require('node:os')
const { generateKey } = require('..')

const made = []
test.after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true })
})

function fakeBuild(actions, { key = generateKey(), shape = 16, buildId = 'b1', files = {} } = {}) {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-cli-'))
  made.push(app)
  const dist = path.join(app, '.next')
  fs.mkdirSync(path.join(dist, 'server'), { recursive: true })
  fs.writeFileSync(path.join(dist, 'BUILD_ID'), buildId)
  const node = {}
  for (const [id, name] of Object.entries(actions)) {
    node[id] =
      shape === 14
        ? { workers: { 'app/page': '1528' }, layer: { 'app/page': 'action-browser' } }
        : { workers: { 'app/page': { moduleId: 1, async: false } }, filename: 'app/actions.ts', exportedName: name }
  }
  fs.writeFileSync(path.join(dist, 'server', 'server-reference-manifest.json'), JSON.stringify({ node, edge: {}, encryptionKey: key }))
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ dependencies: { next: '16.4.6' } }))
  fs.mkdirSync(path.join(app, 'node_modules', 'next'), { recursive: true })
  fs.writeFileSync(
    path.join(app, 'node_modules', 'next', 'package.json'),
    JSON.stringify({ version: { 14: '14.2.35', 15: '15.5.29', 16: '16.4.6' }[shape] }),
  )
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(app, name)), { recursive: true })
    fs.writeFileSync(path.join(app, name), text)
  }
  return { app, dist, key }
}

const id = (c, n = 42) => c.repeat(n)

test('diff reports kept, removed and added actions with names, and gates on removals', () => {
  const key = generateKey()
  const v1 = fakeBuild({ [id('a')]: 'save', [id('b')]: 'greet', [id('c')]: '$$RSC_SERVER_ACTION_0' }, { key })
  const v2 = fakeBuild({ [id('a')]: 'save', [id('d')]: 'welcome', [id('c')]: '$$RSC_SERVER_ACTION_0' }, { key })
  const r = cli(['diff', v1.app, v2.dist])
  assert.equal(r.code, 0)
  assert.equal(r.out.split('\n')[0], 'kept 2, removed 1, added 1')
  assert.match(r.out, new RegExp(`^- ${id('b')}  app/actions.ts#greet$`, 'm'))
  assert.match(r.out, new RegExp(`^\\+ ${id('d')}  app/actions.ts#welcome$`, 'm'))
  assert.equal(r.err, '')
  assert.equal(cli(['diff', '--fail-on-removed', v1.app, v2.app]).code, 1)
  assert.equal(cli(['diff', '--fail-on-removed', v1.app, v1.app]).code, 0)
  const json = JSON.parse(cli(['diff', '--json', v1.app, v2.app]).out)
  assert.deepEqual(json.removed, [{ id: id('b'), filename: 'app/actions.ts', exportedName: 'greet' }])
  assert.equal(json.kept.length, 2)
})

test('diff explains when every ID changed because the key was not pinned', () => {
  const v1 = fakeBuild({ [id('a')]: 'save' })
  const v2 = fakeBuild({ [id('b')]: 'save' })
  const r = cli(['diff', v1.app, v2.app])
  assert.match(r.err, /Every action ID changed.*different encryption keys \(check values [0-9a-f]{6} and [0-9a-f]{6}\)/)
  const same = generateKey()
  const moved = cli(['diff', fakeBuild({ [id('a')]: 's' }, { key: same }).app, fakeBuild({ [id('e')]: 's' }, { key: same }).app])
  assert.match(moved.err, /different directory/)
  // Next.js 14 manifests (40-char IDs, no names)
  const old14 = fakeBuild({ [id('a', 40)]: 'x' }, { shape: 14 })
  const new14 = fakeBuild({ [id('a', 40)]: 'x', [id('f', 40)]: 'y' }, { shape: 14 })
  const r14 = cli(['diff', old14.app, new14.app])
  assert.match(r14.out, new RegExp(`^\\+ ${id('f', 40)}  \\(no name in manifest\\)$`, 'm'))
})

test('diff refuses bad input with clear messages and no stack traces', () => {
  const good = fakeBuild({ [id('a')]: 'save' })
  const notApp = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-cli-empty-'))
  const unbuilt = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-cli-unbuilt-'))
  made.push(notApp, unbuilt)
  fs.writeFileSync(path.join(unbuilt, 'package.json'), '{}')
  const corrupt = fakeBuild({ [id('a')]: 'save' })
  fs.writeFileSync(path.join(corrupt.dist, 'server', 'server-reference-manifest.json'), '{"node": {"ab')
  const cases = [
    [['diff', good.app], 2, /needs two builds/],
    [['diff', good.app, '/no/such/dir'], 2, /no such directory/],
    [['diff', good.app, notApp], 2, /not a Next\.js app or build directory/],
    [['diff', good.app, unbuilt], 2, /run `next build` first/],
    [['diff', good.app, corrupt.app], 1, /not valid JSON/],
    [['diff', '--bogus', good.app, good.app], 2, /Unknown option '--bogus'/],
  ]
  for (const [args, code, message] of cases) {
    const r = cli(args)
    assert.equal(r.code, code, args.join(' '))
    assert.match(r.err, message)
    assert.ok(!/\n\s+at /.test(r.err), 'no stack trace')
  }
})

test('doctor: a well set-up app passes; each missing piece fails with its fix', () => {
  const files = {
    'next.config.mjs': "import { withSkewGuard } from 'next-skew-guard/config'\nexport default withSkewGuard({})\n",
    'proxy.ts': "import { skewGuard } from 'next-skew-guard/proxy'\nexport const proxy = skewGuard()\n",
    'instrumentation.ts': "export { register, onRequestError } from 'next-skew-guard/instrumentation'\n",
  }
  const good = fakeBuild({ [id('a')]: 'save' }, { files })
  const ok = cli(['doctor', good.app], { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: good.key })
  assert.equal(ok.code, 0, ok.out)
  assert.match(ok.out, /· Next\.js: 16\.4\.6 — on skew without a guard: typed/)
  assert.match(ok.out, /✓ build key = runtime key: both [0-9a-f]{6}/)
  assert.ok(!ok.out.includes(good.key))

  const mismatch = cli(['doctor', good.app], { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: generateKey() })
  assert.equal(mismatch.code, 1)
  assert.match(mismatch.out, /✗ build key = runtime key: the build used key/)
  const unpinned = cli(['doctor', good.app])
  assert.match(unpinned.out, /✗ key pinned: NEXT_SERVER_ACTIONS_ENCRYPTION_KEY is not set/)
  const hex = cli(['doctor', good.app], { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: 'ab'.repeat(32) })
  assert.match(hex.out, /✗ key valid: ERR_KEY_HEX/)

  const bare = fakeBuild(
    { [id('a')]: 'save' },
    {
      files: {
        'next.config.mjs': "export default { serverExternalPackages: ['next-skew-guard'] }\n",
        'middleware.ts': "import { skewGuard } from 'next-skew-guard/proxy'\nexport const middleware = skewGuard()\n",
      },
    },
  )
  const r = cli(['doctor', bare.app, '--json'], { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: bare.key })
  assert.equal(r.code, 1)
  const byCheck = Object.fromEntries(JSON.parse(r.out).findings.map((f) => [f.check, f]))
  assert.equal(byCheck.externals.status, 'fail')
  assert.match(byCheck.externals.message, /client components then break the build/)
  assert.equal(byCheck.guard.status, 'warn')
  assert.match(byCheck.guard.message, /runs on Edge/)
  assert.equal(byCheck['build identity'].status, 'warn')
  assert.equal(byCheck.instrumentation.status, 'fail')
  assert.equal(cli(['doctor', '/no/such/app']).code, 2)
})

test('doctor reads the key from .env files as Next.js does, and knows which hook file each version uses', () => {
  const key = generateKey()
  const app = fakeBuild(
    { [id('a')]: 'save' },
    {
      key,
      files: {
        '.env.production': `# comment\nNEXT_SERVER_ACTIONS_ENCRYPTION_KEY="${key}"\n`,
        'proxy.ts': "import { skewGuard } from 'next-skew-guard/proxy'\nexport const proxy = skewGuard()\n",
        'middleware.ts': "import { skewGuard } from 'next-skew-guard/proxy'\nexport const middleware = skewGuard()\n",
      },
    },
  )
  const r = cli(['doctor', app.app])
  assert.match(r.out, /^✓ key valid: 32-byte key from \.env\.production, check value/m)
  assert.match(r.out, /^✗ guard: both proxy\.ts and middleware\.ts: Next\.js 16 refuses to build with both/m)
  // On 14, proxy.ts means nothing: only middleware.ts (Edge there) counts.
  const app14 = fakeBuild(
    { [id('a', 40)]: 'x' },
    { shape: 14, files: { 'proxy.ts': "import { skewGuard } from 'next-skew-guard/proxy'\n" } },
  )
  assert.match(cli(['doctor', app14.app]).out, /^✗ guard: no proxy\.ts or middleware\.ts/m)
  // A whitespace variant of the key is a warning (as in `check`), not a failure.
  const spaced = cli(['doctor', app.app], { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: `${key}\n` })
  assert.match(spaced.out, /^! key canonical: WARN_KEY_WHITESPACE/m)
})

test('doctor checks the client guard (rendered from the root layout) and how safe actions are called', () => {
  const base = {
    'next.config.mjs': "import { withSkewGuard } from 'next-skew-guard/config'\nexport default withSkewGuard({})\n",
    'proxy.ts': "import { skewGuard } from 'next-skew-guard/proxy'\nexport const proxy = skewGuard()\n",
    'instrumentation.ts': "export { register, onRequestError } from 'next-skew-guard/instrumentation'\n",
    'app/actions.ts':
      "'use server'\nimport { createSafeAction } from 'next-skew-guard/action'\nexport const save = createSafeAction(async () => 1)\n",
  }
  const check = (files) => {
    const app = fakeBuild({ [id('a')]: 'save' }, { files: { ...base, ...files } })
    const r = cli(['doctor', app.app, '--json'], { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: app.key })
    return Object.fromEntries(JSON.parse(r.out).findings.map((f) => [f.check, f]))
  }
  const missing = check({ 'app/layout.tsx': 'export default function L({ children }) { return <html><body>{children}</body></html> }\n' })
  assert.equal(missing['client guard'].status, 'fail')
  assert.match(missing['client guard'].fix, /next-skew-guard init/)
  assert.equal(missing['safe actions'].status, 'warn')
  const direct = check({
    'app/layout.tsx':
      "import { SkewGuard } from 'next-skew-guard/react'\nexport default function L({ children }) { return <html><body>{children}<SkewGuard /></body></html> }\n",
    'app/panel.tsx': "'use client'\nimport { callSafeAction } from 'next-skew-guard/action'\n",
  })
  assert.deepEqual([direct['client guard'].status, direct['safe actions'].status], ['ok', 'ok'])
  // Through a component of the app's own, imported by the layout.
  const wrapped = check({
    'app/layout.tsx':
      "import Guard from '@/components/guard'\nexport default function L({ children }) { return <html><body>{children}<Guard /></body></html> }\n",
    'components/guard.tsx':
      "'use client'\nimport { SkewGuard } from 'next-skew-guard/react'\nexport default function Guard() { return <SkewGuard reload=\"manual\" /> }\n",
  })
  assert.equal(wrapped['client guard'].status, 'ok')
  assert.match(wrapped['client guard'].message, /components\/guard\.tsx, rendered by the root layout/)
  const orphan = check({
    'app/layout.tsx': 'export default function L({ children }) { return <html><body>{children}</body></html> }\n',
    'components/guard.tsx':
      "'use client'\nimport { SkewGuard } from 'next-skew-guard/react'\nexport default function Guard() { return <SkewGuard /> }\n",
  })
  assert.match(orphan['client guard'].message, /but the root layout does not render it/)
})

test('doctor says truthfully where the build identity came from', () => {
  const { buildIdentityFinding } = require('../dist/cli/doctor.js')
  const cases = [
    [['b-0123456789abcdef', true, false], 'warn', /random identity/],
    [['git-0123456789abcdef', true, false], 'ok', /derived from the git commit/],
    [['v1.2.3', true, true], 'ok', /from your generateBuildId/],
    [['v1.2.3', true, false], 'ok', /SKEW_GUARD_BUILD_ID or the buildId option/],
    [['build-TfctsWXpff2fKS', false, false], 'fail', /deploymentId is set without generateBuildId/],
    [['Xy12', false, false], 'warn', /random per build/],
  ]
  for (const [args, status, message] of cases) {
    const f = buildIdentityFinding(...args)
    assert.equal(f.status, status, args[0])
    assert.match(f.message, message)
  }
})

test('doctor finds the build where the loaded config puts it (distDir from an environment variable)', () => {
  const app = fakeBuild(
    { [id('a')]: 'save' },
    {
      files: { 'next.config.js': "module.exports = { distDir: process.env.MY_DIST || '.next' }\n" },
    },
  )
  // The app's own Next.js loads the config; link the repository's.
  fs.rmSync(path.join(app.app, 'node_modules', 'next'), { recursive: true })
  fs.symlinkSync(path.join(__dirname, '..', 'node_modules', 'next'), path.join(app.app, 'node_modules', 'next'), 'dir')
  fs.renameSync(app.dist, path.join(app.app, 'build-out'))
  const found = cli(['doctor', app.app, '--json'], { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: app.key, MY_DIST: 'build-out' })
  const byCheck = Object.fromEntries(JSON.parse(found.out).findings.map((f) => [f.check, f]))
  assert.equal(byCheck.build, undefined, 'no "no build" warning')
  assert.match(byCheck.actions.message, /1 Server Actions/)
  const lost = cli(['doctor', app.app, '--json'], { NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: app.key })
  assert.match(Object.fromEntries(JSON.parse(lost.out).findings.map((f) => [f.check, f])).build.message, /no build in \.next/)
})

test("diff does not mistake an app's own server/ folder for build output", () => {
  const app = fakeBuild({ [id('a')]: 'save' })
  fs.mkdirSync(path.join(app.app, 'server'))
  const r = cli(['diff', app.app, app.app])
  assert.equal(r.code, 0, r.err)
  assert.match(r.out, /^kept 1, removed 0, added 0/)
})
