/**
 * `cache.close()` during a Redis outage returns while Redis is still down, on clients with
 * ioredis's default retries: the bus's UNSUBSCRIBE and QUIT used to wait in the offline queue
 * through every retry (more than 15 s), holding up the app's shutdown.
 */
import { createCache } from '@aikit/cache'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterEach, expect, it } from 'vitest'

let server: RedisServer | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
})

it.each([
  ['its own connection (bus: { client })', 'client'],
  ["the app's two connections (bus: { publisher, subscriber })", 'pair'],
] as const)(
  'close() returns while Redis is down, with %s',
  async (_name, form) => {
    server = await startRedis()
    const client = server.client()
    const subscriber = server.client()
    const cache = createCache({
      bus: form === 'client' ? { client } : { publisher: client, subscriber },
    })
    cache.on('error', () => undefined)
    await whenReady(client)
    await server.kill()
    let closed = false
    const closing = cache.close().then(() => {
      closed = true
    })
    // Bounded: well under ioredis's default retries (20 reconnections, up to 2 s apart).
    for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 50))
    expect(closed).toBe(true)
    await closing
    client.disconnect()
    subscriber.disconnect()
  },
  30_000
)
