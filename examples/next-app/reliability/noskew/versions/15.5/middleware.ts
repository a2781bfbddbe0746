// Node middleware (Next.js 15.5): the guard first, then the app's own middleware.
import { skewGuard } from 'next-skew-guard/proxy'
import { appProxy } from './app-proxy'

export const middleware = skewGuard({ next: appProxy })

export const config = {
  runtime: 'nodejs',
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
