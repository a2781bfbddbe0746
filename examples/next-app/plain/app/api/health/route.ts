// Plain Next.js variant (see plain/next.config.mjs): the health route a self-hosted app has for its
// load balancer, in the shape the demo's readiness check reads. (The guarded app gets it from the
// guard's proxy.)
export const dynamic = 'force-dynamic'

export function GET() {
  return Response.json({ status: 'ok', buildId: process.env.NEXT_PUBLIC_BUILD_ID }, { headers: { 'cache-control': 'no-store' } })
}
