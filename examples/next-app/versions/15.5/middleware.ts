// Next.js 15.5 overlay (the matrix suite copies it over the app and deletes proxy.ts): 15.5 has no
// proxy.ts; middleware.ts with `runtime: 'nodejs'` (stable since 15.5) runs the guard on Node,
// where it reads the build's manifest: every check runs, as with proxy.ts on 16.
import { skewGuard } from 'next-skew-guard/proxy'

export const middleware = skewGuard({ policy: process.env.SKEW_POLICY === 'reject' ? 'reject' : 'reload-after' })

export const config = {
  runtime: 'nodejs',
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
