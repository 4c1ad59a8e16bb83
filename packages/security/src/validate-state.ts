/**
 * @module validate-state
 * Types `ctx.state.validated` (set by the `validate` middleware) by declaration merging.
 */
declare module '@aikit/core' {
  interface AikitState {
    /** Parsed, validated request data from `validate()` (only the parts it was given). */
    validated?: ValidatedParts
  }
}

/** What `validate()` puts on `ctx.state.validated`. */
export interface ValidatedParts {
  /** The JSON body, as the `body` schema output it. */
  body?: unknown
  /** The query string as an object, as the `query` schema output it. */
  query?: unknown
  /** The route parameters, as the `params` schema output it. */
  params?: unknown
}
