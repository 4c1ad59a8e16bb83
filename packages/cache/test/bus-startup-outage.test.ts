/**
 * The cache bus subscribes by itself once Redis is back, when Redis was down as the cache was
 * created (a deploy during a Redis restart).
 */
import { createCache } from '@aikit/cache'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterEach, expect, it } from 'vitest'

let server: RedisServer | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Promise (packages/core/README.md, "The ioredis client"; docs/production-guide.md): with the
 * recommended client (`maxRetriesPerRequest: 1`), Redis outages are absorbed and every component
 * recovers by itself; cache README: the bus keeps memory copies coherent across instances and
 * "when an instance's bus subscriber reconnects (a Redis restart, a network blip), the instance
 * drops its memory tier and re-reads tag times".
 * Before the fix: when Redis is down at the moment the cache is created (a deploy during a Redis restart),
 * the bus's SUBSCRIBE is flushed by ioredis with MaxRetriesPerRequestError (reported once as a bus
 * error) and never sent again: ioredis only re-subscribes channels it had subscribed. Once Redis
 * is back the instance is deaf to every other instance's set/delete/invalidateTags forever, and
 * keeps serving out-of-date memory copies until their TTL, with no further error or event.
 * The cause was packages/cache/src/bus.ts:138 `subscriber.subscribe(channel).catch(onError)`, a one-shot
 * subscribe; nothing subscribes again on the subscriber's next 'ready'.
 * Fix: on 'ready', (re)issue SUBSCRIBE when the channel is not subscribed (or retry the failed
 * subscribe until it succeeds).
 */
it('subscribes the bus once Redis is back when Redis was down at creation', async () => {
  server = await startRedis()
  await server.kill()
  const clientB = server.client({ maxRetriesPerRequest: 1, retryStrategy: () => 50 })
  const cacheB = createCache({ bus: { client: clientB } })
  const errors: unknown[] = []
  cacheB.on('error', (e) => errors.push(e.error))
  // Another instance whose client keeps its commands through the outage (ioredis' default 20
  // retries): its SUBSCRIBE waits and goes out once Redis is back.
  const cacheA = createCache({ bus: { client: server.client() } })
  try {
    // The bus's SUBSCRIBE was given up by ioredis while Redis was down.
    for (let i = 0; i < 100; i++) {
      if (errors.some((e) => (e as Error).name === 'MaxRetriesPerRequestError')) break
      await sleep(50)
    }
    expect(errors.some((e) => (e as Error).name === 'MaxRetriesPerRequestError')).toBe(true)

    await server.restart()
    await whenReady(clientB)
    const admin = server.client()
    let subscribers = 0
    for (let i = 0; i < 200 && subscribers < 2; i++) {
      const reply = (await admin.pubsub('NUMSUB', 'cache:bus')) as [string, number]
      subscribers = Number(reply[1])
      if (subscribers < 2) await sleep(50)
    }
    await sleep(200)

    // B holds a memory copy; A deletes the key: B must drop it, as it does when Redis was up.
    await cacheB.set('k', 'old')
    await cacheA.delete('k')
    for (let i = 0; i < 200 && cacheB.peek('k') !== undefined; i++) await sleep(50)
    expect(subscribers).toBe(2)
    expect(cacheB.peek('k')).toBeUndefined()
  } finally {
    await cacheA.close()
    await cacheB.close()
  }
})
