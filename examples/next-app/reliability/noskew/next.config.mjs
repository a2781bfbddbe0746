// The example as a real monorepo app configures it: served under a base path with trailing
// slashes, the commit as its build ID, and an explicit body size limit for Server Actions.
import { execSync } from 'node:child_process'
import { withSkewGuard } from 'next-skew-guard/config'

export default withSkewGuard({
  basePath: '/base',
  trailingSlash: true,
  // The commit, written the way many apps write it: `.toString()` keeps git's trailing newline
  // (Next.js trims the build ID it writes itself).
  generateBuildId: () => execSync('git rev-parse HEAD').toString(),
  experimental: { serverActions: { bodySizeLimit: '1mb' } },
})
