/**
 * The operator CLI: `npx next-skew-guard <command>`.
 *
 * Conventions: machine output on stdout, messages on stderr; colour only on a TTY and never with
 * NO_COLOR; exit codes 0 (ok), 1 (a problem was found), 2 (usage error).
 */

import { parseArgs } from 'node:util'

import { ENV_KEY, checkKey, generateKey } from '../core'

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
  keygen    Generate a NEXT_SERVER_ACTIONS_ENCRYPTION_KEY
  check     Validate the key in the environment (or --key) and print its check value

Options:
  -h, --help     Show help (also: next-skew-guard <command> --help)
  -v, --version  Show the version

Exit codes: 0 ok, 1 a problem was found, 2 usage error.`,
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
}

function paint(io: Io, code: string, text: string): string {
  return io.color ? `\u001b[${code}m${text}\u001b[0m` : text
}

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false })
      .values as Record<string, string | boolean | undefined>
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
}

function keygen(args: string[], io: Io): number {
  const values = parse(args, { bytes: { type: 'string' }, format: { type: 'string' } })
  if (values.help) return io.out(HELP.keygen), EXIT.ok
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
  if (values.help) return io.out(HELP.check), EXIT.ok
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
      case 'keygen':
        return keygen(rest, full)
      case 'check':
        return check(rest, full)
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
        throw new UsageError(`Unknown command "${command}". Commands: keygen, check.`)
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    full.err(`next-skew-guard: ${e.message}\nRun \`next-skew-guard --help\` for usage.`)
    return EXIT.usage
  }
}
