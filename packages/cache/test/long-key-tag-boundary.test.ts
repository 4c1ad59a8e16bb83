/**
 * Cache keys and tags around the 256-character store tag limit (stored under their SHA-256 past
 * it), with and without a namespace, with multibyte characters: set on one instance and read or
 * deleted on another over Redis, and invalidated by a long tag on Redis and on memory alike.
 */
import { type Cache, createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
const runId = Math.random().toString(36).slice(2, 8)
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

/**
 * Sets B's change well after A's set: changes are ordered by stamps, each from its own instance's
 * estimate of Redis's clock, and two new instances' estimates can disagree by a few ms (more on a
 * loaded runner): a delete or an invalidation stamped before the set loses, as designed.
 */
const apart = () => new Promise((resolve) => setTimeout(resolve, 100))

async function instance(ns?: string): Promise<Cache> {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  const store = redisStore(client, { prefix: `hb${runId}`, commandTimeoutMs: 2000 })
  const cache = createCache({ store, namespace: 'app' })
  return ns === undefined ? cache : cache.namespace(ns)
}

describe('boundary lengths on Redis (set on one instance, read on another)', () => {
  for (const ns of [undefined, 'tenant']) {
    for (const len of [240, 245, 246, 247, 248, 249, 250, 251, 252, 255, 256, 257, 260]) {
      it(`ns ${ns ?? '-'} key length ${len}`, async () => {
        const a = await instance(ns)
        const b = await instance(ns)
        const key = `k${len}:${'é'.repeat(len - 5)}`.slice(0, len)
        await a.set(key, len, { tags: ['tg'] })
        expect(await b.get(key)).toBe(len)
        await apart()
        await b.delete(key)
        expect(await (await instance(ns)).get(key)).toBeUndefined()
      })
    }
  }
})

describe('invalidation by a long tag', () => {
  const tags = ['t'.repeat(256), 't'.repeat(257), '😀'.repeat(200), `${'{x}%'.repeat(80)}`]
  for (const [i, tag] of tags.entries()) {
    it(`redis: tag #${i} (${tag.length} units)`, async () => {
      const a = await instance()
      const b = await instance()
      await a.set(`lt${i}`, 'v', { tags: [tag] })
      expect(await b.get(`lt${i}`)).toBe('v')
      await apart()
      await b.invalidateTags([tag])
      await new Promise((r) => setTimeout(r, 50))
      expect(await (await instance()).get(`lt${i}`)).toBeUndefined()
    })
    it(`memory store: tag #${i}`, async () => {
      const store = memoryStore({ prefix: 'hm' })
      const a = createCache({ store, namespace: 'app' })
      const b = createCache({ store, namespace: 'app' })
      await a.set(`lt${i}`, 'v', { tags: [tag] })
      await b.invalidateTags([tag])
      expect(await createCache({ store, namespace: 'app' }).get(`lt${i}`)).toBeUndefined()
    })
  }
})
