/**
 * A change whose store write fails (the store is down) is not lost when the store comes back with
 * its data (a Redis with AOF, a network cut): a `delete`'s tombstone, a tag's invalidation time,
 * and the tombstone that replaces a `set`'s value are written again once the store answers (on the
 * bus subscriber's reconnect, else within a second), and announced again on the bus. They are
 * written only over older changes: a change made elsewhere since then is kept.
 */
import { createCache } from '@aikit/cache'
import { memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'

let server: RedisServer | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
})

async function until(predicate: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`not reached in 10 s: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('changes made while the store was down', () => {
  it('a delete and a tag invalidation made while a Redis that keeps its data was down are not undone', async () => {
    const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
    server = redis
    const connections: Redis[] = []
    const open = async () => {
      const client = redis.client({ maxRetriesPerRequest: 1, retryStrategy: () => 50 })
      const subscriber = redis.client({ retryStrategy: () => 50 })
      connections.push(client, subscriber)
      await Promise.all([whenReady(client), whenReady(subscriber)])
      return createCache({
        // Long enough for the reads that must be answered on a loaded runner (the writes made
        // during the outage still fail at once: one reconnection attempt, refused).
        store: redisStore(client, { commandTimeoutMs: 2_000 }),
        ttl: 60_000,
        bus: { publisher: client, subscriber, channel: 'persist' },
      })
    }
    const a = await open()
    const b = await open()
    await new Promise((resolve) => setTimeout(resolve, 100)) // SUBSCRIBE lands
    await a.set('permissions:42', ['admin'])
    await a.set('page', 'p1', { tags: ['team:1'] })
    expect(await b.get('permissions:42')).toEqual(['admin'])

    await redis.kill()
    await a.delete('permissions:42') // resolves: the store error is absorbed
    await a.invalidateTags(['team:1'])
    await redis.restart()
    await until(() => b.peek('permissions:42') === undefined, 'B resyncs')
    // A writes its changes again once the store answers: polled with fresh instances (a fixed
    // sleep is not enough on a loaded runner).
    await until(async () => {
      const probe = await open()
      const seen = [await probe.get('permissions:42'), await probe.get('page')]
      await probe.close()
      for (const connection of connections.splice(-2)) connection.disconnect()
      return seen.every((value) => value === undefined)
    }, 'the changes written again')
    const c = await open() // an instance started after the outage
    expect(await b.get('permissions:42')).toBeUndefined()
    expect(await c.get('permissions:42')).toBeUndefined()
    expect(await c.get('page')).toBeUndefined()
    await Promise.all([a.close(), b.close(), c.close()])
  }, 40_000)

  it('without a bus: written again once the store answers, never over a newer change', async () => {
    const inner = memoryStore()
    const flaky = Object.create(inner) as Store & { down: boolean }
    flaky.down = false
    const refuse = () => Promise.reject(new Error('store down'))
    flaky.set = (...args) => (flaky.down ? refuse() : inner.set(...args))
    flaky.get = (...args) => (flaky.down ? refuse() : inner.get(...args))
    flaky.run = (op, keys, input) => (flaky.down ? refuse() : inner.run(op, keys, input))
    const a = createCache({ store: flaky, ttl: 60_000 })
    const other = createCache({ store: inner, ttl: 60_000 })
    await a.set('deleted', 'old')
    await a.set('replaced', 'old')
    await a.set('changed since', 'old')
    await a.set('page', 'p1', { tags: ['team:1'] })

    flaky.down = true
    await a.delete('deleted')
    await a.set('replaced', 'new, lost with the outage')
    await a.delete('changed since')
    await a.invalidateTags(['team:1']) // the last one written again
    await new Promise((resolve) => setTimeout(resolve, 5))
    await other.set('changed since', 'set after the delete')
    flaky.down = false
    const tagKey = inner.key('t:team:1', 'cache', 'tag')
    await until(async () => (await inner.get(tagKey)) !== undefined, 'the changes are written')

    const c = createCache({ store: inner })
    expect(await c.get('deleted')).toBeUndefined()
    expect(await c.get('replaced')).toBeUndefined() // a miss, not the value the set replaced
    expect(await c.get('page')).toBeUndefined()
    expect(await c.get('changed since')).toBe('set after the delete')
    await a.close()
  })
})
