/**
 * @module @aikit/cache
 */
export {}
