/**
 * The operator CLI: `npx next-skew-guard <command>`.
 *
 * Conventions: machine output on stdout, messages on stderr; colour only on a TTY and never with
 * NO_COLOR; exit codes 0 (ok), 1 (a problem was found), 2 (usage error).
 */

import { parseArgs } from 'node:util'

import { ENV_KEY, checkKey, generateKey } from '../core'
import { DiffUsageError, ManifestError, diffBuilds, formatAction } from './diff'
import { DoctorUsageError, doctor } from './doctor'
import { InitUsageError, applyInit, planInit } from './init'
import { unifiedDiff } from './source-edit'
import { runDeployments } from './deployments'

/** Exit codes, documented in the README. */
export const EXIT = { ok: 0, problem: 1, usage: 2 } as const

interface Io {
  out: (text: string) => void
  err: (text: string) => void
  env: Record<string, string | undefined>
  color: boolean
}

class UsageError extends Error {}

const HELP: Record<string, string> = {
  main: `Usage: next-skew-guard <command> [options]

Commands:
  init      Add the guard to a Next.js app (config, instrumentation, proxy/middleware, layout, key)
  keygen    Generate a NEXT_SERVER_ACTIONS_ENCRYPTION_KEY
  check     Validate the key in the environment (or --key) and print its check value
  doctor    Check an app and its build for everything skew protection needs
  diff      Compare the Server Action IDs of two builds
  deployments  Keep old deployments reachable: registry and proxy config (nginx, Caddy, Traefik, HAProxy)

Options:
  -h, --help     Show help (also: next-skew-guard <command> --help)
  -v, --version  Show the version

Exit codes: 0 ok, 1 a problem was found, 2 usage error.`,
  init: `Usage: next-skew-guard init [dir] [--dry-run] [--json]

Adds next-skew-guard to the Next.js app in dir (default: the current directory):
  next.config.*        wrapped in withSkewGuard (created if missing)
  instrumentation.*    the guard's register/onRequestError, called from yours if you have one
  proxy.* (16) or middleware.*   the guard, running your own proxy/middleware after it
  app/layout.*         <SkewGuard /> inside <body>
  .env.local           a new NEXT_SERVER_ACTIONS_ENCRYPTION_KEY when none is set (never a tracked file)
Prints every change as a diff. Running it again changes nothing. A file it cannot edit safely is
left alone, with what to add by hand (exit 1).

Options:
  --dry-run   Show the changes without writing them
  --json      Print the plan as JSON on stdout (key values left out)`,
  keygen: `Usage: next-skew-guard keygen [--bytes 16|24|32] [--format raw|env|docker|k8s]

Prints a new random key (from the OS CSPRNG) for NEXT_SERVER_ACTIONS_ENCRYPTION_KEY.
Set the same key at build time and at runtime, and keep it secret.

Options:
  --bytes N        Key length: 16, 24 or 32 (default 32, what Next.js generates itself)
  --format F       raw (default): the key; env: a .env line; docker: a --build-arg flag;
                   k8s: a Kubernetes Secret manifest`,
  check: `Usage: next-skew-guard check [--key KEY] [--json]

Validates the key exactly as Next.js reads it (atob; 16, 24 or 32 bytes), flags public,
degenerate and suspicious keys, and prints its check value (safe to compare and log).
Without --key it reads ${ENV_KEY} from the environment.

Options:
  --key KEY   Check this key instead of the environment's
  --json      Print the full report as JSON on stdout`,
  doctor: `Usage: next-skew-guard doctor [dir] [--dist-dir DIR] [--json]

One screen about a Next.js app (default: the current directory) and its build: Next.js
version and what it does on skew, the key (pinned, valid, canonical, same at build and
runtime), build identity, externals, where the guard runs, instrumentation. Each line
says how to fix what fails. Reads the key from the environment.

Options:
  --dist-dir DIR   The build directory, when next.config computes distDir (default: the
                   literal distDir in next.config, else .next)
  --json           Print the report as JSON on stdout`,
  diff: `Usage: next-skew-guard diff <old-build> <new-build> [--fail-on-removed] [--json]

Compares the Server Action IDs of two builds (app directories or their .next
directories): kept, removed (old tabs will call them in vain) and added, with file and
export names where the manifest has them. Warns when every ID changed.

Options:
  --fail-on-removed   Exit 1 when any action was removed (a CI gate)
  --json              Print the diff as JSON on stdout`,
}

function paint(io: Io, code: string, text: string): string {
  return io.color ? `\u001b[${code}m${text}\u001b[0m` : text
}

/**
 * A key pasted in the wrong place must not be printed back: long base64/hex-like words are not
 * shown, also inside the quotes and whitespace a copy from a `.env` file brings along.
 */
function shown(arg: string): string {
  const bare = arg.replace(/[\s"'`]/g, '')
  return bare.length >= 16 && /^[A-Za-z0-9+/=_-]+$/.test(bare) ? `<${arg.length}-character argument, not shown>` : `"${arg}"`
}

/** parseArgs's own message, with every argument that could be a key replaced by {@link shown}. */
function usageError(e: unknown, args: string[]): UsageError {
  let message = (e as Error).message
  for (const arg of args) if (shown(arg) !== `"${arg}"`) message = message.split(arg).join(shown(arg))
  return new UsageError(message)
}

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false })
      .values as Record<string, string | boolean | undefined>
  } catch (e) {
    throw usageError(e, args)
  }
}

function keygen(args: string[], io: Io): number {
  const values = parse(args, { bytes: { type: 'string' }, format: { type: 'string' } })
  if (values.help) return (io.out(HELP.keygen), EXIT.ok)
  const bytes = Number(values.bytes ?? 32)
  if (![16, 24, 32].includes(bytes)) throw new UsageError(`--bytes must be 16, 24 or 32; got ${values.bytes}.`)
  const format = (values.format as string | undefined) ?? 'raw'
  const key = generateKey(bytes as 16 | 24 | 32)
  switch (format) {
    case 'raw':
      io.out(key)
      break
    case 'env':
      io.out(`${ENV_KEY}=${key}`)
      break
    case 'docker':
      io.out(`--build-arg ${ENV_KEY}=${key}`)
      io.err(
        `In the Dockerfile, pass it to both \`next build\` and \`next start\`:\n  ARG ${ENV_KEY}\n  ENV ${ENV_KEY}=$${ENV_KEY}\n` +
          'Prefer a build secret over a build-arg where your registry is shared: build args are visible in the image history.',
      )
      break
    case 'k8s':
      io.out(
        [
          'apiVersion: v1',
          'kind: Secret',
          'metadata:',
          '  name: next-server-actions-key',
          'type: Opaque',
          'stringData:',
          `  ${ENV_KEY}: "${key}"`,
        ].join('\n'),
      )
      io.err('Reference it from the Deployment (envFrom.secretRef) and from the job that runs `next build`.')
      break
    default:
      throw new UsageError(`--format must be raw, env, docker or k8s; got ${format}.`)
  }
  return EXIT.ok
}

function check(args: string[], io: Io): number {
  const values = parse(args, { key: { type: 'string' }, json: { type: 'boolean' } })
  if (values.help) return (io.out(HELP.check), EXIT.ok)
  const key = (values.key as string | undefined) ?? io.env[ENV_KEY]
  if (key === undefined) {
    io.err(
      `${paint(io, '31', '✗')} ${ENV_KEY} is not set. Without it Next.js uses a random key per build, and open tabs ` +
        'break on every deploy. Generate one with `npx next-skew-guard keygen`.',
    )
    return EXIT.problem
  }
  const report = checkKey(key)
  if (values.json) io.out(JSON.stringify(report, null, 2))
  else if (report.checkValue) io.out(report.checkValue)
  for (const e of report.errors) io.err(`${paint(io, '31', '✗')} ${e.code}: ${e.message}`)
  for (const w of report.warnings) io.err(`${paint(io, '33', '!')} ${w.code}: ${w.message}`)
  if (report.ok) {
    io.err(`${paint(io, '32', '✓')} valid ${report.bytes}-byte key, check value ${report.checkValue}`)
    return EXIT.ok
  }
  return EXIT.problem
}

function runInit(args: string[], io: Io): number {
  const { values, positionals } = parsePositional(args, { 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } }, 1)
  if (values.help) return (io.out(HELP.init), EXIT.ok)
  let plan
  try {
    plan = planInit(positionals[0] ?? '.', io.env)
  } catch (e) {
    if (e instanceof InitUsageError) throw new UsageError(e.message)
    throw e
  }
  const dryRun = values['dry-run'] === true
  if (!dryRun) applyInit(plan)
  if (values.json) {
    const changes = plan.changes.map((c) => ({
      file: c.file,
      why: c.why,
      created: c.before === null,
      diff: unifiedDiff(c.file, c.shown?.before ?? c.before, c.shown?.after ?? c.after),
    }))
    io.out(JSON.stringify({ ...plan, changes, written: !dryRun }, null, 2))
    return plan.manual.length ? EXIT.problem : EXIT.ok
  }
  const mark = { ok: paint(io, '32', '✓'), fail: paint(io, '31', '✗'), warn: paint(io, '33', '!') }
  io.out(
    `next-skew-guard init: ${plan.dir} (Next.js ${plan.nextVersion ?? 'not installed'}${plan.typescript ? ', TypeScript' : ''}${plan.appDir ? `, ${plan.appDir}` : ''})`,
  )
  for (const c of plan.changes) {
    io.out(`\n${mark.ok} ${dryRun ? 'would ' : ''}${c.before === null ? 'create' : 'change'} ${c.file}: ${c.why}`)
    io.out(unifiedDiff(c.file, c.shown?.before ?? c.before, c.shown?.after ?? c.after))
  }
  for (const p of plan.present) io.out(`${mark.ok} already in place: ${p}`)
  for (const m of plan.manual) io.out(`${mark.fail} ${m.file}: not changed, because ${m.why}.\n    add by hand: ${m.what}`)
  for (const n of plan.notes) io.out(`${mark.warn} ${n}`)
  if (plan.changes.length === 0 && plan.manual.length === 0) io.out('Nothing to change: every touch point is in place.')
  else if (dryRun) io.out('\nDry run: nothing was written. Run without --dry-run to apply.')
  else io.out('\nNext: install next-skew-guard if you have not, run `next build`, then `npx next-skew-guard doctor`.')
  return plan.manual.length ? EXIT.problem : EXIT.ok
}

function runDoctor(args: string[], io: Io): number {
  const { values, positionals } = parsePositional(args, { json: { type: 'boolean' }, 'dist-dir': { type: 'string' } }, 1)
  if (values.help) return (io.out(HELP.doctor), EXIT.ok)
  let report
  try {
    report = doctor(positionals[0] ?? '.', io.env, values['dist-dir'] as string | undefined)
  } catch (e) {
    if (e instanceof DoctorUsageError) throw new UsageError(e.message)
    throw e
  }
  if (values.json) {
    io.out(JSON.stringify(report, null, 2))
  } else {
    io.out(`next-skew-guard doctor: ${report.dir}`)
    const mark = { ok: paint(io, '32', '✓'), fail: paint(io, '31', '✗'), warn: paint(io, '33', '!'), info: '·' }
    for (const f of report.findings) {
      io.out(`${mark[f.status]} ${f.check}: ${f.message}`)
      if (f.fix && f.status !== 'ok') io.out(`    fix: ${f.fix}`)
    }
  }
  return report.ok ? EXIT.ok : EXIT.problem
}

function runDiff(args: string[], io: Io): number {
  const { values, positionals } = parsePositional(args, { json: { type: 'boolean' }, 'fail-on-removed': { type: 'boolean' } }, 2)
  if (values.help) return (io.out(HELP.diff), EXIT.ok)
  if (positionals.length !== 2) throw new UsageError('diff needs two builds: next-skew-guard diff <old> <new>.')
  let diff
  try {
    diff = diffBuilds(positionals[0], positionals[1])
  } catch (e) {
    if (e instanceof DiffUsageError) throw new UsageError(e.message)
    if (e instanceof ManifestError) {
      io.err(`${paint(io, '31', '✗')} ${e.message}`)
      return EXIT.problem
    }
    throw e
  }
  if (values.json) {
    io.out(JSON.stringify(diff, null, 2))
  } else {
    io.out(`kept ${diff.kept.length}, removed ${diff.removed.length}, added ${diff.added.length}`)
    for (const a of diff.removed) io.out(`- ${formatAction(a)}`)
    for (const a of diff.added) io.out(`+ ${formatAction(a)}`)
    for (const a of diff.kept) io.out(`  ${formatAction(a)}`)
  }
  if (diff.warning) io.err(`${paint(io, '33', '!')} ${diff.warning}`)
  return values['fail-on-removed'] && diff.removed.length > 0 ? EXIT.problem : EXIT.ok
}

function parsePositional(
  args: string[],
  options: Record<string, { type: 'string' | 'boolean' }>,
  maxPositionals: number,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true })
    if (parsed.positionals.length > maxPositionals) {
      throw new UsageError(`Unexpected argument ${shown(parsed.positionals[maxPositionals] ?? '')}.`)
    }
    return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals }
  } catch (e) {
    throw e instanceof UsageError ? e : usageError(e, args)
  }
}

function version(): string {
  // dist/cli/index.js → ../../package.json
  return (require('../../package.json') as { version: string }).version
}

/** Runs the CLI and returns its exit code. */
export function main(argv: string[], io: Partial<Io> = {}): number {
  const full: Io = {
    out: io.out ?? ((t) => process.stdout.write(`${t}\n`)),
    err: io.err ?? ((t) => process.stderr.write(`${t}\n`)),
    env: io.env ?? process.env,
    color: io.color ?? (!!process.stderr.isTTY && !process.env.NO_COLOR),
  }
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'init':
        return runInit(rest, full)
      case 'keygen':
        return keygen(rest, full)
      case 'check':
        return check(rest, full)
      case 'doctor':
        return runDoctor(rest, full)
      case 'diff':
        return runDiff(rest, full)
      case 'deployments':
        return runDeployments(rest, full)
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        full.out(HELP.main)
        return command === undefined ? EXIT.usage : EXIT.ok
      case '-v':
      case '--version':
        full.out(version())
        return EXIT.ok
      default:
        throw new UsageError(`Unknown command ${shown(command)}. Commands: init, keygen, check, doctor, diff, deployments.`)
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    full.err(`next-skew-guard: ${e.message}\nRun \`next-skew-guard --help\` for usage.`)
    return EXIT.usage
  }
}
