/** `onRequestError` classification, shared by the Node and Edge instrumentation entries. */

import { recordSkew } from '../server/events'
import { ACTION_HEADER, CLIENT_BUILD_HEADER } from '../shared/protocol'

/** The request as Next.js passes it to `onRequestError`. */
export interface RequestInfo {
  path?: string
  method?: string
  headers?: Record<string, string | string[] | undefined>
}

/** The context Next.js passes to `onRequestError`. */
export interface ErrorContext {
  routerKind?: string
  routePath?: string
  routeType?: 'render' | 'route' | 'action' | 'middleware' | 'proxy'
  [key: string]: unknown
}

function isDecryptFailure(err: unknown): boolean {
  if (!(err instanceof Error) && (typeof err !== 'object' || err === null)) return false
  const { name, message } = err as { name?: unknown; message?: unknown }
  return (
    name === 'OperationError' || (typeof message === 'string' && message.startsWith('Invalid Server Action payload: failed to decrypt'))
  )
}

/** Builds `onRequestError` over a way to read the server's build identity. */
export function createOnRequestError(readBuildId: () => string | null) {
  return function onRequestError(error: unknown, request: RequestInfo, context: ErrorContext): void {
    try {
      if (context?.routeType !== 'action' || !isDecryptFailure(error)) return
      const header = request?.headers?.[ACTION_HEADER]
      const actionId = typeof header === 'string' ? header : undefined
      const clientBuild = request?.headers?.[CLIENT_BUILD_HEADER]
      recordSkew({
        kind: 'key-mismatch',
        ...(actionId ? { actionId } : {}),
        ...(typeof clientBuild === 'string' ? { clientBuildId: clientBuild } : {}),
        serverBuildId: readBuildId(),
        source: 'instrumentation',
      })
    } catch {
      // An error hook must never throw.
    }
  }
}
