#!/usr/bin/env node
// A test run whose output is checked for leaked keys.
//
// As a command: runs a command with its output shown live and also written to a log file
// under os.tmpdir()/nsg-test-logs/, then scans that log and the end-to-end logs for test keys
// (scripts/scan-secrets.mjs --e2e). The exit code is the command's, or 1 when the command
// passed but the scan found a key.
//
//   node scripts/test-log.mjs <command> [args...]     e.g. node scripts/test-log.mjs node scripts/test.mjs
//
// As a preload of the test processes (`node --import ./scripts/test-log.mjs --test __test__/`;
// node --test passes it on to every test file's process): when NSG_TEST_KEYS_FILE is set, every
// key the native core generates there is appended to that file, one a line, so that the scan
// also looks for the keys the tests made at run time, not only those written in their sources.
// Keys made by child processes (the CLI's `keygen`, Next.js servers) are not recorded: those
// processes are not test files. Without the variable the preload does nothing.
//
// `runLogged` is the command form for a script that wraps itself (scripts/test.mjs): the wrapped
// run sees NSG_TEST_LOG set to the log file, so it does not wrap again, and NSG_TEST_KEYS_FILE.

import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import Module from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

import { main as scanSecrets } from './scan-secrets.mjs'

export const LOG_DIR = path.join(os.tmpdir(), 'nsg-test-logs')

/** Runs `command` teeing stdout and stderr to a new log file; resolves with exit code and log path. */
export function runTeed(command, args, options = {}) {
  fs.mkdirSync(LOG_DIR, { recursive: true })
  const base = path.join(LOG_DIR, `test-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`)
  const file = `${base}.log`
  const keysFile = `${base}.keys`
  const log = fs.createWriteStream(file)
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      ...options,
      env: { ...(options.env ?? process.env), NSG_TEST_LOG: file, NSG_TEST_KEYS_FILE: keysFile },
      stdio: ['inherit', 'pipe', 'pipe'],
    })
    child.stdout.on('data', (chunk) => (process.stdout.write(chunk), log.write(chunk)))
    child.stderr.on('data', (chunk) => (process.stderr.write(chunk), log.write(chunk)))
    const finish = (code) => log.end(() => resolve({ code, file, keysFile }))
    // A signal to this process (a CI timeout, `kill`) reaches the run, which cleans up after itself.
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
    child.on('error', (e) => (process.stderr.write(`could not start ${command}: ${e.message}\n`), finish(1)))
    child.on('close', (code, signal) => finish(code ?? (signal ? 1 : 0)))
  })
}

/** Runs the command logged, then the secret scan over its log and the e2e logs. */
export async function runLogged(command, args, options = {}) {
  const { code, file, keysFile } = await runTeed(command, args, options)
  console.log(`\n▶ secret scan: ${file} and the end-to-end logs`)
  const scanned = await scanSecrets(['--e2e', '--keys-file', keysFile, file])
  // The generated keys were only needed for the scan.
  fs.rmSync(keysFile, { force: true })
  if (scanned !== 0) console.error('✗ secret scan: test keys found in output (see above)')
  return code !== 0 ? code : scanned === 0 ? 0 : 1
}

/** Wraps the native core's `generateKey` so that each key it returns is appended to `file`. */
function recordGeneratedKeys(file) {
  const load = Module._load
  Module._load = function loadRecording(request, ...rest) {
    const exports = load.call(this, request, ...rest)
    if (request === 'next-skew-guard-native' && exports && !exports.__recordingKeys) {
      const generateKey = exports.generateKey
      Object.defineProperty(exports, '__recordingKeys', { value: true })
      exports.generateKey = function recordedGenerateKey(...args) {
        const key = generateKey.apply(this, args)
        try {
          fs.appendFileSync(file, `${key}\n`)
        } catch {
          // Best effort: a test must not fail because its keys could not be recorded.
        }
        return key
      }
    }
    return exports
  }
}

const isCommand = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (!isCommand && process.env.NSG_TEST_KEYS_FILE) recordGeneratedKeys(process.env.NSG_TEST_KEYS_FILE)

if (isCommand) {
  const [command, ...args] = process.argv.slice(2)
  if (!command) {
    console.error('usage: node scripts/test-log.mjs <command> [args...]')
    process.exitCode = 2
  } else {
    process.exitCode = await runLogged(command, args)
  }
}
