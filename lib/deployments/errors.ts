/**
 * Errors of the deployment registry and the proxy renderers. Every error carries a stable `code`;
 * branch on it, never on the message. Messages say what went wrong and what to do about it.
 */

/** Stable codes of {@link DeploymentError}. */
export type DeploymentErrorCode =
  /** A deployment ID outside `[A-Za-z0-9_-]{1,64}`. */
  | 'ERR_DEPLOYMENT_ID'
  /** An upstream that is not `host:port`, or one another deployment already uses. */
  | 'ERR_DEPLOYMENT_UPSTREAM'
  /** The registry has no deployment with that ID. */
  | 'ERR_DEPLOYMENT_UNKNOWN'
  /** `add` of an ID the registry already holds. */
  | 'ERR_DEPLOYMENT_EXISTS'
  /** An operation that needs a current deployment (render) or must not touch it (retire). */
  | 'ERR_DEPLOYMENT_CURRENT'
  /** Nothing listens on the upstream (refused only where that would take the site down). */
  | 'ERR_DEPLOYMENT_DOWN'
  /** The state file is missing, empty, not JSON or not a registry. */
  | 'ERR_DEPLOYMENTS_STATE'
  /** Another deploy script holds the registry's lock. */
  | 'ERR_DEPLOYMENTS_LOCKED'
  /** The proxy's own checker rejected the rendered config; the live file is unchanged. */
  | 'ERR_PROXY_CHECK'
  /** The proxy did not reload. */
  | 'ERR_PROXY_RELOAD'
  /** The proxy's binary (for the checker or the reload) was not found. */
  | 'ERR_PROXY_UNAVAILABLE'
  /** More deployments than the target can route (one Kubernetes HTTPRoute: 16 rules, fewer than 128 matches). */
  | 'ERR_DEPLOYMENTS_LIMIT'
  /** Any other argument with a wrong value (a duration, a count, a path). */
  | 'ERR_INVALID_ARG_VALUE'

/** An error of the deployment registry or the proxy renderers, with a stable {@link DeploymentErrorCode}. */
export class DeploymentError extends Error {
  /** Stable machine-readable code. */
  readonly code: DeploymentErrorCode
  /** Output of a proxy's checker or reload command, when that is what failed. */
  readonly output?: string

  constructor(code: DeploymentErrorCode, message: string, output?: string) {
    super(message)
    this.name = 'DeploymentError'
    this.code = code
    if (output !== undefined) this.output = output
  }
}

/**
 * A value as it may appear in a message: JSON-quoted (so control characters and quotes show as
 * escapes, never as raw bytes in a terminal) and cut at 80 characters.
 */
export function quote(value: unknown): string {
  if (typeof value !== 'string') return value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value))
  const cut = value.length > 80 ? `${value.slice(0, 77)}…` : value
  return JSON.stringify(cut)
}
