/**
 * @module redis
 * `@aikit/core/redis`: the Redis store and the Redis mechanics every package shares.
 */
export {
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
  circuitBreaker,
} from './breaker.js'
// `assertRedisClient`: the client check of `redisStore` (an ioredis client; a Sentinel one with
// `failoverDetector: true`), for packages that take an ioredis client of their own (`@aikit/queue`).
export { assertClient as assertRedisClient, type RedisStoreOptions } from './options.js'
export { scriptSha } from './scripts.js'
export { isAvailabilityError, type RedisStore, redisStore } from './store.js'
export { withTimeout } from './timeout.js'
