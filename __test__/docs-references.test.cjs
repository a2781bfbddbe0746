// The repository's docs stand alone: every Markdown document a source file, doc, comment or shipped
// declaration names exists in the repository, and nothing points outside it.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const root = path.join(__dirname, '..')

function files() {
  const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean)
  const dist = []
  const walk = (dir) => {
    if (!fs.existsSync(path.join(root, dir))) return
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(rel)
      else dist.push(rel)
    }
  }
  walk('dist')
  return [...tracked, ...dist].filter((f) => /\.(m?[jt]sx?|cjs|md|rs|toml|json|ya?ml|sh)$/.test(f) || f === '.ci/run')
}

test('every Markdown document named anywhere exists in the repository; nothing cites material outside it', () => {
  const all = files()
  const present = new Set(all.filter((f) => f.endsWith('.md')).map((f) => path.basename(f)))
  const problems = []
  for (const file of all) {
    if (file.startsWith('__test__/fixtures/') || file.endsWith('package-lock.json')) continue
    let text
    try {
      text = fs.readFileSync(path.join(root, file), 'utf8')
    } catch {
      continue
    }
    const lines = text.split('\n')
    lines.forEach((line, i) => {
      if (/shared\/design\//.test(line)) problems.push(`${file}:${i + 1}: points outside the repository`)
      for (const m of line.matchAll(/(?<![\w/.-])((?:[\w.-]+\/)*[A-Za-z][\w-]*\.md)\b/g)) {
        const name = path.basename(m[1])
        // Other projects' files named in prose (a package's README.md, CHANGELOG.md) are not ours to ship.
        if (/^(README|CHANGELOG|LICENSE|CONTRIBUTING|SECURITY)\.md$/.test(name) && !m[1].startsWith('docs/')) continue
        if (!present.has(name)) problems.push(`${file}:${i + 1}: names ${m[1]}, which is not in the repository`)
      }
    })
  }
  assert.deepEqual(problems, [])
})
