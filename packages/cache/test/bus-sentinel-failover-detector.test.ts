/**
 * The bus refuses a Sentinel connection without `failoverDetector: true`, as `redisStore` does:
 * such a client stays on the old master after a failover, so the instances whose connections
 * moved and those whose did not stop hearing each other's invalidations (each keeps serving what
 * another deleted, until its TTL). `InvalidOptionsError` names the connection's field.
 */
import { createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { invalidField } from '@aikit/testing/invalid-field'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'

const opened: Redis[] = []
afterEach(() => {
  for (const c of opened.splice(0)) c.disconnect()
})

/** A Sentinel client that never connects (nothing listens on port 1, no retry). */
function sentinelClient(failoverDetector: boolean): Redis {
  const client = new Redis({
    sentinels: [{ host: '127.0.0.1', port: 1 }],
    name: 'mymaster',
    lazyConnect: true,
    failoverDetector,
    sentinelRetryStrategy: () => null,
    retryStrategy: () => null,
  })
  client.on('error', () => undefined)
  opened.push(client)
  return client
}

describe('a Sentinel bus connection without failoverDetector', () => {
  it('is refused in every bus form, naming the field', () => {
    const plain = sentinelClient(true)
    const bare = sentinelClient(false)
    expect(invalidField(() => createCache({ store: memoryStore(), bus: { client: bare } }))).toBe(
      'bus.client'
    )
    expect(
      invalidField(() =>
        createCache({ store: memoryStore(), bus: { publisher: bare, subscriber: plain } })
      )
    ).toBe('bus.publisher')
    expect(
      invalidField(() =>
        createCache({ store: memoryStore(), bus: { publisher: plain, subscriber: bare } })
      )
    ).toBe('bus.subscriber')
  })

  it('is accepted with failoverDetector: true', async () => {
    const publisher = sentinelClient(true)
    const subscriber = sentinelClient(true)
    const cache = createCache({ store: memoryStore(), bus: { publisher, subscriber } })
    await cache.set('k', 1)
    expect(await cache.get('k')).toBe(1)
    await cache.close()
  })
})
