/** Names and types every entry point re-exports next to its core functions. */

export { DEFAULT_MAX_PAYLOAD_BYTES, ENV_KEY, ENV_PREVIOUS_KEYS, MAX_PAYLOAD_BYTES_LIMIT } from './api'
export type { ForceRefreshOptions, KeyringOptions, VerifyReason, VerifyResult } from './api'
export { SkewGuardError, SkewGuardTypeError } from './errors'
export type { ErrorCode } from './errors'
export type { BackendName, BuildIdComparison, KeyCheckReport, KeyFinding, KeyInfo, OpenResult, PayloadInput } from './types'
