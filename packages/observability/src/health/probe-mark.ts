/**
 * @module probe-mark
 * Marks a readiness answer of 503 in `ctx.state`, for `requestLogger`: a failing readiness probe
 * (every few seconds from each orchestrator, the whole drain of every deploy, each Redis outage)
 * is the intended signal, logged at `warn`, not a server error (it flooded error alerting).
 */
export const READINESS_FAILED = Symbol.for('@aikit/observability.readiness-failed.v1')
