// The Next.js pins live in scripts/next-versions.json; every other file that names a version must
// agree with it, so an upgrade is one edit (and this test lists what else to change).
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const pins = require('../scripts/next-versions.json')
const json = (rel) => JSON.parse(fs.readFileSync(path.join(root, rel), 'utf8'))

test('package.json, the example app and its per-version overlays pin what scripts/next-versions.json says', () => {
  const latest = pins.matrix['16']
  const mismatches = []
  const expect = (file, deps, want) => {
    for (const name of ['next', 'react', 'react-dom']) {
      const wanted = name === 'next' ? want.next : want.react
      if (deps[name] !== undefined && deps[name] !== wanted) mismatches.push(`${file}: ${name} ${deps[name]}, expected ${wanted}`)
    }
  }
  expect('package.json devDependencies', json('package.json').devDependencies, latest)
  expect('examples/next-app/package.json', json('examples/next-app/package.json').dependencies, latest)
  for (const [key, want] of Object.entries(pins.matrix)) {
    if (key === '16') continue
    const file = `examples/next-app/versions/${key}/package.json`
    assert.ok(fs.existsSync(path.join(root, file)), `${file} is missing for matrix version ${key}`)
    expect(file, json(file).dependencies, want)
  }
  for (const key of pins.vectors) assert.ok(pins.matrix[key], `vector version ${key} is not in the matrix`)
  for (const key of pins.recovery) assert.ok(pins.matrix[key], `recovery version ${key} is not in the matrix`)
  assert.deepEqual(mismatches, [])
})
