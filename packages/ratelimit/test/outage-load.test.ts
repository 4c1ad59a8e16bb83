/**
 * redis-server killed in the middle of a load over real HTTP (node adapter, 16 concurrent clients):
 * with `onStoreError: 'memory'` or `'open'` no request fails and none gets a false 429; once Redis
 * is back, checks are answered by Redis again (not degraded), by themselves.
 *
 * Recovery time = the client's reconnect delay + the breaker's `openMs`: the test uses a 50 ms
 * reconnect strategy and `openMs: 300`, the kind of settings the README recommends (about 0.4 s
 * on a quiet machine; not asserted: a loaded runner stretches it). The time of each decision is
 * taken on the server (in the response body). test/default-recovery.test.ts covers the default
 * settings.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter, rateLimit, type StoreErrorPolicy } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterEach, describe, expect, it } from 'vitest'

let redis: RedisServer | undefined
let http: Server | undefined
afterEach(async () => {
  http?.closeAllConnections()
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)))
  await redis?.stop()
  http = undefined
  redis = undefined
})

/**
 * The app: answers 200 with whether the rate-limit result was degraded and when it was decided
 * (the server's clock at the decision, so a slow response on a busy machine does not count as
 * time spent degraded).
 */
const respondWithDegradedFlag: Middleware = async (ctx) => {
  ctx.respond(200, { degraded: ctx.state.rateLimit?.degraded === true, at: Date.now() })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `done` every 20 ms until it holds; fails with `what` after `ms`. */
async function until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !done(); await sleep(20)) {
    if (Date.now() > deadline) throw new Error(`not seen within ${ms} ms: ${what}`)
  }
}

interface Sample {
  at: number
  status: number
  degraded: boolean
}

describe.each<StoreErrorPolicy>(['memory', 'open'])(
  "redis-server killed under load, onStoreError '%s'",
  (policy) => {
    it('no errors, no false 429s, back on Redis within 1 s of its return', async () => {
      redis = await startRedis()
      const client = redis.client({ maxRetriesPerRequest: 1, retryStrategy: () => 50 })
      await whenReady(client)
      const errors: unknown[] = []
      const limiter = createRateLimiter({
        // The 200 ms timeout (default 50) keeps the breaker's recovery probe from timing out on
        // a starved event loop (16 HTTP clients in this process, other test files on 2 cores).
        store: redisStore(client, {
          commandTimeoutMs: 200,
          breaker: { failureThreshold: 3, openMs: 300 },
        }),
        limits: [{ limit: 1_000_000, window: '1m' }],
        onStoreError: policy,
      })
      const handler = toNodeHandler(
        rateLimit({ limiter, keyBy: (ctx) => ctx.header('x-user') }),
        respondWithDegradedFlag,
        {
          onError: (error: unknown) => {
            errors.push(error)
          },
        }
      )
      http = createServer(handler)
      await new Promise<void>((resolve) => http?.listen(0, '127.0.0.1', resolve))
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`

      const samples: Sample[] = []
      const failures: unknown[] = []
      let running = true
      const worker = async (id: number) => {
        let n = 0
        while (running && n < 2_000) {
          n++
          try {
            const res = await fetch(url, { headers: { 'x-user': `u${id}` } })
            const body = (await res.json()) as { degraded?: boolean; at?: number }
            samples.push({
              at: body.at ?? Date.now(),
              status: res.status,
              degraded: body.degraded === true,
            })
          } catch (error) {
            failures.push(error)
          }
        }
      }
      const load = Promise.all(Array.from({ length: 16 }, (_, i) => worker(i)))

      // Waits for what the load has seen, not fixed times: a loaded runner may serve few requests
      // in a given time.
      try {
        await until(
          '100 answers from Redis',
          () => samples.filter((s) => !s.degraded).length >= 100
        )
        await redis.kill()
        const killed = Date.now()
        await until('a degraded answer', () => samples.some((s) => s.degraded && s.at >= killed))
        // An outage of 0.7 s at least, not only its first answers.
        await sleep(killed + 700 - Date.now())
        await redis.restart()
        const back = Date.now()
        // Until Redis answers the checks again (20 in a row after the restart), at most 15 s.
        const recovered = () => {
          const after = samples.filter((s) => s.at > back)
          return after.length >= 20 && after.slice(-20).every((s) => !s.degraded)
        }
        await until('20 answers in a row from Redis after its restart', recovered, 15_000).catch(
          () => undefined // asserted below, with the samples
        )
      } finally {
        running = false
        await load
      }

      expect(errors.map((e) => (e as Error).stack).slice(0, 1)).toEqual([])
      expect(failures.map(String).slice(0, 3)).toEqual([])
      expect(samples.length).toBeGreaterThan(100)
      expect(samples.filter((s) => s.status !== 200).slice(0, 3)).toEqual([])
      const during = samples.filter((s) => s.degraded)
      expect(during.length).toBeGreaterThan(0) // the outage was seen...
      const lastDegraded = Math.max(...during.map((s) => s.at))
      // ...and was over once Redis was back: the last answers came from Redis.
      const afterRecovery = samples.filter((s) => s.at > lastDegraded)
      expect(afterRecovery.length).toBeGreaterThan(10)
      // limiting happens on Redis again: the keys exist there
      expect(await client.keys('*rl:gcra*')).not.toEqual([])
    }, 60_000)
  }
)
