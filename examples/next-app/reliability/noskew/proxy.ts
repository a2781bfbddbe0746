// Next.js 16: the guard first, then the app's own proxy.
import { skewGuard } from 'next-skew-guard/proxy'
import { appProxy } from './app-proxy'

export const proxy = skewGuard({ next: appProxy })

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
