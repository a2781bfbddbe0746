// The Rust-level benchmark (benches/verify.rs): the same work without Node.js, so the table can
// show how much of a verifySync call is crypto and base64, and how much is the napi boundary.
// `cargo bench --bench verify --features without-node`; the first run compiles (a minute or two).
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Resolves `{ rows: [{ name, ns, bytes }] }`, or `{ skipped: reason }`. */
export function runRustBench({ log = console.error } = {}) {
  if (spawnSync('cargo', ['--version']).status !== 0) return { skipped: 'cargo is not installed' }
  const json = path.join(os.tmpdir(), `nsg-rust-bench-${process.pid}.json`)
  log('  cargo bench --bench verify --features without-node …')
  const r = spawnSync('cargo', ['bench', '--bench', 'verify', '--features', 'without-node'], {
    cwd: ROOT,
    env: { ...process.env, BENCH_JSON: json },
    encoding: 'utf8',
    timeout: 15 * 60_000,
  })
  if (r.status !== 0) return { skipped: `cargo bench failed (exit ${r.status}): ${(r.stderr ?? '').slice(-2000)}` }
  try {
    return JSON.parse(fs.readFileSync(json, 'utf8'))
  } finally {
    fs.rmSync(json, { force: true })
  }
}
