/**
 * Everything besides `check` on a real 3-node Redis Cluster: reserve/settle/release, penalize,
 * block/unblock and reset, on keys spread over the nodes; a client clock days off changes no
 * decision (the server's `TIME` is the only clock); and a paused cluster shows up in
 * `stats().degraded` and `stats().adjustFailures` instead of failing.
 */
import { redisStore } from '@aikit/core/redis'
import { type Algorithm, type CheckResult, createRateLimiter } from '@aikit/ratelimit'
import {
  type RedisClusterHandle,
  rawCommand,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import type { Cluster } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

let cluster: RedisClusterHandle
let client: Cluster
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  cluster = await startRedisCluster()
  client = cluster.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(client)
})

afterAll(async () => {
  await cluster?.stop()
})

afterEach(() => {
  vi.useRealTimers()
})

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']
const remainingOf = (r: CheckResult) => r.limits.map((l) => l.remaining)

describe('on a 3-node Redis Cluster', () => {
  it('reserve/settle/release, penalize, block/unblock and reset, on keys across the nodes', async () => {
    const limiter = createRateLimiter({
      store: redisStore(client, { prefix: `ops${runId}`, commandTimeoutMs: 2_000 }),
      limits: [
        { limit: 10, window: '1h' },
        { algorithm: 'sliding-window', limit: 100, window: '1d' },
      ],
    })
    const read = async (user: string) => remainingOf(await limiter.check(user, { cost: 0 }))
    for (const user of USERS) {
      const reservation = await limiter.reserve(user, 5)
      expect(reservation.allowed).toBe(true)
      expect(remainingOf(reservation.result)).toEqual([5, 95])
      await reservation.settle(2) // refunds 3
      expect(await read(user)).toEqual([8, 98])
      const held = await limiter.reserve(user, 3)
      expect(await read(user)).toEqual([5, 95])
      await held.release()
      expect(await read(user)).toEqual([8, 98])
      const tooBig = await limiter.reserve(user, 9) // 9 > 8 left: takes nothing
      expect(tooBig.allowed).toBe(false)
      expect(await read(user)).toEqual([8, 98])

      await limiter.penalize(user, 4)
      expect(await read(user)).toEqual([4, 94])

      await limiter.block(user, 60_000)
      const blocked = await limiter.check(user)
      expect(blocked).toMatchObject({ allowed: false, blocked: true })
      expect(blocked.retryAfterMs).toBeGreaterThan(50_000)
      await limiter.unblock(user)
      expect(remainingOf(await limiter.check(user))).toEqual([3, 93])

      await limiter.block(user, 60_000)
      await limiter.reset(user)
      expect(await limiter.check(user)).toMatchObject({ allowed: true, remaining: 9 })
    }
    expect(limiter.stats()).toMatchObject({ degraded: 0, adjustFailures: 0 })
    // The users' keys really are spread over the nodes (hash tags keep each user's on one).
    const perNode = await Promise.all(
      client.nodes('master').map((node) => node.keys(`*ops${runId}*`))
    )
    expect(perNode.filter((keys) => keys.length > 0).length).toBeGreaterThanOrEqual(2)
  })

  it.each<Algorithm>(['gcra', 'fixed-window', 'sliding-window', 'token-bucket'])(
    '%s: a client clock days ahead or behind changes no decision',
    async (algorithm) => {
      const limiter = createRateLimiter({
        store: redisStore(client, { prefix: `skew${runId}`, commandTimeoutMs: 2_000 }),
        limits: [{ algorithm, limit: 5, window: '1h' }],
      })
      const decisions: [boolean, number][] = []
      const take = async (cost: number) => {
        const r = await limiter.check('user', { cost })
        decisions.push([r.allowed, r.remaining])
        return r
      }
      await take(2)
      // Only `Date` is faked: ioredis' and the store's timers keep running.
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(Date.now() + 3 * 86_400_000) // would start new windows on a local clock
      await take(2)
      vi.setSystemTime(Date.now() - 6 * 86_400_000) // 3 days behind the real time
      const denied = await take(2)
      await take(1)
      expect(decisions).toEqual([
        [true, 3],
        [true, 1],
        [false, 1],
        [true, 0],
      ])
      // Reset times come from the server's clock, not the skewed one (at most 2 windows ahead:
      // a denied sliding window is fully replenished at the end of the next window).
      const realNow = performance.timeOrigin + performance.now()
      expect(Math.abs(denied.resetAt - realNow)).toBeLessThan(2 * 3_600_000 + 60_000)
    }
  )

  it('a paused cluster: checks degrade, settles/releases are absorbed and counted', async () => {
    const limiter = createRateLimiter({
      // All defaults except the breaker, which must not open before the adjust calls run.
      store: redisStore(client, { prefix: `down${runId}`, breaker: false }),
      limits: [
        { limit: 10, window: '1h' },
        { algorithm: 'fixed-window', limit: 100, window: '1d' },
      ],
    })
    // Two reservations taken on Redis (not on the fallback: the 50 ms default timeout may catch
    // a call on a busy machine, so a degraded one is given back and taken again).
    const onRedis = async (units: number) => {
      for (let i = 0; i < 20; i++) {
        const reservation = await limiter.reserve('user', units)
        if (reservation.allowed && reservation.result.degraded === undefined) return reservation
        await reservation.release()
      }
      throw new Error('no reservation from Redis')
    }
    const a = await onRedis(4)
    const b = await onRedis(2)
    const before = limiter.stats()
    await Promise.all(
      cluster.nodes.map((node) => rawCommand(node.port, ['CLIENT', 'PAUSE', '1500', 'ALL']))
    )
    await a.settle(1) // the refund cannot reach Redis: absorbed
    await b.release()
    const check = await limiter.check('user')
    expect(check).toMatchObject({ allowed: true, degraded: true, reason: 'store-error' })
    const reserved = await limiter.reserve('user', 3)
    expect(reserved.result).toMatchObject({ allowed: true, degraded: true })
    const after = limiter.stats()
    expect({
      allowed: after.allowed - before.allowed,
      denied: after.denied - before.denied,
      degraded: after.degraded - before.degraded,
      adjustFailures: after.adjustFailures - before.adjustFailures,
    }).toEqual({ allowed: 2, denied: 0, degraded: 2, adjustFailures: 2 })
  })
})
