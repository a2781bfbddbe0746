/**
 * What Kubernetes accepts as names and label values, and how a deployment ID becomes the name of
 * its Deployment and Service. Deployment IDs allow `_` and capitals, object names do not, so the
 * name is the app name, a dash, and the ID in lower case with `_` written as `-`. That mapping is
 * not one-to-one (`dpl_v1` and `dpl-v1` give the same name), so every render checks the live IDs
 * for collisions and refuses them, naming both: an ID is never silently rewritten into another
 * deployment's objects.
 */

import { DeploymentError, quote } from './errors'
import { refused } from './ids'

/** A DNS-1035 label: Service names (and, being stricter than DNS-1123, every object name here). */
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/
/** A DNS-1123 subdomain: Gateway names, Secret names. */
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
/** A label value: empty, or 1-63 characters of letters, digits, `-`, `_`, `.`, starting and ending alphanumeric. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

/** The rule for object names, in words. */
export const K8S_NAME_RULE =
  'at most 63 characters of lower-case letters, digits and "-", starting with a letter and ending with a letter or digit'
/** The rule for label values, in words. */
export const K8S_LABEL_RULE = 'at most 63 characters of letters, digits, "-", "_" and ".", starting and ending with a letter or digit'

/** The label every rendered object carries with its deployment ID (the GC selects on it). */
export const DEPLOYMENT_LABEL = 'next-skew-guard/deployment-id'
/** The label that marks objects as rendered by next-skew-guard (the GC never touches anything else). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by'
/** The value of {@link MANAGED_BY_LABEL}. */
export const MANAGED_BY = 'next-skew-guard'

function bad(message: string): never {
  throw new DeploymentError('ERR_INVALID_ARG_VALUE', message)
}

/**
 * Returns `app` when it can name the app's objects and be a label value (a DNS-1035 label of at
 * most 40 characters, leaving room for the deployment ID in object names); throws
 * `ERR_INVALID_ARG_VALUE` otherwise.
 */
export function validateAppName(app: unknown): string {
  if (typeof app !== 'string' || app.length > 40 || !DNS_1035_LABEL.test(app)) {
    bad(
      `The app name ${refused(app)} must be at most 40 characters of lower-case letters, digits and "-", starting with a letter and ending with a letter or digit (it starts every object name, e.g. shop).`,
    )
  }
  return app
}

/** Returns `name` when it is a DNS-1123 subdomain (Gateway, Secret and namespace-like names); throws `ERR_INVALID_ARG_VALUE` otherwise. */
export function validateSubdomainName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.length > 253 || !DNS_1123_SUBDOMAIN.test(name)) {
    bad(
      `${what} ${refused(name)} is not a Kubernetes name: lower-case letters, digits, "-" and ".", at most 253 characters, starting and ending with a letter or digit.`,
    )
  }
  return name
}

/** Returns `namespace` when it is a namespace name (a DNS-1123 label); throws `ERR_INVALID_ARG_VALUE` otherwise. */
export function validateNamespace(namespace: unknown, what = 'The namespace'): string {
  if (typeof namespace !== 'string' || namespace.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) {
    bad(
      `${what} ${refused(namespace)} is not a namespace name: at most 63 characters of lower-case letters, digits and "-", starting and ending with a letter or digit.`,
    )
  }
  return namespace
}

/**
 * Returns `id` when it can be a label value; throws `ERR_DEPLOYMENT_ID` with the rule otherwise
 * (a 64-character ID, or one that starts or ends with `-` or `_`).
 */
export function k8sLabelValue(id: string): string {
  if (id.length > 63 || !LABEL_VALUE.test(id)) {
    throw new DeploymentError(
      'ERR_DEPLOYMENT_ID',
      `Deployment ID ${quote(id)} cannot be a Kubernetes label value (${K8S_LABEL_RULE}). Kubernetes objects are selected by it, ` +
        'so it is not rewritten: give the build an ID that fits, e.g. dpl_20261202.',
    )
  }
  return id
}

/**
 * The name of a deployment's Deployment and Service: `<app>-<id>`, lower case, `_` as `-`.
 * Throws `ERR_DEPLOYMENT_ID` when the result is not a valid name (too long, or the ID ends in
 * `-`/`_`); never shortens or hashes, so the name stays readable and predictable.
 */
export function k8sObjectName(app: string, id: string, platform = 'Kubernetes'): string {
  const name = `${validateAppName(app)}-${id.toLowerCase().replace(/_/g, '-')}`
  if (name.length > 63 || !DNS_1035_LABEL.test(name)) {
    throw new DeploymentError(
      'ERR_DEPLOYMENT_ID',
      `Deployment ID ${quote(id)} cannot be a ${platform} object name: "${app}-" followed by it (lower case, "_" as "-") must be ${K8S_NAME_RULE}` +
        `; that gives ${quote(name)}. Use a shorter ID or a shorter --app.`,
    )
  }
  return name
}

/**
 * The object names of `ids` (in order), refusing two IDs that would share one name (`dpl_v1`
 * and `dpl-v1`): rendering them would make one build's objects overwrite the other's. Compose
 * service names follow the same rule (they are host names on the Docker network).
 */
export function k8sNames(app: string, ids: string[], platform = 'Kubernetes'): Map<string, string> {
  const names = new Map<string, string>()
  const owner = new Map<string, string>()
  for (const id of ids) {
    k8sLabelValue(id)
    const name = k8sObjectName(app, id, platform)
    const other = owner.get(name)
    if (other !== undefined) {
      throw new DeploymentError(
        'ERR_DEPLOYMENT_ID',
        `Deployment IDs ${quote(other)} and ${quote(id)} would both be named ${quote(name)} in ${platform} (names are lower case and have no "_"). ` +
          'Rendering both would make one overwrite the other: retire one of them, or give the next build an ID that differs in more than "_" and "-".',
      )
    }
    owner.set(name, id)
    names.set(id, name)
  }
  return names
}
