#!/usr/bin/env node
'use strict'
// Operator CLI; the implementation lives in lib/cli (compiled to dist/cli).
try {
  process.exitCode = require('../dist/cli/index.js').main(process.argv.slice(2))
} catch (error) {
  process.stderr.write(`next-skew-guard: unexpected error: ${error?.message ? error.message : error}\n`)
  process.exitCode = 1
}
