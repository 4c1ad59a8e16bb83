/**
 * A delete and a `set` made on two instances in adjacent milliseconds end the same everywhere: the
 * later change by stamp. A delete at `at` stores its tombstone stamped `at + 1` (so a fill of its
 * own millisecond is out of date) but writes it only over an entry created no later than `at`: a
 * `set` stamped `at + 1` elsewhere, which that instance keeps in memory (the delete's bus message
 * drops entries up to `at`), is kept in the store too, whichever write lands last, also when the
 * delete is written again after a store outage. (Before, the tombstone was compared at `at + 1`
 * and replaced that set: the setting instance served its value, every other one a miss, until
 * the TTL.)
 */
import { type Cache, createCache } from '@aikit/cache'
import { memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { putOp } from '../src/ops.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

describe('a set one ms after a delete on another instance', () => {
  it('is kept by the store and by the setting instance (Redis, bus)', async () => {
    const channel = `dns${Math.random().toString(36).slice(2, 8)}`
    const open = async (now: () => number): Promise<Cache> => {
      const client = server.client({ maxRetriesPerRequest: 1 })
      await whenReady(client)
      const subscriber = server.client()
      await whenReady(subscriber)
      return createCache({
        store: redisStore(client, { prefix: channel, commandTimeoutMs: 5000 }),
        bus: { publisher: client, subscriber, channel },
        ttl: 60_000,
        now,
      })
    }
    // Clocks as two instances' estimates of the store clock: B's delete is stamped T, A's set
    // T + 1 (the later change).
    const T = Date.now()
    let bNow = T
    const a = await open(() => T + 1)
    const b = await open(() => bNow)
    const probe = server.client()
    await whenReady(probe)
    await vi.waitFor(
      async () => {
        const [, subscribers] = (await probe.pubsub('NUMSUB', channel)) as [string, number]
        expect(Number(subscribers)).toBeGreaterThanOrEqual(2)
      },
      { timeout: 10_000, interval: 20 }
    )
    probe.disconnect()

    await a.set('marker', 'dropped by a later delete of B')
    await a.set('k', 'from A') // stamped T + 1, written first
    await b.delete('k') // stamped T: B has not heard of A's set yet
    // B's messages arrive in order: once a later delete of B has reached A, so has this one.
    bNow = T + 100
    await b.delete('marker')
    await vi.waitFor(() => expect(a.peek('marker')).toBeUndefined(), {
      timeout: 10_000,
      interval: 20,
    })

    const c = await open(() => T + 2)
    expect(await a.get('k')).toBe('from A')
    expect(await c.get('k')).toBe('from A')
    await Promise.all([a.close(), b.close(), c.close()])
  })

  it('is kept when the delete is written again after a store outage (memoryStore)', async () => {
    const shared = memoryStore()
    // B's store: the delete's first tombstone write fails (the store is down), later ones pass.
    let puts = 0
    const failing = Object.create(shared) as Store
    failing.run = async (op, keys, input) => {
      if (op === (putOp as unknown)) {
        puts++
        if (puts === 1) throw new Error('store down')
      }
      return shared.run(op, keys, input)
    }
    const T = Date.now()
    const a = createCache({ store: shared, ttl: 60_000, now: () => T + 1 })
    const b = createCache({ store: failing, ttl: 60_000, now: () => T })
    b.on('error', () => undefined)

    await b.delete('k') // stamped T, its write fails: kept to be written again
    await a.set('k', 'from A') // stamped T + 1
    await vi.waitFor(() => expect(puts).toBeGreaterThanOrEqual(2), {
      timeout: 10_000,
      interval: 20,
    })

    const c = createCache({ store: shared, ttl: 60_000, now: () => T + 2 })
    expect(await c.get('k')).toBe('from A')
    await Promise.all([a.close(), b.close(), c.close()])
  })
})
