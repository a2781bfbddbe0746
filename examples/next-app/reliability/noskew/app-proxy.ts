// The app's own middleware, composed with the guard (`skewGuard({ next: appProxy })`): a header on
// every response it passes, and a redirect from an old path.
import { NextResponse, type NextRequest } from 'next/server'

export function appProxy(request: NextRequest): NextResponse {
  if (request.nextUrl.pathname === '/old-links/') {
    const url = request.nextUrl.clone()
    url.pathname = '/links/'
    return NextResponse.redirect(url)
  }
  const response = NextResponse.next()
  response.headers.set('x-app-proxy', 'web')
  return response
}
