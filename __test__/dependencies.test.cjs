// docs/dependencies.md stays true: every runtime dependency in the package.json
// files and Cargo.toml is documented there, and nothing documented is gone. With
// cargo available, the documented Rust tree is the one `cargo tree` resolves.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const doc = fs.readFileSync(path.join(root, 'docs', 'dependencies.md'), 'utf8')

/** Names of a TOML section's keys (`name = …` lines, or `[section.name]` tables). */
function tomlSection(text, section) {
  const names = []
  let inside = false
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    const header = /^\[([^\]]+)\]$/.exec(line)
    if (header) {
      inside = header[1] === section
      const sub = header[1].startsWith(`${section}.`) ? header[1].slice(section.length + 1) : null
      if (sub) names.push(sub)
      continue
    }
    const key = inside && /^([A-Za-z0-9_-]+)\s*=/.exec(line)
    if (key) names.push(key[1])
  }
  return names.sort()
}

const pkg = require('../package.json')
const nativePkg = require('../native/package.json')
const cargoToml = fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8')

test('next-skew-guard: dependencies and peer dependencies are the documented ones', () => {
  const [deps, peers] = documentedTables('### next-skew-guard\n', 2)
  assert.deepEqual(Object.keys(pkg.dependencies ?? {}).sort(), deps)
  assert.deepEqual(Object.keys(pkg.peerDependencies ?? {}).sort(), peers)
  assert.deepEqual(pkg.optionalDependencies, undefined, 'no optional dependencies (document them if added)')
  for (const [name, meta] of Object.entries(pkg.peerDependenciesMeta ?? {})) {
    assert.ok(meta.optional, name)
    assert.match(doc, new RegExp(`\\| \`${name}\` \\| \`[^|]+\`, optional \\|`), `${name} is documented as optional`)
  }
  assert.equal(pkg.dependencies['next-skew-guard-native'], nativePkg.version, 'the native package is pinned to this release')
})

test('next-skew-guard-native: no dependencies; every platform package is documented', () => {
  assert.match(doc, /### next-skew-guard-native[\s\S]*?Dependencies: none\./)
  for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
    assert.equal(nativePkg[field], undefined, `native/package.json has ${field}`)
  }
  const platforms = fs
    .readdirSync(path.join(root, 'native', 'npm'))
    .map((dir) => require(path.join(root, 'native', 'npm', dir, 'package.json')))
  assert.equal(platforms.length, nativePkg.napi.targets.length, 'one platform package per napi target')
  assert.deepEqual(platforms.map((p) => p.name).sort(), documentedTables('Platform packages', 1)[0])
  for (const p of platforms) assert.equal(p.dependencies, undefined, `${p.name} has no dependencies`)
})

test('Cargo.toml: [dependencies] are the documented direct dependencies, with the zeroize features', () => {
  assert.deepEqual(tomlSection(cargoToml, 'dependencies'), documentedTables('### Direct dependencies', 1)[0])
  assert.deepEqual(tomlSection(cargoToml, 'build-dependencies'), ['napi-build'])
  assert.match(doc, /Build dependency: `napi-build`/)
  // The wiping of key schedules that docs/security.md promises rests on these features.
  for (const crate of ['aes', 'aes-gcm']) {
    const line = cargoToml.split('\n').find((l) => l.startsWith(`${crate} =`))
    assert.match(line, /features = \[[^\]]*"zeroize"/, `${crate} keeps its zeroize feature`)
  }
})

test('the documented Rust tree is the one cargo resolves', (t) => {
  const r = spawnSync('cargo', ['tree', '-e', 'normal', '--target', 'all', '--prefix', 'none', '--no-dedupe', '--locked', '--offline'], {
    cwd: root,
    encoding: 'utf8',
  })
  if (r.error?.code === 'ENOENT') return t.skip('cargo is not installed')
  assert.equal(r.status, 0, r.stderr)
  const resolved = new Map()
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+) v(\S+)/.exec(line)
    if (m && m[1] !== 'next-skew-guard') resolved.set(m[1], m[2])
  }
  const rows = [...doc.slice(doc.indexOf('### The whole tree')).matchAll(/^\| `([^`]+)` \| ([^ |]+) \|/gm)]
  const listed = new Map(rows.map(([, name, version]) => [name, version]))
  assert.deepEqual([...listed.keys()].sort(), [...resolved.keys()].sort(), 'crates in docs/dependencies.md vs cargo tree')
  for (const [name, version] of resolved) assert.equal(listed.get(name), version, `${name} version`)
})

/** The first `count` tables after `marker`, as sorted first-column names. */
function documentedTables(marker, count) {
  const start = doc.indexOf(marker)
  assert.ok(start >= 0, `docs/dependencies.md has no "${marker}"`)
  const lines = doc.slice(start).split('\n')
  const tables = []
  let current = null
  for (const line of lines) {
    if (line.startsWith('|')) {
      if (!current) tables.push((current = []))
      const match = /^\|\s*`([^`]+)`\s*\|/.exec(line)
      if (match) current.push(match[1])
    } else if (current) {
      if (tables.length === count) break
      current = null
    }
  }
  return tables.map((t) => t.sort())
}
