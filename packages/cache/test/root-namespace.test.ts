/**
 * The root `namespace` is one level of the namespace path, escaped as a child's name is (`:` and
 * `%` percent-encoded): a root namespace holding `:` never addresses the entries, nor the `clear()`
 * tag, of another root namespace's child (`tenant:acme` against `tenant` + `acme:profile`). A root
 * namespace without `:` or `%` keeps the store keys it always had.
 */
import { createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

async function storeOf() {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  return redisStore(client, { prefix: 'hns', commandTimeoutMs: 2000 })
}

describe('root namespaces', () => {
  it("a root namespace holding ':' never shares entries with another root namespace", async () => {
    const acme = createCache({ store: await storeOf(), namespace: 'tenant:acme' })
    const tenants = createCache({ store: await storeOf(), namespace: 'tenant' })
    await acme.set('profile', { owner: 'acme', secret: 's3cr3t' })
    expect(await tenants.get('acme:profile')).toBeUndefined()
    expect(await acme.get('profile')).toEqual({ owner: 'acme', secret: 's3cr3t' })
    expect(acme.namespaceName).toBe('tenant%3Aacme')
  })

  it("clear() of a root namespace holding ':' does not clear another cache's child namespace", async () => {
    const store = await storeOf()
    const parent = createCache({ store, namespace: 'org' })
    await parent.namespace('1').set('k', 'kept')
    const other = createCache({ store: await storeOf(), namespace: 'org:1' })
    await other.clear()
    const reader = createCache({ store: await storeOf(), namespace: 'org' })
    expect(await reader.namespace('1').get('k')).toBe('kept')
  })

  it('a root namespace without : or % keeps its store keys', async () => {
    const store = memoryStore()
    await createCache({ store, namespace: 'app.v2-users' }).set('k', 'v')
    expect(await store.get(store.key('app.v2-users:k', 'cache'))).toContain('"v"')
    await createCache({ store }).set('k', 'w')
    expect(await store.get(store.key('cache:k', 'cache'))).toContain('"w"')
  })
})
