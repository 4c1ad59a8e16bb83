/**
 * @module state
 * Types `ctx.state.requestId` (set by `requestLogger`) by declaration merging.
 */
import type { AikitState } from '@aikit/core'

declare module '@aikit/core' {
  interface AikitState {
    /** This request's id: the caller's `X-Request-Id` when safe, else a new UUID. */
    requestId?: string
    /**
     * The LLM call the request is making, set by the LLM wrappers: tags Sentry events and log lines.
     */
    llm?: { provider?: string; model?: string }
  }
}

/**
 * The fields this package adds to `ctx.state`. Also keeps this file a module in the bundled
 * declarations: without an import and an export, the bundler emits the `declare module` above as
 * a script, which then REPLACES `@aikit/core`'s types for every consumer instead of merging.
 */
export type ObservabilityState = Pick<AikitState, 'requestId' | 'llm'>
