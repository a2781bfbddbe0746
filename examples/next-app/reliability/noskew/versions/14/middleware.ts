// Edge middleware (Next.js 14, 15.3): the guard first, then the app's own middleware.
import { skewGuard } from 'next-skew-guard/proxy'
import { appProxy } from './app-proxy'

export const middleware = skewGuard({ next: appProxy })

export const config = {
  // '/' on its own too: with basePath and trailingSlash, Next.js 15.3 answers the base path's root
  // with an empty page when only the pattern below matches it.
  matcher: ['/', '/((?!_next/static|_next/image|favicon.ico).*)'],
}
