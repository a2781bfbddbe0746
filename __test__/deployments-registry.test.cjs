// The deployment registry (next-skew-guard deployments add|promote|list|retire|gc): what it
// accepts and refuses, the state file (atomic, crash-safe, readable, strict on bad input), the
// lock (two deploy scripts at once, stale locks) and the CLI's conventions.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const bin = path.join(root, 'bin', 'next-skew-guard.js')
const d = require('../dist/deployments/index.js')

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-deployments-'))
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }))

let n = 0
/** A fresh state file path in its own directory. */
function stateFile() {
  const dir = path.join(tmp, `s${++n}`)
  fs.mkdirSync(dir)
  return path.join(dir, 'deployments.json')
}

function cli(args, env = {}) {
  const r = spawnSync(process.execPath, [bin, 'deployments', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: tmp, ...env },
    timeout: 60_000,
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

/** A TCP listener on a free loopback port (a deployment that is up). */
async function listener(t) {
  const server = net.createServer((s) => s.destroy())
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  return `127.0.0.1:${server.address().port}`
}

/** A loopback port nothing listens on. */
async function deadPort() {
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return `127.0.0.1:${port}`
}

const A1 = `40${'a'.repeat(40)}`
const B1 = `40${'b'.repeat(40)}`
const C1 = `7f${'c'.repeat(40)}`

/** A fake build directory with a Server Action manifest (node ∪ edge). */
function fakeBuild(name, node, edge = []) {
  const dir = path.join(tmp, `app-${name}-${++n}`)
  fs.mkdirSync(path.join(dir, '.next', 'server'), { recursive: true })
  const section = (ids) =>
    Object.fromEntries(ids.map((id) => [id, { workers: { 'app/page': { moduleId: 1, async: false } }, layer: { 'app/page': 'rsc' } }]))
  fs.writeFileSync(
    path.join(dir, '.next', 'server', 'server-reference-manifest.json'),
    JSON.stringify({ node: section(node), edge: section(edge), encryptionKey: 'x' }),
  )
  fs.writeFileSync(path.join(dir, '.next', 'BUILD_ID'), `build-${name}\n`)
  return dir
}

test('deployment IDs: [A-Za-z0-9_-]{1,64}, everything else refused with the rule (never put into a config)', () => {
  for (const ok of ['dpl_v1', 'a', 'A-b_C-9', 'x'.repeat(64), '-leading', 'default']) assert.equal(d.validateDeploymentId(ok), ok)
  for (const bad of [
    '',
    'x'.repeat(65),
    'dpl v1',
    'dpl;v1',
    'dpl"v1',
    "dpl'v1",
    'dpl`v1',
    'dpl\nv1',
    'dpl$v1',
    'dpl{v1}',
    'dpl.v1',
    'dpl/v1',
    'dplé',
    'a\u0000b',
    42,
    null,
    undefined,
  ]) {
    assert.throws(
      () => d.validateDeploymentId(bad),
      (e) => e.code === 'ERR_DEPLOYMENT_ID' && /1-64 characters of letters, digits, "_" and "-"/.test(e.message),
      JSON.stringify(bad),
    )
  }
  // The message shows a control character as an escape, never raw.
  assert.throws(
    () => d.validateDeploymentId('a\nb;'),
    (e) => e.message.includes('"a\\nb;"'),
  )
  // A key pasted by mistake is not echoed.
  const key = 'q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng='
  assert.throws(
    () => d.validateDeploymentId(key),
    (e) => !e.message.includes(key) && /looks like a key/.test(e.message),
  )
  const r = cli(['add', key, '--upstream', '127.0.0.1:1'], { SKEW_GUARD_DEPLOYMENTS: stateFile() })
  assert.equal(r.code, 2)
  assert.ok(!r.err.includes(key) && !r.out.includes(key))
})

test('upstreams are host:port (names, IPv4, [IPv6]); schemes, paths and junk refused', () => {
  assert.equal(d.parseUpstream('127.0.0.1:3001').address, '127.0.0.1:3001')
  assert.equal(d.parseUpstream('app-v1:3000').host, 'app-v1')
  assert.equal(d.parseUpstream('[::1]:3001').port, 3001)
  for (const bad of [
    'http://127.0.0.1:3001',
    '127.0.0.1',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    'host:port',
    'a b:1',
    'a;b:1',
    '127.0.0.1:3001/x',
    ':3001',
    '-bad:1',
    '',
    3001,
  ]) {
    assert.throws(
      () => d.parseUpstream(bad),
      (e) => e.code === 'ERR_DEPLOYMENT_UPSTREAM' && /host:port/.test(e.message),
      JSON.stringify(bad),
    )
  }
})

test('durations: 90s, 30m, 12h, 7d, 2w, 1d12h; a bare number or junk refused', () => {
  assert.equal(d.parseDuration('90s'), 90_000)
  assert.equal(d.parseDuration('7d'), 7 * 86_400_000)
  assert.equal(d.parseDuration('1d12h'), 36 * 3_600_000)
  assert.equal(d.formatDuration(d.parseDuration('1w2d3h')), '1w2d3h')
  for (const bad of ['7', '', 'd', '7x', '-1d', '1.5h', '0s'])
    assert.throws(
      () => d.parseDuration(bad),
      (e) => e.code === 'ERR_INVALID_ARG_VALUE',
      bad,
    )
})

test('add → promote → list → retire → gc: the registry through the CLI, machine output on stdout', async (t) => {
  const state = stateFile()
  const env = { SKEW_GUARD_DEPLOYMENTS: state }
  const up1 = await listener(t)
  const up2 = await listener(t)
  const app1 = fakeBuild('v1', [A1, B1])
  const app2 = fakeBuild('v2', [B1], [C1])

  const added = cli(['add', 'dpl_v1', '--upstream', up1, '--dir', app1, '--json'], env)
  assert.equal(added.code, 0, added.err)
  assert.match(added.err, /created a new registry/)
  const json = JSON.parse(added.out)
  assert.deepEqual(json.actions, [A1, B1])
  assert.equal(json.build.buildId, 'build-v1')
  assert.equal(json.build.distDir, '.next')
  assert.equal(cli(['promote', 'dpl_v1'], env).code, 0)

  const second = cli(['add', 'dpl_v2', '--upstream', up2, '--dir', app2], env)
  assert.equal(second.code, 0, second.err)
  assert.equal(second.out, '', 'nothing on stdout without --json')
  assert.match(second.err, /added dpl_v2 .* \(2 Server Action IDs/)
  const promoted = cli(['promote', 'dpl_v2'], env)
  assert.equal(promoted.code, 0, promoted.err)
  assert.match(promoted.err, /dpl_v2 is now current \(dpl_v1 stays reachable/)

  const listed = JSON.parse(cli(['list', '--json'], env).out)
  assert.equal(listed.current, 'dpl_v2')
  assert.deepEqual(
    listed.deployments.map((x) => [x.id, x.status]),
    [
      ['dpl_v1', 'previous'],
      ['dpl_v2', 'current'],
    ],
  )
  assert.deepEqual(listed.deployments[1].actions, [B1, C1], 'node ∪ edge')
  const table = cli(['list'], env)
  assert.match(table.out, /^ID\s+STATUS\s+UPSTREAM\s+ACTIONS\s+ADDED\s+REPLACED\n/)
  assert.match(table.out, /dpl_v1\s+previous\s+127\.0\.0\.1:\d+\s+2\s/)
  assert.ok(!/\u001b\[/.test(table.out + table.err), 'no colour without a TTY')

  // The state file is the documented, readable format.
  const text = fs.readFileSync(state, 'utf8')
  assert.match(text, /^\{\n {2}"format": "next-skew-guard\/deployments@1",\n {2}"current": "dpl_v2",/)
  assert.ok(text.endsWith('\n'))

  const retiredCurrent = cli(['retire', 'dpl_v2'], env)
  assert.equal(retiredCurrent.code, 1)
  assert.match(retiredCurrent.err, /ERR_DEPLOYMENT_CURRENT: .*promote another deployment first/)
  const retired = cli(['retire', 'dpl_v1'], env)
  assert.equal(retired.code, 0)
  assert.equal(retired.out, 'dpl_v1\n')
  assert.match(retired.err, /then stop its process/)
  const unknown = cli(['retire', 'dpl_v1'], env)
  assert.equal(unknown.code, 1)
  assert.match(unknown.err, /ERR_DEPLOYMENT_UNKNOWN: No deployment "dpl_v1" in the registry \(it has dpl_v2\)/)
})

test('add refuses duplicates (also by letter case) and shared upstreams; --replace updates; --dist-dir needs --dir', async (t) => {
  const state = stateFile()
  const env = { SKEW_GUARD_DEPLOYMENTS: state }
  const up = await listener(t)
  assert.equal(cli(['add', 'dpl_v1', '--upstream', up], env).code, 0)
  const dup = cli(['add', 'dpl_v1', '--upstream', '127.0.0.1:9'], env)
  assert.equal(dup.code, 1)
  assert.match(dup.err, /ERR_DEPLOYMENT_EXISTS: Deployment "dpl_v1" is already registered .*--replace/)
  const cased = cli(['add', 'DPL_V1', '--upstream', '127.0.0.1:9'], env)
  assert.equal(cased.code, 1)
  assert.match(cased.err, /differs from the registered "dpl_v1" only in letter case/)
  const shared = cli(['add', 'dpl_v2', '--upstream', up], env)
  assert.equal(shared.code, 1)
  assert.match(shared.err, /ERR_DEPLOYMENT_UPSTREAM: .* already the upstream of deployment "dpl_v1"/)
  const app = fakeBuild('v1', [A1])
  const replaced = cli(['add', 'dpl_v1', '--upstream', up, '--dir', app, '--replace'], env)
  assert.equal(replaced.code, 0, replaced.err)
  assert.match(replaced.err, /updated dpl_v1/)
  assert.deepEqual(d.readRegistry(state).deployments[0].actions, [A1])
  const noDir = cli(['add', 'dpl_v3', '--upstream', '127.0.0.1:9', '--dist-dir', '.next'], env)
  assert.equal(noDir.code, 2)
  assert.match(noDir.err, /--dist-dir needs --dir/)
  const noManifest = cli(['add', 'dpl_v3', '--upstream', '127.0.0.1:9', '--dir', tmp], env)
  assert.equal(noManifest.code, 1)
  assert.match(noManifest.err, /ERR_MANIFEST: .*server-reference-manifest\.json is missing/)
  assert.equal(d.readRegistry(state).deployments.length, 1, 'nothing added on error')
})

test('an upstream that is not listening: a warning on add (an error with --require-listening); promote refuses it unless --force', async () => {
  const state = stateFile()
  const env = { SKEW_GUARD_DEPLOYMENTS: state }
  const dead = await deadPort()
  const strict = cli(['add', 'dpl_v1', '--upstream', dead, '--require-listening'], env)
  assert.equal(strict.code, 1)
  assert.match(strict.err, /ERR_DEPLOYMENT_DOWN: Nothing listens on 127\.0\.0\.1:\d+ .*Nothing was registered/)
  assert.ok(!fs.existsSync(state))
  const warned = cli(['add', 'dpl_v1', '--upstream', dead], env)
  assert.equal(warned.code, 0)
  assert.match(warned.err, /! nothing listens on 127\.0\.0\.1:\d+ yet .*start it before you promote dpl_v1/)
  const refused = cli(['promote', 'dpl_v1'], env)
  assert.equal(refused.code, 1)
  assert.match(refused.err, /ERR_DEPLOYMENT_DOWN: .*Promoting it would send every new page there.*--force/)
  assert.equal(d.readRegistry(state).current, null)
  const forced = cli(['promote', 'dpl_v1', '--force'], env)
  assert.equal(forced.code, 0)
  assert.equal(d.readRegistry(state).current, 'dpl_v1')
})

test('a bad state file (missing, empty, truncated, hand-edited wrongly): a clear error naming the line or field, nothing overwritten', async (t) => {
  const up = await listener(t)
  const missing = stateFile()
  const r0 = cli(['list'], { SKEW_GUARD_DEPLOYMENTS: missing })
  assert.equal(r0.code, 1)
  assert.match(r0.err, /ERR_DEPLOYMENTS_STATE: .*deployments\.json does not exist\. Add the first deployment/)
  assert.equal(cli(['promote', 'x'], { SKEW_GUARD_DEPLOYMENTS: missing }).code, 1)
  assert.ok(!fs.existsSync(missing), 'promote does not create a registry')

  const good = stateFile()
  assert.equal(cli(['add', 'dpl_v1', '--upstream', up, '--dir', fakeBuild('v1', [A1, B1])], { SKEW_GUARD_DEPLOYMENTS: good }).code, 0)
  assert.equal(cli(['promote', 'dpl_v1'], { SKEW_GUARD_DEPLOYMENTS: good }).code, 0)
  const text = fs.readFileSync(good, 'utf8')
  const cases = [
    ['empty', '', /the file is empty/],
    ['blank', '  \n\n', /the file is empty/],
    ['truncated', text.slice(0, Math.floor(text.length * 0.6)), /not valid JSON at line \d+/],
    ['a stray comma', text.replace('"current": "dpl_v1",', '"current": "dpl_v1",,'), /not valid JSON at line 3, column/],
    ['not a registry', '[1, 2]', /field \(top level\): expected an object/],
    ['wrong format', text.replace('deployments@1', 'deployments@9'), /field "format": is "next-skew-guard\/deployments@9"/],
    [
      'a typo in a field name',
      text.replace('"upstream"', '"upstrem"'),
      /field deployments\[0\] \("dpl_v1"\)\."upstrem": unknown field \(did you mean "upstream"\?\)/,
    ],
    [
      'a bad upstream',
      text.replace(up, 'localhost'),
      /field deployments\[0\] \("dpl_v1"\)\.upstream: The upstream "localhost" has no port/,
    ],
    ['a bad ID', text.replace('"id": "dpl_v1"', '"id": "dpl v1"'), /field deployments\[0\]\.id: "dpl v1" is not a deployment ID/],
    [
      'current unknown',
      text.replace('"current": "dpl_v1"', '"current": "dpl_v9"'),
      /field "current": "dpl_v9" is not the ID of any deployment/,
    ],
    [
      'a bad action ID',
      text.replace(A1, 'not-an-id'),
      /field deployments\[0\] \("dpl_v1"\)\.actions\[0\]: "not-an-id" is not a Server Action ID/,
    ],
    [
      'a bad time',
      text.replace(/"addedAt": "[^"]+"/, '"addedAt": "yesterday"'),
      /field deployments\[0\] \("dpl_v1"\)\.addedAt: "yesterday" is not an ISO 8601 time/,
    ],
  ]
  for (const [what, content, message] of cases) {
    const file = stateFile()
    fs.writeFileSync(file, content)
    const before = fs.statSync(file).mtimeMs
    for (const args of [
      ['list'],
      ['add', 'dpl_v2', '--upstream', '127.0.0.1:9'],
      ['promote', 'dpl_v1'],
      ['retire', 'dpl_v1'],
      ['gc', '--keep', '0'],
      ['render', '--proxy', 'nginx'],
    ]) {
      const r = cli(args, { SKEW_GUARD_DEPLOYMENTS: file })
      assert.equal(r.code, 1, `${what}: ${args.join(' ')} → ${r.err}`)
      assert.match(r.err, /✗ ERR_DEPLOYMENTS_STATE: /, what)
      assert.match(r.err, message, `${what}: ${args[0]}`)
      assert.match(r.err, /Nothing was changed/)
    }
    assert.equal(fs.readFileSync(file, 'utf8'), content, `${what}: the file is untouched`)
    assert.equal(fs.statSync(file).mtimeMs, before)
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['deployments.json'], `${what}: no lock or temp file left`)
  }
})

test('the state file path: --state, else SKEW_GUARD_DEPLOYMENTS, else XDG_STATE_HOME, else ~/.local/state', () => {
  assert.equal(d.resolveStatePath('/x/a.json', { SKEW_GUARD_DEPLOYMENTS: '/y/b.json' }), '/x/a.json')
  assert.equal(d.resolveStatePath(undefined, { SKEW_GUARD_DEPLOYMENTS: '/y/b.json' }), '/y/b.json')
  assert.equal(d.resolveStatePath(undefined, { XDG_STATE_HOME: '/s', HOME: '/h' }), '/s/next-skew-guard/deployments.json')
  assert.equal(d.resolveStatePath(undefined, { HOME: '/h' }), '/h/.local/state/next-skew-guard/deployments.json')
  assert.throws(
    () => d.resolveStatePath(undefined, { SKEW_GUARD_DEPLOYMENTS: ' ' }),
    (e) => e.code === 'ERR_INVALID_ARG_VALUE',
  )
  const file = path.join(tmp, 'explicit', 'reg.json')
  fs.mkdirSync(path.dirname(file))
  const r = cli(['add', 'dpl_v1', '--upstream', '127.0.0.1:9', '--state', file])
  assert.equal(r.code, 0, r.err)
  assert.ok(fs.existsSync(file))
  const home = cli(['add', 'dpl_v1', '--upstream', '127.0.0.1:9'])
  assert.equal(home.code, 0, home.err)
  assert.ok(fs.existsSync(path.join(tmp, '.local', 'state', 'next-skew-guard', 'deployments.json')))
})

test('gc: keeps current, the N most recently replaced within --max-age and staged releases; prints what it removed', () => {
  const state = stateFile()
  let clock = Date.parse('2026-01-01T00:00:00Z')
  const now = () => new Date(clock)
  const day = 86_400_000
  // v1 … v5 deployed one a day; v6 staged (added, never promoted) after v5; v0 staged before v5.
  d.addDeployment(state, { id: 'v0', upstream: '127.0.0.1:3000' }, { now })
  for (let i = 1; i <= 5; i++) {
    clock += day
    d.addDeployment(state, { id: `v${i}`, upstream: `127.0.0.1:${3000 + i}` }, { now })
    d.promoteDeployment(state, `v${i}`, { now })
  }
  d.addDeployment(state, { id: 'v6', upstream: '127.0.0.1:3006' }, { now })
  clock += day / 2
  assert.deepEqual(
    d.gcDeployments(state, { keep: 2, dryRun: true, now }).map((r) => r.deployment.id),
    ['v0', 'v1', 'v2'],
  )
  assert.equal(d.readRegistry(state).deployments.length, 7, 'dry run changes nothing')
  const byAge = d.gcDeployments(state, { maxAgeMs: 2 * day, dryRun: true, now }).map((r) => r.deployment.id)
  assert.deepEqual(byAge, ['v0', 'v1', 'v2'], 'v3 was replaced 1.5 days ago, v2 2.5 days ago')
  const removed = d.gcDeployments(state, { keep: 3, maxAgeMs: 2 * day, now })
  assert.deepEqual(
    removed.map((r) => r.deployment.id),
    ['v0', 'v1', 'v2'],
  )
  assert.match(removed[0].reason, /never promoted/)
  assert.deepEqual(
    d.readRegistry(state).deployments.map((x) => x.id),
    ['v3', 'v4', 'v5', 'v6'],
  )
  assert.throws(
    () => d.gcDeployments(state, {}),
    (e) => e.code === 'ERR_INVALID_ARG_VALUE' && /--keep/.test(e.message),
  )
  assert.throws(
    () => d.gcDeployments(state, { keep: -1 }),
    (e) => e.code === 'ERR_INVALID_ARG_VALUE',
  )

  const env = { SKEW_GUARD_DEPLOYMENTS: state }
  const r = cli(['gc', '--keep', '1'], env)
  assert.equal(r.code, 0, r.err)
  assert.equal(r.out, 'v3\n', 'stdout: removed IDs, one per line (for a deploy script)')
  assert.match(
    r.err,
    /removed v3 \(127\.0\.0\.1:3003\): more than 1 previous deployment.*\n.*Render and reload the proxy, then stop their processes/,
  )
  assert.equal(JSON.parse(cli(['gc', '--keep', '1', '--json'], env).out).length, 0)
  assert.equal(cli(['gc'], env).code, 2)
  assert.match(cli(['gc', '--max-age', '7'], env).err, /not a duration/)
  assert.equal(cli(['gc', '--keep', 'many'], env).code, 2)
})

test('usage: exit 2 for bad arguments, help exits 0, unknown commands name the valid ones', () => {
  const env = { SKEW_GUARD_DEPLOYMENTS: stateFile() }
  for (const args of [
    [],
    ['frobnicate'],
    ['add'],
    ['add', 'dpl_v1'],
    ['add', 'dpl_v1', '--upstream', 'http://x:1'],
    ['promote'],
    ['render'],
    ['render', '--proxy', 'apache'],
    ['render', '--proxy', 'nginx', '--reload'],
    ['render', '--proxy', 'nginx', '--host', 'x.com'],
    ['list', '--nope'],
    ['list', 'extra'],
  ]) {
    const r = cli(args, env)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`)
    assert.ok(!/\n\s+at /.test(r.err), 'no stack trace')
  }
  assert.match(cli(['frobnicate'], env).err, /Commands: add, promote, list, retire, gc, render/)
  for (const command of ['', 'add', 'promote', 'list', 'retire', 'gc', 'render']) {
    const r = cli([...(command ? [command] : []), '--help'], env)
    assert.equal(r.code, 0)
    assert.match(r.out, /^Usage: next-skew-guard deployments/)
  }
  const main = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' })
  assert.match(main.stdout, /deployments\s+Keep old deployments reachable/)
})

test('atomic writes: a writer killed mid-write never leaves a broken or half-written state file', async () => {
  const state = stateFile()
  d.writeStateFile(state, { ...d.emptyState(), deployments: [] })
  // A writer that rewrites a large registry as fast as it can; killed at random moments.
  const writer = `
    const d = require(${JSON.stringify(path.join(root, 'dist', 'deployments', 'index.js'))})
    const file = ${JSON.stringify(state)}
    const actions = Array.from({ length: 3000 }, (_, i) => i.toString(16).padStart(42, '0'))
    let i = 0
    process.stdout.write('ready\\n')
    for (;;) {
      i++
      d.writeStateFile(file, { format: 'next-skew-guard/deployments@1', current: null, deployments: [
        { id: 'w' + (i % 50), upstream: '127.0.0.1:' + (1000 + (i % 50)), addedAt: new Date().toISOString(), promotedAt: null, supersededAt: null, build: null, actions } ] })
    }`
  for (let round = 0; round < 12; round++) {
    const child = spawn(process.execPath, ['-e', writer], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise((resolve) => child.stdout.once('data', resolve))
    await new Promise((resolve) => setTimeout(resolve, 30 + Math.random() * 120))
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    const text = fs.readFileSync(state, 'utf8')
    const parsed = d.parseState(text, state)
    assert.ok(parsed.deployments.length <= 1, `round ${round}`)
    if (parsed.deployments.length) assert.equal(parsed.deployments[0].actions.length, 3000)
  }
  // The next write clears the temp files killed writers left behind.
  d.writeStateFile(state, d.emptyState())
  assert.deepEqual(fs.readdirSync(path.dirname(state)), ['deployments.json'])
})

test('two deploy scripts at once: concurrent adds from separate processes all land (the lock serialises them)', async () => {
  const state = stateFile()
  const perProcess = 8
  const procs = ['a', 'b', 'c'].map(
    (p) =>
      new Promise((resolve) => {
        const script = `
          const { spawnSync } = require('node:child_process')
          for (let i = 0; i < ${perProcess}; i++) {
            const r = spawnSync(process.execPath, [${JSON.stringify(bin)}, 'deployments', 'add', '${p}' + i, '--upstream', '127.0.0.1:' + (${p.charCodeAt(0) * 100} + i)], { encoding: 'utf8', env: { PATH: process.env.PATH, SKEW_GUARD_DEPLOYMENTS: ${JSON.stringify(state)} } })
            if (r.status !== 0) { console.error(r.stderr); process.exit(1) }
          }`
        const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit'] })
        child.on('exit', resolve)
      }),
  )
  assert.deepEqual(await Promise.all(procs), [0, 0, 0])
  const ids = d
    .readRegistry(state)
    .deployments.map((x) => x.id)
    .sort()
  assert.equal(ids.length, 3 * perProcess, 'no add was lost')
  assert.ok(!fs.existsSync(`${state}.lock`))
})

test('the lock: a holder blocks others (ERR_DEPLOYMENTS_LOCKED names it); a dead holder, an old or a torn lock is taken over', async () => {
  const state = stateFile()
  const lock = `${state}.lock`
  // A live holder: another process that keeps the lock for 3 s.
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `const d = require(${JSON.stringify(path.join(root, 'dist', 'deployments', 'index.js'))}); d.withLock(${JSON.stringify(lock)}, () => { process.stdout.write('held\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000) }, { purpose: 'deployments promote dpl_x' })`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  await new Promise((resolve) => holder.stdout.once('data', resolve))
  assert.throws(
    () => d.withLock(lock, () => 1, { timeoutMs: 300 }),
    (e) =>
      e.code === 'ERR_DEPLOYMENTS_LOCKED' &&
      e.message.includes(`process ${holder.pid}`) &&
      e.message.includes('deployments promote dpl_x') &&
      e.message.includes(`delete ${lock}`),
  )
  // Waiting long enough gets it once the holder is done.
  const started = Date.now()
  assert.equal(
    d.withLock(lock, () => 'mine', { timeoutMs: 10_000 }),
    'mine',
  )
  assert.ok(Date.now() - started > 500)
  await new Promise((resolve) => holder.once('exit', resolve))
  assert.ok(!fs.existsSync(lock), 'released')

  // A holder killed while holding it (its PID is gone): taken over at once.
  const killed = spawn(
    process.execPath,
    [
      '-e',
      `const d = require(${JSON.stringify(path.join(root, 'dist', 'deployments', 'index.js'))}); d.withLock(${JSON.stringify(lock)}, () => { process.stdout.write('held\\n'); setInterval(() => {}, 1000); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000) })`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  await new Promise((resolve) => killed.stdout.once('data', resolve))
  killed.kill('SIGKILL')
  await new Promise((resolve) => killed.once('exit', resolve))
  assert.ok(fs.existsSync(lock), 'the crash left the lock behind')
  assert.equal(
    d.withLock(lock, () => 'taken over', { timeoutMs: 2_000 }),
    'taken over',
  )

  // A lock from another host (its PID cannot be checked): taken over only when older than staleMs.
  fs.writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere', since: new Date().toISOString(), token: 't', purpose: 'x' }))
  assert.throws(
    () => d.withLock(lock, () => 1, { timeoutMs: 200 }),
    (e) => e.code === 'ERR_DEPLOYMENTS_LOCKED' && /on elsewhere/.test(e.message),
  )
  const old = new Date(Date.now() - 10 * 60_000)
  fs.utimesSync(lock, old, old)
  assert.equal(
    d.withLock(lock, () => 'old lock taken over', { timeoutMs: 2_000 }),
    'old lock taken over',
  )

  // A torn lock file (a crash between create and write): taken over after 2 s.
  fs.writeFileSync(lock, '{"pid": 12')
  const torn = new Date(Date.now() - 3_000)
  fs.utimesSync(lock, torn, torn)
  assert.equal(
    d.withLock(lock, () => 'torn lock taken over', { timeoutMs: 2_000 }),
    'torn lock taken over',
  )
  assert.ok(!fs.existsSync(lock) && !fs.existsSync(`${lock}.break`))
})

test('the API validates its input with stable codes', () => {
  const state = stateFile()
  assert.throws(
    () => d.addDeployment(state, null),
    (e) => e.code === 'ERR_INVALID_ARG_VALUE',
  )
  assert.throws(
    () => d.addDeployment(state, { id: 'a b', upstream: '127.0.0.1:1' }),
    (e) => e.code === 'ERR_DEPLOYMENT_ID',
  )
  assert.throws(
    () => d.addDeployment(state, { id: 'ok', upstream: 'nope' }),
    (e) => e.code === 'ERR_DEPLOYMENT_UPSTREAM',
  )
  assert.throws(
    () => d.promoteDeployment(state, 'ok'),
    (e) => e.code === 'ERR_DEPLOYMENTS_STATE',
  )
  assert.throws(
    () => d.readRegistry(''),
    (e) => e.code === 'ERR_INVALID_ARG_VALUE',
  )
  assert.throws(
    () => d.withLock('', () => 1),
    (e) => e.code === 'ERR_INVALID_ARG_VALUE',
  )
  assert.throws(
    () => d.planRouting(null),
    (e) => e.code === 'ERR_INVALID_ARG_VALUE',
  )
  assert.throws(
    () => d.planRouting(d.emptyState()),
    (e) => e.code === 'ERR_DEPLOYMENT_CURRENT' && /promote/.test(e.message),
  )
  assert.throws(
    () => d.writeStateFile(path.join(tmp, 'no', 'such', 'dir', 'x.json'), { ...d.emptyState(), current: 'ghost' }),
    (e) => e.code === 'ERR_DEPLOYMENTS_STATE',
  )
})
