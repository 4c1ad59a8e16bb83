/**
 * A namespace is one level of the key path: a child whose name holds `:` is not the grandchild
 * the same text spells (`namespace('t1:s')` is not `namespace('t1').namespace('s')`). Per-tenant
 * namespaces with ids such as `org:42` must never read, nor clear, another tenant's entries, in
 * the memory tier or in the store tier.
 */
import { memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../src/cache.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

describe('namespace boundaries', () => {
  it("a name holding ':' is one level, not two (memory tier)", async () => {
    const cache = createCache()
    const nested = cache.namespace('t1').namespace('s')
    const flat = cache.namespace('t1:s')
    await nested.set('k', 'secret of t1')
    expect(await flat.get('k')).toBeUndefined()
    expect(await flat.getOrSet('k', () => 'of t1:s')).toBe('of t1:s')
    expect(await nested.get('k')).toBe('secret of t1')
    // Clearing one clears nothing of the other.
    await flat.clear()
    expect(await nested.get('k')).toBe('secret of t1')
    expect(await flat.get('k')).toBeUndefined()
    await flat.set('k', 'of t1:s')
    // `%` is the escape: a name spelling an escaped ':' is its own namespace too.
    const escaped = cache.namespace('t1%3As')
    expect(await escaped.get('k')).toBeUndefined()
    await escaped.set('k', 'of t1%3As')
    expect(await flat.get('k')).toBe('of t1:s')
    expect(flat.namespaceName).not.toBe(nested.namespaceName)
    expect(escaped.namespaceName).not.toBe(flat.namespaceName)
  })

  it('another instance reading the store tier keeps them apart too', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    const store = redisStore(client, { prefix: 'nsb', commandTimeoutMs: 2000 })
    const writer = createCache({ store })
    await writer.namespace('org').namespace('1').set('profile', { owner: 'org 1' })
    await writer.namespace('org:1').set('other', 'flat')
    const reader = createCache({ store })
    expect(await reader.namespace('org:1').get('profile')).toBeUndefined()
    expect(await reader.namespace('org').namespace('1').get('profile')).toEqual({ owner: 'org 1' })
    expect(await reader.namespace('org').namespace('1').get('other')).toBeUndefined()
    expect(await reader.namespace('org:1').get('other')).toBe('flat')
  })

  it('names without ":" or "%" keep their keys (entries written before are still read)', async () => {
    const store = memoryStore()
    await createCache({ store }).namespace('users').namespace('admins').set('x', 1)
    expect(await createCache({ store }).namespace('users').namespace('admins').get('x')).toBe(1)
    expect(createCache().namespace('users').namespaceName).toBe('cache:users')
  })
})
