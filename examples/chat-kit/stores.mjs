// Where the kit keeps its state: in process memory by default, in Redis when REDIS_URL is set
// (then rate limits, budgets and cached answers are shared by every instance of the app).
import { memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { Redis } from 'ioredis'

/**
 * @param {{ REDIS_URL?: { reveal(): URL } }} config the validated env
 * @param {{ warn(message: string, meta?: object): unknown, info(message: string, meta?: object): unknown }} logger
 * @returns {{ redis?: Redis, subscriber?: Redis, store: import('@aikit/core').Store }}
 */
export function createStores(config, logger) {
  if (config.REDIS_URL === undefined) return { store: memoryStore() }
  // maxRetriesPerRequest: 1 so a command that timed out is dropped, not replayed when Redis is
  // back (core's redisStore bounds every call and opens its breaker on its own).
  const redis = new Redis(config.REDIS_URL.reveal().href, {
    maxRetriesPerRequest: 1,
  })
  // The cache's invalidation bus needs a second connection (a subscribed one cannot publish);
  // made here so its outages are logged like the main connection's.
  const subscriber = redis.duplicate()
  logOutages(redis, logger, 'redis')
  logOutages(subscriber, logger, 'redis (cache bus)')
  // 200 ms rather than the 50 ms default: tolerates a busy host (a 2-core CI runner with the test
  // suite beside it). A Redis in the same zone answers in about 1 ms: lower it to fail over sooner.
  return { redis, subscriber, store: redisStore(redis, { commandTimeoutMs: 200 }) }
}

/**
 * ioredis emits 'error' on every failed reconnect attempt (and prints a stack when nobody
 * listens): log one line when a connection goes down and one when it is back. The health check,
 * the stores' breakers and `aikit_store_degraded` report the outage too. Only the error code is
 * logged: a message may carry the host.
 */
function logOutages(client, logger, name) {
  let down = false
  client.on('error', (error) => {
    if (down) return
    down = true
    logger.warn('store connection lost', { store: name, code: error?.code ?? 'ERROR' })
  })
  client.on('ready', () => {
    if (!down) return
    down = false
    logger.info('store connection back', { store: name })
  })
}
