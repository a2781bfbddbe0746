// Compiled with `tsc --noEmit` by packaging.test.cjs: the shipped types must
// describe the documented API (and reject misuse marked @ts-expect-error).
import { Keyring, SkewGuardError, checkKey, compareBuildIds, generateKey, parseKey, type VerifyResult } from 'next-skew-guard'

const key: string = generateKey(32)
const info = parseKey(key)
const bits: 128 | 192 | 256 = info.bits
const report = checkKey(key)
const codes: string[] = report.errors.map((e) => e.code)
const ring: Keyring = Keyring.fromEnv({ NEXT_SERVER_ACTIONS_ENCRYPTION_KEY: key })
const result: VerifyResult = ring.verifySync('payload', 'a'.repeat(42))
if (result.ok) {
  const index: number = result.keyIndex
  void index
} else if (result.status === 'malformed') {
  const reason: 'ERR_PAYLOAD_TOO_LARGE' | 'ERR_PAYLOAD_NOT_BASE64' | 'ERR_PAYLOAD_TOO_SHORT' = result.reason
  void reason
}
const same: 'same' | 'different' | 'unknown' = compareBuildIds('a', null)
const sealed: Promise<string> = ring.seal('a'.repeat(42), '0:[]\n')
try {
  parseKey('x')
} catch (e) {
  if (e instanceof SkewGuardError) {
    const code: string = e.code
    void code
  }
}
// @ts-expect-error generateKey takes 16, 24 or 32
generateKey(20)
// @ts-expect-error a keyring needs its options object
new Keyring()
void [bits, codes, same, sealed]

// A create-next-app `next.config.ts`. Next.js's `NextConfig` is made of interfaces without an index
// signature; a stand-in of that shape keeps this check free of Next.js's own declarations (which
// do not compile under skipLibCheck: false).
import { withSkewGuard } from 'next-skew-guard/config'
interface ExperimentalConfig {
  optimizePackageImports?: string[]
}
interface NextConfig {
  reactStrictMode?: boolean
  experimental?: ExperimentalConfig
  images?: { unoptimized?: boolean }
}
const appConfig: NextConfig = { reactStrictMode: true, experimental: { optimizePackageImports: ['x'] }, images: { unoptimized: true } }
const exported: NextConfig | ((phase: string, context: { defaultConfig: NextConfig }) => Promise<NextConfig>) = withSkewGuard(appConfig)
const fromFunction = withSkewGuard(async (): Promise<NextConfig> => appConfig, { buildId: 'v1' })
void exported
void fromFunction
// @ts-expect-error the config must be an object or a function
withSkewGuard('next.config')
