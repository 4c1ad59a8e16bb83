/**
 * @module state
 * Types `ctx.state.requestId` (set by `requestLogger`) by declaration merging.
 */
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

export {}
