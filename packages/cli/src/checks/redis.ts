/**
 * @module checks/redis
 * Where state lives: shared stores across instances, and how the app reaches Redis. The URL is
 * parsed, never printed (it may carry a password).
 */
import type { Check, Facts } from '../types.js'
import { fail, pass, warn } from './item.js'

type Section = 'rateLimit' | 'budget' | 'cache'
const SECTIONS: readonly Section[] = ['rateLimit', 'budget', 'cache']

/**
 * Where a configuration section keeps its state. A section with no `store` is on the kit's
 * default, a per-process `memoryStore()` (createRateLimiter, createBudget; createCache keeps only
 * its memory tier). A rate limit given as a ready `limiter` says nothing: that limiter has its own
 * store, which the configuration does not show.
 */
export function storeOf(facts: Facts, section: Section): 'memory' | 'redis' | undefined {
  const value = facts.config[section]
  if (value === undefined || value === false) return undefined
  const store = value.store
  if (store === undefined || store === null) {
    const ownLimiter = section === 'rateLimit' && 'limiter' in value && value.limiter !== undefined
    return ownLimiter ? undefined : 'memory'
  }
  if (typeof store === 'string') return store
  // A Store of another kind (one of the app's own) is not judged.
  return store.kind === 'memory' || store.kind === 'redis' ? store.kind : undefined
}

export const redisTopologyCheck: Check = (facts) => {
  const id = 'redis-topology'
  const title = 'shared state across instances'
  const instances = facts.config.instances ?? 1
  const hasRedis = facts.env.REDIS_URL !== undefined
  const wantRedis = SECTIONS.filter((s) => storeOf(facts, s) === 'redis')
  if (!hasRedis && wantRedis.length > 0) {
    return fail(
      id,
      title,
      `${wantRedis.join(', ')} declare a Redis store but REDIS_URL is unset`,
      'set REDIS_URL (redis:// or rediss://) where the app runs'
    )
  }
  if (facts.production && instances > 1) {
    if (!hasRedis) {
      return warn(
        id,
        title,
        `${instances} instances with REDIS_URL unset: memory stores are per instance (limits and budgets x${instances}, caches apart)`,
        'set REDIS_URL and give every store redisStore(client) from @aikit/core/redis'
      )
    }
    const local = SECTIONS.filter((s) => storeOf(facts, s) === 'memory')
    if (local.length > 0) {
      return warn(
        id,
        title,
        `${local.join(', ')} use a memory store (the default when no store is given) on ${instances} instances: each keeps its own state`,
        'give those sections store: redisStore(client) from @aikit/core/redis'
      )
    }
  }
  return pass(
    id,
    title,
    hasRedis ? `REDIS_URL set, ${instances} instance(s)` : `${instances} instance(s), memory stores`
  )
}

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/

export const redisSecurityCheck: Check = (facts) => {
  const id = 'redis-security'
  const title = 'Redis connection'
  const raw = facts.env.REDIS_URL
  if (raw === undefined) return pass(id, title, 'no Redis')
  if (!URL.canParse(raw)) {
    return fail(id, title, 'REDIS_URL is not a URL', 'set REDIS_URL to redis://… or rediss://…')
  }
  const url = new URL(raw)
  if (!facts.production) return pass(id, title, 'checked in production only')
  const problems: string[] = []
  // ioredis (4 to 6) turns TLS on only when the URL starts with `rediss://` exactly; the URL
  // parser lower-cases the scheme, so `REDISS://` reads as rediss: here but connects in clear.
  const tls = raw.startsWith('rediss://')
  const redisScheme = url.protocol === 'redis:' || url.protocol === 'rediss:'
  if (redisScheme && !tls && !LOOPBACK.test(url.hostname)) {
    problems.push(
      url.protocol === 'rediss:'
        ? 'no TLS (ioredis turns TLS on for a lower-case rediss:// only)'
        : 'no TLS (redis://)'
    )
  }
  if (url.password === '') problems.push('no password')
  if (problems.length === 0) return pass(id, title, 'TLS and password')
  return warn(
    id,
    title,
    `REDIS_URL has ${problems.join(' and ')}`,
    'use rediss:// with a password (ACL user), or keep Redis on a private network only the app reaches'
  )
}
