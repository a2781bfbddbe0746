// Preload for test runs (`node --require ./scripts/record-test-keys.cjs --test …`; node --test
// passes it on to every test file's process): when NSG_TEST_KEYS_FILE is set, every key the
// native core generates in a test process is appended to that file, one base64 key a line, so
// that scripts/scan-secrets.mjs (`--keys-file`) can search the run's output for the keys the
// tests made at run time as well as the ones written in their sources. Without the variable it
// does nothing. Keys made by child processes (the CLI's `keygen`, Next.js servers) are not
// recorded: those processes are not test files.
const fs = require('node:fs')
const Module = require('node:module')

const file = process.env.NSG_TEST_KEYS_FILE
if (file) {
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
          // Recording is best effort; the test itself must not fail because of it.
        }
        return key
      }
    }
    return exports
  }
}
