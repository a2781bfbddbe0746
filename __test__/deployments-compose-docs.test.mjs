// docs/deploy/docker-compose.md's deploy.sh runs as written (with its /srv/shop in a temporary
// directory): five deploys in a row, with stand-ins for git, npm and the Docker engine. `docker
// compose up` is checked by the real Docker Compose (`config` on the rendered file, then the
// stand-in starts the services it lists and removes the orphans); `date` counts, so releases
// differ. After every deploy the new release is current, Compose runs exactly the releases the
// registry keeps (gc --keep 3: the current one and three previous), and the images and
// directories of removed releases are gone.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, test } from 'node:test'

import { dockerCompose } from './fixtures/schemas/index.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-compose-docs-'))
after(() => fs.rmSync(tmp, { recursive: true, force: true }))

function docBlock(file, first) {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
  const block = [...text.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)].map((m) => m[1]).find((b) => b.startsWith(first))
  assert.ok(block, `${file}: no code block starting with ${first}`)
  return block
}

const DOCKER = String.raw`#!/usr/bin/env node
// A stand-in Docker engine: images are names, "cp" writes each image's action manifest, and
// "compose up" has the real Docker Compose check the file, then runs what it lists.
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const dir = process.env.FAKE_DOCKER
const statePath = path.join(dir, 'state.json')
const state = fs.existsSync(statePath) ? JSON.parse(fs.readFileSync(statePath, 'utf8')) : { images: [], running: [] }
const args = process.argv.slice(2)
fs.appendFileSync(path.join(dir, 'calls.log'), JSON.stringify(args) + '\n')
const save = () => fs.writeFileSync(statePath, JSON.stringify(state, null, 2))
if (args[0] === 'build') {
  state.images.push(args[args.indexOf('-t') + 1])
  save()
} else if (args[0] === 'create') process.stdout.write('cid-' + args[1].split(':').pop() + '\n')
else if (args[0] === 'cp') {
  const tag = args[1].split(':')[0].slice('cid-'.length)
  const hex = Buffer.from(tag).toString('hex').padEnd(40, '0').slice(-40)
  fs.writeFileSync(path.join(args[2], 'server-reference-manifest.json'), JSON.stringify({ node: { ['40' + hex]: { workers: {} } }, edge: {} }))
} else if (args[0] === 'rm') {
} else if (args[0] === 'image' && args[1] === 'rm') {
  state.images = state.images.filter((i) => i !== args[2])
  save()
} else if (args[0] === 'compose') {
  const file = args[args.indexOf('-f') + 1]
  const r = spawnSync(process.env.FAKE_COMPOSE, ['-f', file, 'config', '--format', 'json'], { encoding: 'utf8' })
  if (r.status !== 0) { process.stderr.write(r.stderr); process.exit(r.status) }
  const services = Object.keys(JSON.parse(r.stdout).services)
  if (!args.includes('--remove-orphans')) state.running = [...new Set([...state.running, ...services])]
  else state.running = services
  save()
} else { process.stderr.write('fake docker: unexpected ' + args.join(' ') + '\n'); process.exit(1) }
`

test('docs/deploy/docker-compose.md: deploy.sh runs as written, five times', { timeout: 600_000 }, async () => {
  const home = path.join(tmp, 'srv-shop')
  const bin = path.join(tmp, 'bin')
  const docker = path.join(tmp, 'docker')
  for (const d of [home, bin, docker, path.join(home, 'repo', 'node_modules', '.bin')]) fs.mkdirSync(d, { recursive: true })
  const script = docBlock('docs/deploy/docker-compose.md', '#!/usr/bin/env bash').replaceAll('/srv/shop', home)
  // "Once": the key file.
  const key = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'next-skew-guard.js'), 'keygen', '--format', 'env'], { encoding: 'utf8' })
  fs.writeFileSync(path.join(home, 'app.env'), key.stdout, { mode: 0o600 })
  fs.symlinkSync(path.join(ROOT, 'bin', 'next-skew-guard.js'), path.join(home, 'repo', 'node_modules', '.bin', 'next-skew-guard'))
  fs.writeFileSync(path.join(bin, 'docker'), DOCKER, { mode: 0o755 })
  fs.writeFileSync(path.join(bin, 'git'), '#!/bin/sh\nexit 0\n', { mode: 0o755 })
  fs.writeFileSync(path.join(bin, 'npm'), '#!/bin/sh\nexit 0\n', { mode: 0o755 })
  fs.writeFileSync(
    path.join(bin, 'date'),
    `#!/bin/sh\nn=$(cat '${docker}/date' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '${docker}/date'; echo 2026120\${n}120000\n`,
    { mode: 0o755 },
  )
  fs.writeFileSync(path.join(tmp, 'deploy.sh'), script)
  const compose = await dockerCompose()
  const releases = []
  for (let run = 1; run <= 5; run++) {
    const r = spawnSync('bash', [path.join(tmp, 'deploy.sh')], {
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: tmp, FAKE_DOCKER: docker, FAKE_COMPOSE: compose },
      timeout: 120_000,
    })
    assert.equal(r.status, 0, `run ${run}:\n${r.stdout}\n${r.stderr}`)
    const release = `dpl-2026120${run}120000`
    releases.push(release)
    const kept = releases.slice(-4)
    const registry = JSON.parse(fs.readFileSync(path.join(home, 'deployments.json'), 'utf8'))
    const state = JSON.parse(fs.readFileSync(path.join(docker, 'state.json'), 'utf8'))
    assert.equal(registry.current, release, `run ${run}: the new release is current`)
    assert.deepEqual(
      registry.deployments.map((x) => x.id),
      kept,
      `run ${run}: the registry keeps the current and 3 previous`,
    )
    assert.deepEqual(state.running.sort(), kept.map((id) => `shop-${id}`).sort(), `run ${run}: Compose runs exactly those`)
    assert.deepEqual(state.images.sort(), kept.map((id) => `shop:${id}`).sort(), `run ${run}: removed releases' images are gone`)
    assert.deepEqual(fs.readdirSync(path.join(home, 'releases')).sort(), [...kept].sort(), `run ${run}: and their directories`)
    assert.ok(
      registry.deployments.every((x) => x.actions.length === 1),
      `run ${run}: action IDs recorded`,
    )
    // The new release was registered and promoted before it started, so it starts with its routes.
    const text = fs.readFileSync(path.join(home, 'compose.yaml'), 'utf8')
    assert.match(text, new RegExp(`traefik\\.http\\.routers\\.nsg-${release}-current\\.rule`))
  }
})
