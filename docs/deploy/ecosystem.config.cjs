// ecosystem.config.cjs — PM2: one process per release directory, named app@<release>.
//
//   /srv/app/releases/<release>/              the app, built
//   /srv/app/releases/<release>/release.env   PORT=3117
//   /etc/next-skew-guard/app.env              NEXT_SERVER_ACTIONS_ENCRYPTION_KEY=…
//
// Start one release:   pm2 start /srv/app/ecosystem.config.cjs --only app@<release> && pm2 save
// Stop one release:    pm2 delete app@<release> && pm2 save
const fs = require('node:fs')
const path = require('node:path')

const RELEASES = '/srv/app/releases'
const SHARED_ENV = '/etc/next-skew-guard/app.env'

/** KEY=value lines (no quotes, no expansion), as the deploy script writes them. */
function readEnv(file) {
  const env = {}
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line)
    if (m) env[m[1]] = m[2].trim()
  }
  return env
}

const shared = fs.existsSync(SHARED_ENV) ? readEnv(SHARED_ENV) : {}

module.exports = {
  apps: fs
    .readdirSync(RELEASES)
    .filter((release) => fs.existsSync(path.join(RELEASES, release, 'release.env')))
    .sort()
    .map((release) => {
      const { PORT } = readEnv(path.join(RELEASES, release, 'release.env'))
      return {
        name: `app@${release}`,
        cwd: path.join(RELEASES, release),
        script: 'node_modules/next/dist/bin/next',
        args: `start -H 127.0.0.1 -p ${PORT}`,
        // One process per release: the routing needs each build whole, not a cluster of mixed ones.
        exec_mode: 'fork',
        instances: 1,
        autorestart: true,
        kill_timeout: 30_000,
        env: {
          ...shared,
          NODE_ENV: 'production',
          PORT,
          // The same ID the build was made with: Next.js 16 reads it again at runtime.
          NEXT_DEPLOYMENT_ID: release,
          // The guard sets the __vdpl cookie on pages, so forms posted without JavaScript find this release.
          SKEW_GUARD_DEPLOYMENT_COOKIE: '1',
        },
      }
    }),
}
