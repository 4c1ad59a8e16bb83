/**
 * A memory-only cache (no `store`) refuses the options that act only on the shared tier, instead of
 * ignoring them: `compression` (gzips values written to the store) and `pollInterval` (how a waiting
 * instance re-checks the store). Each throws `InvalidOptionsError` naming the field and saying it
 * needs a store. The options that still act without a store are accepted, and shown acting here:
 * `bus` (other instances' memory copies are dropped), `serializer` (decides what can be cached and
 * measures it), `lockTtl` (bounds how long a backgrounded fetch pins a key), `timeouts` and `now`.
 * With a store (`memoryStore()` or `redisStore`) every option is accepted as before.
 */
import { createCache } from '@aikit/cache'
import { InvalidOptionsError, memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

let server: RedisServer
let client: Redis
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  server = await startRedis()
  client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
})
afterAll(async () => {
  await server?.stop()
})

/** The InvalidOptionsError `fn` throws. */
function refusal(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

describe('a memory-only cache refuses the options that need a store', () => {
  const cases: Array<[options: Parameters<typeof createCache>[0], field: string]> = [
    [{ compression: { threshold: 10 } }, 'compression'],
    [{ compression: {} }, 'compression'],
    [{ pollInterval: 10 }, 'pollInterval'],
    [{ ttl: 1000, namespace: 'app', pollInterval: 50 }, 'pollInterval'],
    [{ lockMaxHold: 60_000 }, 'lockMaxHold'],
  ]
  for (const [options, field] of cases) {
    it(`${JSON.stringify(options)} names ${field} and says it needs a store`, () => {
      const error = refusal(() => createCache(options))
      expect(error.field).toBe(field)
      expect(error.message).toContain('needs a store')
    })
  }

  it('a bad value is still named as a bad value first', () => {
    expect(refusal(() => createCache({ compression: { threshold: 0 } })).field).toBe(
      'compression.threshold'
    )
    const poll = refusal(() => createCache({ pollInterval: -1 }))
    expect(poll.field).toBe('pollInterval')
    expect(poll.message).not.toContain('needs a store')
    const hold = refusal(() => createCache({ lockMaxHold: Number.NaN }))
    expect(hold.field).toBe('lockMaxHold')
    expect(hold.message).not.toContain('needs a store')
  })

  it('compression: false (the default, spelt out) is accepted without a store', async () => {
    const cache = createCache({ compression: false, pollInterval: undefined } as never)
    await cache.set('k', 'v')
    expect(await cache.get('k')).toBe('v')
  })

  it('with a store, memoryStore() or redisStore, both are accepted', async () => {
    const local = createCache({
      store: memoryStore(),
      compression: { threshold: 10 },
      pollInterval: 5,
    })
    await local.set('k', { text: 'a value long enough to compress' })
    expect(await local.get('k')).toEqual({ text: 'a value long enough to compress' })
    const shared = createCache({
      store: redisStore(client, { prefix: `so${runId}`, commandTimeoutMs: 2000 }),
      namespace: `so${runId}`,
      compression: { threshold: 10 },
      pollInterval: 5,
    })
    await shared.set('k', { text: 'a value long enough to compress' })
    expect(await shared.get('k')).toEqual({ text: 'a value long enough to compress' })
    await shared.close()
  })
})

describe('the options that act without a store are accepted, and act', () => {
  it('bus: a change on one memory-only instance drops the other instances’ memory copies', async () => {
    const channel = `so-bus${runId}`
    const subA = server.client()
    const subB = server.client()
    const a = createCache({
      namespace: 'app',
      bus: { publisher: client, subscriber: subA, channel },
    })
    const b = createCache({
      namespace: 'app',
      bus: { publisher: client, subscriber: subB, channel },
    })
    try {
      await b.set('price', 'old')
      await b.set('other', 'kept')
      // Subscribed once a message of A reaches B.
      await vi.waitFor(
        async () => {
          await a.set('price', 'new')
          expect(b.peek('price')).toBeUndefined()
        },
        { timeout: 10_000 }
      )
      expect(b.peek('other')).toBe('kept')
      await b.set('tagged', 'x', { tags: ['team:1'] })
      await a.invalidateTags(['team:1'])
      await vi.waitFor(() => expect(b.peek('tagged')).toBeUndefined(), { timeout: 10_000 })
    } finally {
      await a.close()
      await b.close()
      subA.disconnect()
      subB.disconnect()
    }
  })

  it('serializer: decides what a memory-only cache can hold', async () => {
    const plain = createCache()
    await expect(plain.set('n', 10n)).rejects.toMatchObject({ name: 'CacheSerializeError' })
    const bigints = createCache({
      serializer: {
        serialize: (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x)),
        deserialize: (t) => JSON.parse(t),
      },
    })
    await bigints.set('n', 10n)
    expect(bigints.peek('n')).toBe(10n)
  })

  it('lockTtl, timeouts and now are accepted without a store', () => {
    expect(() =>
      createCache({ lockTtl: 20, timeouts: { soft: 5, hard: 50 }, now: Date.now })
    ).not.toThrow()
  })
})
