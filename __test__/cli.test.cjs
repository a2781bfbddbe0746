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
  assert.match(k8s.out, /^apiVersion: v1\nkind: Secret\n[\s\S]*stringData:\n {2}NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: "[A-Za-z0-9+/]{43}="\n$/)
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
  assert.deepEqual(json.errors.map((e) => e.code), ['ERR_KEY_PUBLIC'])
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
