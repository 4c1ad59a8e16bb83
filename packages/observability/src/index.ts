/**
 * @module @aikit/observability
 */
export {}
