/**
 * Kubernetes with the Gateway API: per registered deployment a `Deployment` and a `Service`, and
 * one `HTTPRoute` that implements the routing contract, written as a Kustomize directory (plain
 * YAML, stable order) plus `post-apply.sh` for what YAML cannot say.
 *
 * How the contract fits an HTTPRoute. An HTTPRoute has no negation ("header absent"), so the
 * carrier precedence is built from the precedence the Gateway API defines between matches: a
 * match with a method beats one without, then the match with more header matches wins, then the
 * one with more query parameter matches, then the first rule in list order. Every carrier gets
 * one match per combination of the lower carriers' headers the request may also carry, each
 * present-header test a `RegularExpression` `.*` (it only asks "is the header there"), so that a
 * higher carrier always has one header match more than any lower carrier on the same request:
 *
 *   x-deployment-id   {H}, POST {H}, POST {H, A?}, POST {H, C?}, POST {H, A?, C?}
 *   ?dpl=             {Q}                         (no header: loses to the header, wins over nothing)
 *   Next-Action       POST {A}, POST {A, C?}       (the build's action IDs, as regular expressions)
 *   __vdpl cookie     POST {C}
 *
 * The current deployment's rule comes last and holds the same shapes with "any value" for the
 * header and the action ID, so that an unknown or current ID beats a cookie, and the catch-all
 * (`PathPrefix /`). A specific ID and "any ID" tie on every count, and the tie goes to the first
 * rule in list order: the retained deployment's. Requests Next.js never sends (a POST with `?dpl=`)
 * are routed by their Next-Action or cookie first; the docs say so.
 *
 * Limits (Gateway API v1 CRD): 16 rules, 64 matches per rule, fewer than 128 matches in all. One
 * rule per deployment, about 9 matches per retained one: the render refuses a registry that does
 * not fit, saying how many to keep.
 */

import { DeploymentError, quote } from './errors'
import { validateActionId } from './ids'
import {
  DEPLOYMENT_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  k8sNames,
  validateAppName,
  validateNamespace,
  validateSubdomainName,
} from './k8s-names'
import { checkPlan } from './render-common'
import { DEPLOYMENT_COOKIE, type RoutingPlan } from './routing'
import { emitYaml, parseYaml, withoutComments, type YamlMap } from './yaml'

/** The Gateway API's HTTPRoute limits (standard channel CRD, v1.1 and later). */
export const HTTPROUTE_LIMITS = { rules: 16, matchesPerRule: 64, matches: 127, headerValue: 4096 } as const

/** The Secret key the app's encryption key is read from. */
export const KEY_SECRET_KEY = 'NEXT_SERVER_ACTIONS_ENCRYPTION_KEY'

/** Options of {@link renderKubernetes}. */
export interface KubernetesRenderOptions {
  /** The app's name: the `app` label, and the first part of every object name (`shop` → `shop-dpl-v1`). */
  app: string
  /** The image of a deployment, with `{id}` for its deployment ID: `registry.example.com/shop:{id}`. */
  image: string
  /** The Gateway the route attaches to. */
  gateway: string
  /** The Gateway's namespace, when it is not the route's. */
  gatewayNamespace?: string
  /** The Gateway listener (`sectionName`) to attach to; default: every listener that allows the route. */
  listener?: string
  /** Host names the route answers for; default: every host of the listener. */
  hostnames?: string[]
  /** The namespace of every object (written into each object and into kustomization.yaml); default: none, kubectl's. */
  namespace?: string
  /** Replicas of the current deployment. Default 2. */
  replicas?: number
  /** Replicas of every other (retained or staged) deployment. Default 1. */
  retainedReplicas?: number
  /** The Secret holding NEXT_SERVER_ACTIONS_ENCRYPTION_KEY (under that key). Default `next-server-actions-key`, the one `next-skew-guard keygen --format k8s` prints. */
  keySecret?: string
  /** The readiness probe's path. Default `/api/health`, the guard's endpoint. */
  healthPath?: string
  /** Seconds post-apply.sh waits for the gateway to take the new route before it deletes old workloads. Default 15. */
  settleSeconds?: number
}

/** The rendered directory: file name → content, in the order they are written. */
export interface KubernetesManifests {
  files: Array<{ name: string; content: string }>
  /** Every Kubernetes object, in file order (for validation). */
  objects: YamlMap[]
  /** Things the operator should know. */
  warnings: string[]
}

interface Resolved {
  app: string
  image: string
  gateway: string
  gatewayNamespace: string | null
  listener: string | null
  hostnames: string[]
  namespace: string | null
  replicas: number
  retainedReplicas: number
  keySecret: string
  healthPath: string
  settleSeconds: number
}

function bad(message: string): never {
  throw new DeploymentError('ERR_INVALID_ARG_VALUE', message)
}

const IMAGE = /^[a-z0-9][a-z0-9._/:@-]*$/i
const GATEWAY_HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

function count(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 100)
    bad(`${name} must be a whole number from ${min} to 100; got ${quote(value)}.`)
  return value as number
}

/** Checks the options and fills in the defaults; throws `ERR_INVALID_ARG_VALUE` naming the first bad one. */
export function resolveKubernetesOptions(options: KubernetesRenderOptions): Resolved {
  if (typeof options !== 'object' || options === null) bad('The Kubernetes render options must be an object with app, image and gateway.')
  const app = validateAppName(options.app)
  const image = options.image
  // The template is checked with a sample ID in place of {id}: what reaches the YAML is the image
  // reference Kubernetes will pull, so it may hold nothing a YAML or shell reader would trip on.
  if (typeof image !== 'string' || !image.includes('{id}') || !IMAGE.test(image.replace(/\{id\}/g, 'id'))) {
    bad(
      `The image ${quote(image)} must be an image reference with {id} where the deployment ID goes, e.g. registry.example.com/${app}:{id}.`,
    )
  }
  const gateway = validateSubdomainName(options.gateway, 'The Gateway name')
  const gatewayNamespace =
    options.gatewayNamespace === undefined ? null : validateNamespace(options.gatewayNamespace, 'The Gateway namespace')
  let listener: string | null = null
  if (options.listener !== undefined) {
    if (
      typeof options.listener !== 'string' ||
      options.listener.length > 253 ||
      !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(options.listener)
    ) {
      bad(`The listener ${quote(options.listener)} is not a Gateway listener name (lower-case letters, digits, "-" and ".").`)
    }
    listener = options.listener
  }
  const hostnames = options.hostnames ?? []
  if (
    !Array.isArray(hostnames) ||
    hostnames.length > 16 ||
    hostnames.some((h) => typeof h !== 'string' || h.length > 253 || !GATEWAY_HOSTNAME.test(h))
  ) {
    bad(
      `The host names ${quote(String(hostnames))} must be at most 16 names such as shop.example.com or *.example.com (lower case, no port).`,
    )
  }
  const namespace = options.namespace === undefined ? null : validateNamespace(options.namespace)
  const keySecret = validateSubdomainName(options.keySecret ?? 'next-server-actions-key', 'The key Secret name')
  const healthPath = options.healthPath ?? '/api/health'
  if (typeof healthPath !== 'string' || !/^\/[A-Za-z0-9_\-./~]*$/.test(healthPath))
    bad(`The health path ${quote(healthPath)} must start with "/" and hold only letters, digits and - _ . / ~.`)
  const settle = options.settleSeconds
  if (settle !== undefined && (typeof settle !== 'number' || !Number.isInteger(settle) || settle < 0 || settle > 3600))
    bad(`settleSeconds must be a whole number from 0 to 3600; got ${quote(settle)}.`)
  return {
    app,
    image,
    gateway,
    gatewayNamespace,
    listener,
    hostnames: [...hostnames],
    namespace,
    replicas: count(options.replicas, 'replicas', 2, 1),
    // At least one: a Service without ready endpoints is an error at the gateway, not a fallback.
    retainedReplicas: count(options.retainedReplicas, 'retainedReplicas', 1, 1),
    keySecret,
    healthPath,
    settleSeconds: settle ?? 15,
  }
}

type Match = YamlMap

const PRESENT = '.*'
const ANY_VALUE = '.+'

function header(name: string, value: string, regex: boolean): YamlMap {
  return regex ? { type: 'RegularExpression', name, value } : { type: 'Exact', name, value }
}

/** POST matches of one carrier header, once alone and once per combination of the lower carriers' headers. */
function postLadder(first: YamlMap, lower: string[]): Match[] {
  const combos: string[][] = [[]]
  for (const name of lower) for (const c of [...combos]) combos.push([...c, name])
  return combos.map((c) => ({ method: 'POST', headers: [first, ...c.map((n) => header(n, PRESENT, true))] }))
}

/** Anchored alternations of action IDs, each within the Gateway API's 4096-character header value. */
export function actionPatterns(actions: string[]): string[] {
  const out: string[] = []
  let current: string[] = []
  const size = (ids: string[]) => `^(?:${ids.join('|')})$`.length
  for (const a of actions) {
    if (current.length > 0 && size([...current, a]) > HTTPROUTE_LIMITS.headerValue) {
      out.push(`^(?:${current.join('|')})$`)
      current = []
    }
    current.push(a)
  }
  if (current.length > 0) out.push(`^(?:${current.join('|')})$`)
  return out
}

/** The anchored cookie test of one ID: `__vdpl=<id>` as a whole cookie, wherever it is in the header. */
export function cookiePattern(id: string): string {
  return `^(?:.*;\\s*)?${DEPLOYMENT_COOKIE}=${id}(?:;.*)?$`
}

/** The HTTPRoute's rules: one per retained deployment (registry order), the current deployment's last. */
function routeRules(plan: RoutingPlan, names: Map<string, string>): YamlMap[] {
  const backend = (id: string) => [
    {
      name: names.get(id) as string,
      port: plan.current.id === id ? plan.current.upstream.port : (plan.retained.find((r) => r.id === id)?.upstream.port as number),
    },
  ]
  const rules: YamlMap[] = []
  for (const r of plan.retained) {
    const matches: Match[] = [
      { headers: [header('X-Deployment-Id', r.id, false)] },
      ...postLadder(header('X-Deployment-Id', r.id, false), ['Next-Action', 'Cookie']),
      { queryParams: [{ type: 'Exact', name: 'dpl', value: r.id }] },
    ]
    for (const pattern of actionPatterns(r.actions.map((a) => validateActionId(a, `deployment ${r.id}`)))) {
      matches.push(...postLadder(header('Next-Action', pattern, true), ['Cookie']))
    }
    matches.push({ method: 'POST', headers: [header('Cookie', cookiePattern(r.id), true)] })
    rules.push({ matches, backendRefs: backend(r.id) })
  }
  rules.push({
    matches: [
      // Any other deployment ID (the current one, an unknown or a retired one) and any other action ID.
      { headers: [header('X-Deployment-Id', ANY_VALUE, true)] },
      ...postLadder(header('X-Deployment-Id', ANY_VALUE, true), ['Next-Action', 'Cookie']),
      ...postLadder(header('Next-Action', ANY_VALUE, true), ['Cookie']),
      { path: { type: 'PathPrefix', value: '/' } },
    ],
    backendRefs: backend(plan.current.id),
  })
  return rules
}

/** How many retained deployments fit one HTTPRoute, given the action patterns they need. */
function limitError(plan: RoutingPlan, rules: YamlMap[]): never {
  const sizes = rules.slice(0, -1).map((r) => (r.matches as Match[]).length)
  const currentSize = (rules[rules.length - 1].matches as Match[]).length
  let fit = 0
  let total = currentSize
  // The most recently added are the ones gc keeps: count from the end.
  for (const size of [...sizes].reverse()) {
    if (fit + 2 > HTTPROUTE_LIMITS.rules || total + size > HTTPROUTE_LIMITS.matches || size > HTTPROUTE_LIMITS.matchesPerRule) break
    total += size
    fit++
  }
  const all = sizes.reduce((a, b) => a + b, currentSize)
  throw new DeploymentError(
    'ERR_DEPLOYMENTS_LIMIT',
    `One HTTPRoute cannot route ${plan.retained.length} retained deployments besides the current one: that takes ${rules.length} rules and ${all} matches, ` +
      `and the Gateway API allows ${HTTPROUTE_LIMITS.rules} rules, ${HTTPROUTE_LIMITS.matchesPerRule} matches per rule and fewer than 128 in all ` +
      `(a deployment with many Server Actions needs more matches). About ${fit} fit: \`next-skew-guard deployments gc --keep ${fit}\`, then render again.`,
  )
}

function labels(o: Resolved, id?: string): YamlMap {
  const l: YamlMap = { app: o.app }
  if (id !== undefined) l[DEPLOYMENT_LABEL] = id
  l[MANAGED_BY_LABEL] = MANAGED_BY
  return l
}

function meta(o: Resolved, name: string, id?: string, extra: YamlMap = {}): YamlMap {
  const m: YamlMap = { name }
  if (o.namespace !== null) m.namespace = o.namespace
  m.labels = labels(o, id)
  return { ...m, ...extra }
}

function workload(o: Resolved, id: string, name: string, port: number, current: boolean): YamlMap[] {
  const selector: YamlMap = { app: o.app, [DEPLOYMENT_LABEL]: id }
  const deployment: YamlMap = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(o, name, id, { annotations: { 'next-skew-guard/role': current ? 'current' : 'retained' } }),
    spec: {
      // Promote and retire change only this number: the pod template of a build never changes, so
      // no render restarts a pod.
      replicas: current ? o.replicas : o.retainedReplicas,
      revisionHistoryLimit: 2,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: labels(o, id) },
        spec: {
          containers: [
            {
              name: 'app',
              image: o.image.replace(/\{id\}/g, id),
              ports: [{ name: 'http', containerPort: port }],
              env: [
                { name: 'NEXT_DEPLOYMENT_ID', value: id },
                { name: 'SKEW_GUARD_DEPLOYMENT_COOKIE', value: '1' },
                { name: 'PORT', value: String(port) },
                { name: 'HOSTNAME', value: '0.0.0.0' },
                { name: KEY_SECRET_KEY, valueFrom: { secretKeyRef: { name: o.keySecret, key: KEY_SECRET_KEY } } },
              ],
              readinessProbe: { httpGet: { path: o.healthPath, port: 'http' }, periodSeconds: 5, failureThreshold: 2 },
            },
          ],
        },
      },
    },
  }
  const service: YamlMap = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(o, name, id, { annotations: { 'next-skew-guard/owner': `Deployment ${name} (post-apply.sh sets the ownerReference)` } }),
    spec: { selector, ports: [{ name: 'http', port, targetPort: 'http' }] },
  }
  return [deployment, service]
}

/** The Kubernetes objects of a plan: Deployments and Services (current first, then registry order) and the HTTPRoute. */
export function kubernetesObjects(
  plan: RoutingPlan,
  options: KubernetesRenderOptions,
): { workloads: YamlMap[]; route: YamlMap; names: Map<string, string>; options: Resolved } {
  checkPlan(plan)
  const o = resolveKubernetesOptions(options)
  const ids = [plan.current.id, ...plan.retained.map((r) => r.id)]
  const names = k8sNames(o.app, ids)
  const workloads = [
    ...workload(o, plan.current.id, names.get(plan.current.id) as string, plan.current.upstream.port, true),
    ...plan.retained.flatMap((r) => workload(o, r.id, names.get(r.id) as string, r.upstream.port, false)),
  ]
  const rules = routeRules(plan, names)
  const total = rules.reduce((n, r) => n + (r.matches as Match[]).length, 0)
  if (
    rules.length > HTTPROUTE_LIMITS.rules ||
    total > HTTPROUTE_LIMITS.matches ||
    rules.some((r) => (r.matches as Match[]).length > HTTPROUTE_LIMITS.matchesPerRule)
  ) {
    limitError(plan, rules)
  }
  const parent: YamlMap = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: o.gateway }
  if (o.gatewayNamespace !== null) parent.namespace = o.gatewayNamespace
  if (o.listener !== null) parent.sectionName = o.listener
  const spec: YamlMap = { parentRefs: [parent] }
  if (o.hostnames.length > 0) spec.hostnames = o.hostnames
  spec.rules = rules
  const route: YamlMap = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: meta(o, o.app), spec }
  return { workloads, route, names, options: o }
}

function comment(lines: string[]): string {
  return `${lines.map((l) => (l === '' ? '#' : `# ${l}`)).join('\n')}\n`
}

function describe(plan: RoutingPlan, names: Map<string, string>): string[] {
  return [
    `  current:  ${plan.current.id} (${names.get(plan.current.id)})`,
    ...plan.retained.map(
      (r) =>
        `  retained: ${r.id} (${names.get(r.id)}, ${r.status}; ${r.actions.length} action ID${r.actions.length === 1 ? '' : 's'} only it knows)`,
    ),
  ]
}

const GENERATED = [
  'Generated by `next-skew-guard deployments render --target gateway-api` from the deployment',
  'registry. The next render replaces it: change the registry (add, promote, retire, gc), not this file.',
]

/** The shell script run after `kubectl apply -k`: owner references, then (after the gateway took the route) the GC. */
function postApply(plan: RoutingPlan, names: Map<string, string>, o: Resolved): string {
  const ns = o.namespace !== null ? ` -n ${o.namespace}` : ''
  const live = [plan.current.id, ...plan.retained.map((r) => r.id)]
  const selector = `app=${o.app},${MANAGED_BY_LABEL}=${MANAGED_BY},${DEPLOYMENT_LABEL},${DEPLOYMENT_LABEL} notin (${live.join(',')})`
  return [
    '#!/bin/sh',
    comment([
      'next-skew-guard: run after `kubectl apply -k <this directory>`, from the same kubectl context.',
      ...GENERATED,
      '',
      "1. Owner references. A Service can only name its owner by the owner's UID, which exists once",
      '   the Deployment is in the cluster, so the YAML cannot carry it: this sets it on every',
      '   Service, so deleting a Deployment deletes its Service too. kubectl apply leaves the field',
      '   alone afterwards (it never applied it).',
      '2. Garbage collection, routes first: the route applied a moment ago no longer sends anything',
      '   to deployments that left the registry; once the gateway has taken it (NSG_SETTLE_SECONDS,',
      `   default ${o.settleSeconds}), their Deployments and Services are deleted. Only objects labelled`,
      `   ${MANAGED_BY_LABEL}=${MANAGED_BY} and app=${o.app} are ever touched.`,
    ]).trimEnd(),
    'set -eu',
    '',
    `for name in ${live.map((id) => names.get(id)).join(' ')}; do`,
    `  uid=$(kubectl${ns} get deployment "$name" -o jsonpath='{.metadata.uid}')`,
    `  kubectl${ns} patch service "$name" --type merge -p "{\\"metadata\\":{\\"ownerReferences\\":[{\\"apiVersion\\":\\"apps/v1\\",\\"kind\\":\\"Deployment\\",\\"name\\":\\"$name\\",\\"uid\\":\\"$uid\\"}]}}"`,
    'done',
    '',
    `sleep "\${NSG_SETTLE_SECONDS:-${o.settleSeconds}}"`,
    `kubectl${ns} delete deployment,service --ignore-not-found -l '${selector}'`,
    '',
  ].join('\n')
}

function documents(docs: YamlMap[]): string {
  return docs.map((d) => emitYaml(d)).join('---\n')
}

/**
 * Renders the Kustomize directory of a plan: `kustomization.yaml`, `workloads.yaml` (a Deployment
 * and a Service per deployment), `httproute.yaml` and `post-apply.sh`. Deterministic: the same
 * registry and options give the same bytes. Every YAML file is read back and compared with what
 * was meant. Throws `ERR_DEPLOYMENT_ID` for an ID Kubernetes cannot hold, `ERR_DEPLOYMENTS_LIMIT`
 * for more deployments than one HTTPRoute can route, `ERR_INVALID_ARG_VALUE` for a bad option.
 */
export function renderKubernetes(plan: RoutingPlan, options: KubernetesRenderOptions): KubernetesManifests {
  const { workloads, route, names, options: o } = kubernetesObjects(plan, options)
  const warnings: string[] = []
  for (const t of [plan.current, ...plan.retained]) {
    const name = names.get(t.id) as string
    if (t.upstream.host !== name && !t.upstream.host.startsWith(`${name}.`)) {
      warnings.push(
        `${t.id}: its Service is ${name}:${t.upstream.port}; the registry's upstream ${t.upstream.address} is only used for its port (register --upstream ${name}:${t.upstream.port} to match).`,
      )
    }
  }
  const workloadsText =
    comment([
      `next-skew-guard: the workloads of every registered deployment of ${o.app}.`,
      ...GENERATED,
      '',
      ...describe(plan, names),
      '',
      `The current deployment runs ${o.replicas} replica${o.replicas === 1 ? '' : 's'}, every other one ${o.retainedReplicas}. A pod template never`,
      'changes once rendered: promote and retire only change replica counts.',
    ]) + documents(workloads)
  const routeText =
    comment([
      `next-skew-guard: version-locked routing for ${o.app} (Gateway API HTTPRoute).`,
      ...GENERATED,
      '',
      ...describe(plan, names),
      '',
      'A request goes to the deployment named by the first of these that it carries:',
      '  1. the x-deployment-id header (Next.js RSC and Server Action fetches)',
      '  2. the dpl query parameter (static assets, ?dpl=<id>)',
      '  3. the Next-Action header, when only a retained build knows that action ID',
      '  4. the __vdpl cookie, for POST requests (forms posted without JavaScript)',
      'and to the current deployment otherwise, also for unknown or retired IDs.',
      '',
      'An HTTPRoute cannot say "this header is absent", so the order comes from the precedence the',
      'Gateway API defines between matches (method, then the number of header matches, then the',
      "number of query matches, then rule order): each carrier also matches with the lower carriers'",
      'headers present (RegularExpression ".*"), one header match more than any lower carrier. The',
      'cookie and action ID tests are RegularExpression matches, which the Gateway API leaves to each',
      'implementation: check that yours supports them for headers.',
    ]) + emitYaml(route)
  const resources: YamlMap = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' }
  if (o.namespace !== null) resources.namespace = o.namespace
  resources.resources = ['workloads.yaml', 'httproute.yaml']
  const kustomization =
    comment([
      `next-skew-guard: ${o.app}'s deployments and their route, for \`kubectl apply -k\`.`,
      ...GENERATED,
      '',
      'Use this directory as a base of your own overlay (resources: [../skew]) to add resources,',
      'limits or node selectors with patches. Do not set images: in an overlay: every deployment',
      'runs its own image tag.',
    ]) + emitYaml(resources)
  for (const [text, docs] of [
    [workloadsText, workloads],
    [routeText, [route]],
  ] as const) {
    const parsed = text.split(/^---$/m).map((part) => parseYaml(part))
    if (JSON.stringify(parsed) !== JSON.stringify(docs.map((d) => withoutComments(d)))) {
      throw new DeploymentError(
        'ERR_PROXY_CHECK',
        'Kubernetes manifests: the YAML written does not read back as the objects meant (a bug: please report it).',
      )
    }
  }
  return {
    files: [
      { name: 'workloads.yaml', content: workloadsText },
      { name: 'httproute.yaml', content: routeText },
      { name: 'post-apply.sh', content: postApply(plan, names, o) },
      { name: 'kustomization.yaml', content: kustomization },
    ],
    objects: [...workloads, route],
    warnings,
  }
}

/** The same objects as one multi-document YAML stream (for `kubectl apply -f -`), without the kustomization and the script. */
export function kubernetesStream(manifests: KubernetesManifests): string {
  return manifests.files
    .filter((f) => f.name.endsWith('.yaml') && f.name !== 'kustomization.yaml')
    .map((f) => f.content)
    .join('---\n')
}
