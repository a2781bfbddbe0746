// Startup checks (runtime key valid? same key as the build? manifest readable?) and skew counting.
// Read the counters with getSkewStats() from 'next-skew-guard/instrumentation' (see app/api/skew-stats).
export { register, onRequestError } from 'next-skew-guard/instrumentation'
