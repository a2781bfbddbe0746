// docs/deploy/kubernetes.md's deploy.sh runs as written: five deploys in a row, with stand-ins for
// the only tools that need a cluster or a Docker engine (kubectl keeps its "cluster" in a JSON
// file, docker writes each image's action manifest; `date` counts, so releases differ). The first
// deploy promotes at once; the later ones start the new release beside the current one before
// promoting it; the registry survives between runs in the ConfigMap only; the fifth deploy's gc
// takes the first release out of the route, and post-apply.sh deletes its workloads only after
// the route without it was applied. Every rendered directory is checked with kustomize when
// kubectl is installed.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, test } from 'node:test'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nsg-k8s-docs-'))
after(() => fs.rmSync(tmp, { recursive: true, force: true }))

/** The code block of a Markdown file that starts with `first`. */
export function docBlock(file, first) {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
  const blocks = [...text.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)].map((m) => m[1])
  const block = blocks.find((b) => b.startsWith(first))
  assert.ok(block, `${file}: no code block starting with ${first}`)
  return block
}

const KUBECTL = String.raw`#!/usr/bin/env node
// A stand-in kubectl: the "cluster" is state.json; every call is logged.
const fs = require('node:fs')
const path = require('node:path')
const dir = process.env.FAKE_CLUSTER
const statePath = path.join(dir, 'state.json')
const state = fs.existsSync(statePath) ? JSON.parse(fs.readFileSync(statePath, 'utf8')) : { configmaps: {}, objects: {}, uids: 0 }
let args = process.argv.slice(2)
fs.appendFileSync(path.join(dir, 'calls.log'), JSON.stringify(args) + '\n')
if (args[0] === '-n') args = args.slice(2)
const save = () => fs.writeFileSync(statePath, JSON.stringify(state, null, 2))
const fail = (m) => { process.stderr.write(m + '\n'); process.exit(1) }
const [verb, kind, name] = args
if (verb === 'get' && kind === 'configmap') {
  const cm = state.configmaps[name]
  if (!cm) fail('Error from server (NotFound): configmaps "' + name + '" not found')
  process.stdout.write(cm['deployments.json'])
} else if (verb === 'get' && kind === 'secret') {
  process.stdout.write(Buffer.from('AAECAwQFBgcICQoLDA0ODw==').toString('base64'))
} else if (verb === 'get' && kind === 'deployment') {
  const o = state.objects['Deployment/' + name]
  if (!o) fail('Error from server (NotFound): deployments.apps "' + name + '" not found')
  process.stdout.write(o.uid)
} else if (verb === 'create' && kind === 'configmap') {
  const from = args.find((a) => a.startsWith('--from-file=')).slice('--from-file='.length).split('=')
  process.stdout.write(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { [from[0]]: fs.readFileSync(from[1], 'utf8') } }))
} else if (verb === 'apply' && kind === '-f') {
  const doc = JSON.parse(fs.readFileSync(0, 'utf8'))
  state.configmaps[doc.metadata.name] = doc.data
  save()
} else if (verb === 'apply' && kind === '-k') {
  const docs = ['workloads.yaml', 'httproute.yaml'].flatMap((f) => fs.readFileSync(path.join(name, f), 'utf8').split(/^---$/m))
  for (const d of docs) {
    const k = /^kind: '(\w+)'$/m.exec(d)[1]
    const n = /^  name: '([^']+)'$/m.exec(d)[1]
    const key = k + '/' + n
    state.objects[key] = { uid: state.objects[key]?.uid ?? 'uid-' + ++state.uids, backends: [...d.matchAll(/^\s+- name: '([^']+)'\n\s+port: /gm)].map((m) => m[1]) }
  }
  save()
} else if (verb === 'rollout') {
  if (!state.objects['Deployment/' + name.replace('deployment/', '')]) fail('deployment not found: ' + name)
} else if (verb === 'patch') {
  if (!state.objects['Service/' + name]) fail('service not found: ' + name)
} else if (verb === 'delete') {
  const selector = args[args.indexOf('-l') + 1]
  const keep = /notin \(([^)]*)\)/.exec(selector)[1].split(',')
  for (const key of Object.keys(state.objects)) {
    const [k, n] = key.split('/')
    if ((k === 'Deployment' || k === 'Service') && !keep.some((id) => n === 'shop-' + id.toLowerCase().replace(/_/g, '-'))) delete state.objects[key]
  }
  save()
} else fail('fake kubectl: unexpected ' + args.join(' '))
`

const DOCKER = String.raw`#!/usr/bin/env node
// A stand-in docker: builds nothing; "cp" of the action manifest writes one per image tag.
const fs = require('node:fs')
const path = require('node:path')
const args = process.argv.slice(2)
fs.appendFileSync(path.join(process.env.FAKE_CLUSTER, 'docker.log'), JSON.stringify(args) + '\n')
if (args[0] === 'create') process.stdout.write('cid-' + args[1].split(':').pop() + '\n')
if (args[0] === 'cp') {
  const tag = args[1].split(':')[0].slice('cid-'.length)
  const hex = Buffer.from(tag).toString('hex').padEnd(40, '0').slice(-40)
  fs.writeFileSync(path.join(args[2], 'server-reference-manifest.json'), JSON.stringify({ node: { ['40' + hex]: { workers: {} } }, edge: {} }))
}
`

test('docs/deploy/kubernetes.md: deploy.sh runs as written, five times', { timeout: 180_000 }, () => {
  const script = docBlock('docs/deploy/kubernetes.md', '#!/usr/bin/env bash')
  const checkout = path.join(tmp, 'checkout')
  const bin = path.join(tmp, 'bin')
  const cluster = path.join(tmp, 'cluster')
  for (const d of [checkout, bin, cluster, path.join(checkout, 'node_modules', '.bin')]) fs.mkdirSync(d, { recursive: true })
  fs.symlinkSync(path.join(ROOT, 'bin', 'next-skew-guard.js'), path.join(checkout, 'node_modules', '.bin', 'next-skew-guard'))
  fs.writeFileSync(path.join(bin, 'kubectl'), KUBECTL, { mode: 0o755 })
  fs.writeFileSync(path.join(bin, 'docker'), DOCKER, { mode: 0o755 })
  fs.writeFileSync(
    path.join(bin, 'date'),
    `#!/bin/sh\nn=$(cat '${cluster}/date' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '${cluster}/date'; echo 2026120\${n}120000\n`,
    { mode: 0o755 },
  )
  fs.writeFileSync(path.join(checkout, 'deploy.sh'), script)
  const kustomize = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0
  const releases = []
  for (let run = 1; run <= 5; run++) {
    fs.rmSync(path.join(checkout, '.deploy'), { recursive: true, force: true }) // a fresh CI runner
    fs.writeFileSync(path.join(cluster, 'calls.log'), '')
    const r = spawnSync('bash', ['deploy.sh'], {
      cwd: checkout,
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: tmp, FAKE_CLUSTER: cluster, NSG_SETTLE_SECONDS: '0' },
      timeout: 120_000,
    })
    assert.equal(r.status, 0, `run ${run}:\n${r.stdout}\n${r.stderr}`)
    const release = `dpl-2026120${run}120000`
    releases.push(release)
    const calls = fs
      .readFileSync(path.join(cluster, 'calls.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).join(' '))
    const state = JSON.parse(fs.readFileSync(path.join(cluster, 'state.json'), 'utf8'))
    const registry = JSON.parse(state.configmaps['shop-deployments']['deployments.json'])
    assert.equal(registry.current, release, `run ${run}: the new release is current`)
    const applies = calls.filter((c) => c === 'apply -k k8s/skew')
    assert.equal(
      applies.length,
      run === 1 ? 1 : 2,
      `run ${run}: ${run === 1 ? 'one apply' : 'started beside the current release, then promoted'}`,
    )
    // The new release's workloads exist before anything waits for them.
    const firstRollout = calls.findIndex((c) => c.includes(`rollout status deployment/shop-${release}`))
    assert.ok(firstRollout > calls.indexOf('apply -k k8s/skew'), `run ${run}: rollout after apply`)
    // Routes first: the last apply precedes the delete.
    const del = calls.findIndex((c) => c.startsWith('-n shop delete deployment,service'))
    assert.ok(del > calls.lastIndexOf('apply -k k8s/skew'), `run ${run}: workloads are deleted after the route changed`)
    const kept = releases.slice(-4)
    assert.deepEqual(
      registry.deployments.map((x) => x.id).sort(),
      [...kept].sort(),
      `run ${run}: gc --keep 3 keeps the current and 3 previous`,
    )
    assert.deepEqual(
      Object.keys(state.objects)
        .filter((k) => k.startsWith('Deployment/'))
        .sort(),
      kept.map((id) => `Deployment/shop-${id}`).sort(),
      `run ${run}: the cluster runs exactly the kept releases`,
    )
    assert.deepEqual(
      state.objects['HTTPRoute/shop'].backends.sort(),
      kept.map((id) => `shop-${id}`).sort(),
      `run ${run}: the route names exactly the kept releases`,
    )
    if (kustomize) assert.equal(spawnSync('kubectl', ['kustomize', path.join(checkout, 'k8s', 'skew')], { stdio: 'ignore' }).status, 0)
    // Every release's action IDs were recorded from its image.
    assert.ok(
      registry.deployments.every((x) => x.actions.length === 1),
      `run ${run}: action IDs recorded`,
    )
  }
})
