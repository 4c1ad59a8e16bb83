/**
 * Three `createRateLimiter` instances, each on its own connection to one real redis-server, on the
 * same keys at once. Guaranteed, for every algorithm and for a multi-limit:
 * - concurrent checks of mixed costs never allow more than the limit, every instance then reports
 *   the same remaining units, no refused check would have fitted, and the instances agree on a
 *   denial's reset time and wait;
 * - concurrent reservations fit exactly, and their settles / releases leave exactly the units
 *   settled;
 * - concurrent penalties and over-settles from all three instances are capped at one extra
 *   window of debt (the key passes again within 2 windows, not after the sum of all charges).
 * (A block or reset made on one instance is seen by another: penalties.test.ts and
 * block-cache.test.ts.) Windows are a day long, so that no test straddles a window boundary and no
 * unit refills while it runs, however slow the machine.
 */
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter, type LimitOptions } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
const runId = Math.random().toString(36).slice(2, 8)
const clients: ReturnType<RedisServer['client']>[] = []
const DAY = 86_400_000

beforeAll(async () => {
  server = await startRedis()
  for (let i = 0; i < 3; i++) {
    const c = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(c)
    clients.push(c)
  }
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

/** One limiter per connection, all with the same limits. */
const make = (limits: LimitOptions[]) =>
  clients.map((c) =>
    createRateLimiter({
      store: redisStore(c, { prefix: `l${runId}`, commandTimeoutMs: 5_000 }),
      prefix: 'three',
      limits,
      onStoreError: 'closed',
    })
  )

const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs)

const cases: [string, LimitOptions[], number][] = [
  ['fixed-window', [{ algorithm: 'fixed-window', limit: 100, window: '1d' }], 100],
  ['sliding-window', [{ algorithm: 'sliding-window', limit: 100, window: '1d' }], 100],
  ['token-bucket', [{ algorithm: 'token-bucket', limit: 100, window: '1d' }], 100],
  ['gcra', [{ algorithm: 'gcra', limit: 100, window: '1d' }], 100],
  [
    'multi-limit (gcra 70 the tightest)',
    [
      { algorithm: 'fixed-window', limit: 100, window: '1d' },
      { algorithm: 'sliding-window', limit: 90, window: '1d' },
      { algorithm: 'token-bucket', limit: 80, window: '1d' },
      { algorithm: 'gcra', limit: 70, window: '1d' },
    ],
    70,
  ],
]

describe('three limiter instances on one redis-server', () => {
  for (const [name, limits, cap] of cases) {
    it(`${name}: concurrent checks of mixed costs never pass the limit; the instances agree`, async () => {
      const ls = make(limits)
      const key = `k-${name}`
      const costs = Array.from({ length: 120 }, (_, i) => 1 + ((i * 7) % 5))
      const rs = await Promise.all(costs.map((cost, i) => ls[i % 3]!.check(key, { cost })))
      const allowedSum = costs.reduce((a, c, i) => a + (rs[i]!.allowed ? c : 0), 0)
      expect(allowedSum).toBeLessThanOrEqual(cap)
      const after = await Promise.all(ls.map((l) => l.check(key, { cost: 0 })))
      for (const a of after) expect(a.remaining).toBe(cap - allowedSum)
      // Units only ran out: a refused cost did not fit at the end either.
      const refused = costs.filter((_, i) => !rs[i]!.allowed)
      expect(refused.length).toBeGreaterThan(0)
      expect(Math.min(...refused)).toBeGreaterThan(cap - allowedSum)
      // A cost that cannot fit: denied on every instance, with one reset time, and waits that
      // differ only by when each check ran (between `before` and `end` on the store's clock).
      const before = ls[0]!.now()
      const denied = await Promise.all(ls.map((l) => l.check(key, { cost: 50 })))
      const end = ls[0]!.now()
      for (const d of denied) expect(d.allowed).toBe(false)
      expect(spread(denied.map((d) => d.resetAt))).toBeLessThanOrEqual(1_000)
      expect(spread(denied.map((d) => d.retryAfterMs))).toBeLessThanOrEqual(end - before + 1_000)
    }, 30_000)
  }

  it('concurrent reservations fit exactly; settles and releases from all three leave what was settled', async () => {
    const ls = make([{ algorithm: 'fixed-window', limit: 100, window: '1d' }])
    const key = 'resv'
    const holds = await Promise.all(
      Array.from({ length: 30 }, (_, i) => ls[i % 3]!.reserve(key, 5))
    )
    expect(holds.filter((h) => h.allowed)).toHaveLength(20)
    await Promise.all(holds.map((h, i) => (i % 2 ? h.settle(2) : h.release())))
    const settled = holds.reduce((a, h, i) => a + (h.allowed && i % 2 ? 2 : 0), 0)
    for (const r of await Promise.all(ls.map((l) => l.check(key, { cost: 0 })))) {
      expect(r.remaining).toBe(100 - settled)
    }
  }, 30_000)

  for (const algorithm of ['gcra', 'fixed-window', 'sliding-window', 'token-bucket'] as const) {
    it(`${algorithm}: concurrent penalties and over-settles from three instances are capped at one extra window`, async () => {
      const ls = make([{ algorithm, limit: 10, window: '1d' }])
      const key = `cap-${algorithm}`
      // ~270 units of penalties on a limit of 10: uncapped, ~27 windows of debt.
      await Promise.all(Array.from({ length: 30 }, (_, i) => ls[i % 3]!.penalize(key, 7 + (i % 5))))
      const holds = await Promise.all(ls.map((l) => l.reserve(`${key}-r`, 3)))
      expect(holds.every((h) => h.allowed)).toBe(true)
      await Promise.all(holds.map((h) => h.settle(10_000)))
      for (const k of [key, `${key}-r`]) {
        for (const r of await Promise.all(ls.map((l) => l.check(k)))) {
          expect(r.allowed).toBe(false)
          // Bounds measured from after the check: they hold however late the check ran.
          expect(r.retryAfterMs).toBeLessThanOrEqual(2 * DAY + 1_000)
          expect(r.resetAt - ls[0]!.now()).toBeLessThanOrEqual(2 * DAY + 1_000)
        }
      }
    }, 30_000)
  }
})
