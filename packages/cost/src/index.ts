/**
 * @module @aikit/cost
 */
export {}
