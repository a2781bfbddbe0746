/**
 * Version-locked routing for self-hosted Next.js: a registry of the deployments that are running,
 * and proxy configs (nginx, Caddy, Traefik, HAProxy), Kubernetes manifests (Gateway API) and
 * Compose files that send every request to the deployment that served its page. The CLI
 * (`next-skew-guard deployments …`) is the usual way in; these are the same operations for deploy
 * tooling written in JavaScript.
 */

export { DeploymentError, type DeploymentErrorCode } from './errors'
export {
  DEPLOYMENT_ID_PATTERN,
  DEPLOYMENT_ID_RULE,
  formatDuration,
  parseDuration,
  parseUpstream,
  validateDeploymentId,
  type Upstream,
} from './ids'
export { withLock, type LockOptions } from './lock'
export { writeFileAtomic } from './atomic'
export {
  STATE_ENV,
  STATE_FORMAT,
  emptyState,
  parseState,
  readStateFile,
  resolveStatePath,
  serializeState,
  writeStateFile,
  type Deployment,
  type DeploymentBuild,
  type RegistryState,
} from './state'
export {
  addDeployment,
  deploymentStatus,
  gcDeployments,
  lockPathFor,
  promoteDeployment,
  readBuildInventory,
  readRegistry,
  retireDeployment,
  updateRegistry,
  type AddInput,
  type AddResult,
  type GcOptions,
  type GcRemoval,
  type PromoteResult,
  type RegistryOptions,
} from './registry'
export { probeUpstream, type ProbeResult } from './probe'
export {
  ACTION_HEADER_NAME,
  DEPLOYMENT_COOKIE,
  DEPLOYMENT_HEADER,
  DEPLOYMENT_QUERY,
  describePlan,
  planRouting,
  routeRequest,
  type RetainedRoute,
  type RoutedRequest,
  type RouteTarget,
  type RoutingPlan,
} from './routing'
export { PROXIES, type ProxyKind, type RenderOptions } from './render-common'
export { renderConfig, validateProxy } from './render'
export { renderNginx, NGINX_LOCATION } from './render-nginx'
export { renderCaddy } from './render-caddy'
export { renderTraefik, traefikConfig, validateTraefikConfig } from './render-traefik'
export { renderHaproxy, HAPROXY_BACKEND } from './render-haproxy'
export {
  DEPLOYMENT_LABEL,
  K8S_LABEL_RULE,
  K8S_NAME_RULE,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  k8sLabelValue,
  k8sNames,
  k8sObjectName,
  validateAppName,
} from './k8s-names'
export {
  HTTPROUTE_LIMITS,
  actionPatterns,
  cookiePattern,
  kubernetesObjects,
  kubernetesStream,
  renderKubernetes,
  resolveKubernetesOptions,
  type KubernetesManifests,
  type KubernetesRenderOptions,
} from './render-gateway'
export {
  COMPOSE_TARGETS,
  COMPOSE_TRAEFIK_PRIORITY,
  composeConfig,
  composeUpstreamWarnings,
  renderCompose,
  resolveComposeOptions,
  type ComposeRenderOptions,
  type ComposeTarget,
} from './render-compose'
export { applyConfig, checkConfig, reloadProxy, type ApplyOptions, type ApplyResult } from './apply'
