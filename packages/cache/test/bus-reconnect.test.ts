/**
 * Redis Pub/Sub does not queue: what is published while an instance's bus subscriber is
 * disconnected never reaches it. A `delete` or `invalidateTags` on instance A while Redis is down
 * (A drops its own copy; its store write and its bus message fail) must not leave instance B
 * serving the old value from its memory tier once Redis is back, for the rest of its TTL: B drops
 * its memory copies when its subscriber reconnects and reads the store tier again. Both forms of
 * the `bus` option.
 */
import { createCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterEach, describe, expect, it } from 'vitest'

let server: RedisServer | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
})

/** Resolves once `predicate()` holds (polled every 10 ms); throws after 10 s. */
async function until(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`not reached in 10 s: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('bus subscriber reconnecting after an outage', () => {
  it.each(['{ publisher, subscriber }', '{ client }'] as const)(
    'changes made during the outage are not served from memory afterwards (%s)',
    async (form) => {
      const redis = await startRedis()
      server = redis
      const open = async () => {
        const client = redis.client({ maxRetriesPerRequest: 1, retryStrategy: () => 50 })
        const subscriber = redis.client({ retryStrategy: () => 50 })
        await Promise.all([whenReady(client), whenReady(subscriber)])
        const cache = createCache({
          // Long enough for the calls that must be answered on a loaded runner (those made during
          // the outage still fail at once: one reconnection attempt, refused).
          store: redisStore(client, { commandTimeoutMs: 2_000 }),
          ttl: 60_000,
          bus:
            form === '{ client }'
              ? { client, channel: 'reconnect' }
              : { publisher: client, subscriber, channel: 'reconnect' },
        })
        return cache
      }
      const a = await open()
      const b = await open()
      await new Promise((resolve) => setTimeout(resolve, 100)) // let SUBSCRIBE land
      await a.set('profile', 'v1')
      await a.set('page', 'p1', { tags: ['team:1'] })
      expect(await b.get('profile')).toBe('v1')
      expect(await b.get('page')).toBe('p1')
      expect(b.peek('profile')).toBe('v1')

      await redis.kill()
      // A changes both while Redis is down: its own memory follows, nothing else can.
      await a.delete('profile')
      await a.invalidateTags(['team:1'])
      expect(a.peek('profile')).toBeUndefined()
      await redis.restart()

      await until(() => b.peek('profile') === undefined, "B drops its copy of 'profile'")
      expect(b.peek('page')).toBeUndefined()
      expect(await b.get('profile')).toBeUndefined()
      expect(await b.get('page')).toBeUndefined()
      // The bus works again afterwards.
      await a.set('profile', 'v2')
      expect(await b.get('profile')).toBe('v2')
      await a.set('profile', 'v3')
      await until(() => b.peek('profile') === undefined, 'bus after recovery')
      expect(await b.get('profile')).toBe('v3')
      await Promise.all([a.close(), b.close()])
    },
    40_000
  )
})
