/**
 * Memory-only instances (no `store`) joined by a bus: README, `bus` option: "Without a store it
 * keeps memory-only instances coherent (a `set`, `delete` or `invalidateTags` on one drops the
 * others' copies)". A `getOrSet` fill was announced like a `set`, so each instance's fill of a key
 * dropped the other's copy: with requests alternating between two instances (a load balancer),
 * every call missed and ran the fetcher (an LLM call each time), though nothing changed. A fill is
 * now announced only when there is a store to read it from, or when it is a `refresh`.
 */
import { type Cache, createCache } from '@aikit/cache'
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

describe('memory-only instances on a bus', () => {
  it('alternating getOrSet calls on two instances hit after each has fetched once', async () => {
    const channel = `thrash${runId}`
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
      // Both subscribed: a set on A reaches B.
      await b.set('probe', 1)
      await vi.waitFor(
        async () => {
          await a.set('probe', 2)
          expect(b.peek('probe')).toBeUndefined()
        },
        { timeout: 10_000 }
      )
      let fetches = 0
      const fetcher = async () => {
        fetches++
        return { answer: 42 }
      }
      /** Resolves once every message `from` published so far has reached `to` (one publisher: in order). */
      let probes = 0
      const delivered = async (from: Cache, to: Cache) => {
        const probe = `probe:${++probes}`
        await to.set(probe, 0)
        await from.set(probe, 1)
        await vi.waitFor(() => expect(to.peek(probe)).toBeUndefined(), { timeout: 10_000 })
      }
      for (let round = 0; round < 5; round++) {
        for (const [instance, other] of [
          [a, b],
          [b, a],
        ] as const) {
          expect(await instance.getOrSet('question', fetcher)).toEqual({ answer: 42 })
          // The fill's bus message has reached the other instance, as between two requests.
          await delivered(instance, other)
        }
      }
      // One fetch per instance; nothing changed the key.
      expect(fetches).toBe(2)
      // A refresh on A is a change: B drops its copy and fetches the new answer.
      let answer = 43
      const fresh = async () => {
        fetches++
        return { answer }
      }
      expect(await a.getOrSet('question', fresh, { refresh: true })).toEqual({ answer: 43 })
      await delivered(a, b)
      expect(b.peek('question')).toBeUndefined()
      answer = 44
      expect(await b.getOrSet('question', fresh)).toEqual({ answer: 44 })
      expect(fetches).toBe(4)
    } finally {
      await a.close()
      await b.close()
      subA.disconnect()
      subB.disconnect()
    }
  })
})
