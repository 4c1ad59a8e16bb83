/**
 * @module @aikit/security
 */
export {}
