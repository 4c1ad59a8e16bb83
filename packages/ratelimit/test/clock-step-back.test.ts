/**
 * A clock stepped back (NTP, a VM resume; on Redis, a failover to a primary whose clock is behind)
 * locks no key out for the size of the step:
 * - GCRA and token bucket: a state stamped "in the future" holds a key back for at most 2 windows
 *   (debt included), on the memory store's JavaScript body and on every path of the Lua script
 *   (one limit, several limits, the batch fast path), which agree exactly, checks and adjustments.
 * - The blocked-key cache (remote stores) times a cached denial on elapsed time: a 1 h step back of
 *   this machine's wall clock neither lengthens the wait it reports nor how long it is served.
 */
import { defineOp, LUA_NOW_MS, memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { adjustOp } from '../src/adjust-op.js'
import type { OpLimit } from '../src/algorithms.js'
import { type CheckResult, checkOp } from '../src/check-op.js'

let server: RedisServer
let client: Redis
beforeAll(async () => {
  server = await startRedis()
  client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
})
afterAll(async () => {
  client?.disconnect()
  await server?.stop()
})
afterEach(() => {
  vi.restoreAllMocks()
})

const HOUR = 3_600_000

describe('blocked-key cache: a 1 h step back of the wall clock', () => {
  it('neither lengthens the wait a cached denial reports nor how long it is served', async () => {
    const limiter = createRateLimiter({
      store: redisStore(client, { commandTimeoutMs: 2_000, prefix: 'cachestep' }),
      limits: [{ limit: 1, window: 1_500 }],
    })
    expect((await limiter.check('k')).allowed).toBe(true)
    const denied = await limiter.check('k')
    expect(denied.allowed).toBe(false)
    expect(denied.retryAfterMs).toBeLessThanOrEqual(1_500)
    // NTP steps this machine's wall clock back by one hour (Redis's clock is untouched).
    const real = Date.now.bind(Date)
    vi.spyOn(Date, 'now').mockImplementation(() => real() - HOUR)
    const during = await limiter.check('k')
    expect(during).toMatchObject({ allowed: false, cached: true })
    expect(during.retryAfterMs).toBeGreaterThan(0)
    expect(during.retryAfterMs).toBeLessThanOrEqual(1_500)
    // Once the real wait is over (on Redis's clock), the key passes again.
    await new Promise((resolve) => setTimeout(resolve, 1_700))
    expect((await limiter.check('k')).allowed).toBe(true)
  }, 15_000)
})

describe('memory store: a 1 h step back of its clock', () => {
  for (const algorithm of ['gcra', 'token-bucket'] as const) {
    it(`${algorithm}: holds a drained key back for at most 2 windows, not an hour`, async () => {
      let t = 1_800_000_000_000
      const limiter = createRateLimiter({
        store: memoryStore({ now: () => t }),
        limits: [{ algorithm, limit: 10, window: '1m' }],
      })
      expect((await limiter.check('k', { cost: 10 })).allowed).toBe(true)
      t -= HOUR
      const r = await limiter.check('k')
      expect(r.allowed).toBe(false)
      expect(r.retryAfterMs).toBeLessThanOrEqual(120_000)
      expect(r.resetAt - t).toBeLessThanOrEqual(120_000)
      t += 120_001 // two windows later, on the new clock
      expect((await limiter.check('k')).allowed).toBe(true)
    })

    it(`${algorithm}: a penalty's debt still counts, for at most 2 windows`, async () => {
      let t = 1_800_000_000_000
      const limiter = createRateLimiter({
        store: memoryStore({ now: () => t }),
        limits: [{ algorithm, limit: 10, window: '1m' }],
      })
      await limiter.penalize('k', 20) // 2 windows of debt: the most there can be
      t -= HOUR
      expect((await limiter.check('k')).allowed).toBe(false)
      t += 59_000
      expect((await limiter.check('k')).allowed).toBe(false)
      t += 61_001
      expect((await limiter.check('k')).allowed).toBe(true)
    })

    it(`${algorithm}: units released after the step still come back`, async () => {
      let t = 1_800_000_000_000
      const limiter = createRateLimiter({
        store: memoryStore({ now: () => t }),
        limits: [{ algorithm, limit: 10, window: '1m' }],
      })
      const reservation = await limiter.reserve('k', 10)
      await limiter.penalize('k', 10) // a window of debt beside the reservation
      t -= HOUR
      await reservation.release()
      t += 60_001 // the debt is paid; the released units do not count
      expect((await limiter.check('k')).allowed).toBe(true)
    })
  }
})

// The scripts on the test's clock: the server-clock prelude swapped for a fixed `nowMs` (the last
// ARGV), and an hour of expiry on every SET (Redis expires keys on its own, real clock; the test's
// clock jumps by hours). The memory store runs on the same clock.
const LONG_EXPIRY = `local function xcall(cmd, ...)
  local args = {...}
  if cmd == 'SET' then
    for i = 1, #args - 1 do
      if args[i] == 'PX' then args[i + 1] = 36000000 end
    end
  end
  return redis.call(cmd, unpack(args))
end
`
const fixedClock = (lua: string) =>
  LONG_EXPIRY +
  lua
    .replace(LUA_NOW_MS, 'local nowMs = tonumber(ARGV[#ARGV])\n')
    .replaceAll('redis.call(', 'xcall(')
const checkLua = fixedClock(checkOp.lua)
const adjustLua = fixedClock(adjustOp.lua)
// The batch fast path alone (core's batch wrapper runs it before anything else), on ARGV
// `[calls, 2, 5, '1', cost, 1, algorithm, limit, window, nowMs]`: calls checks of one limit.
const batchLua = `${LONG_EXPIRY}local nowMs = tonumber(ARGV[#ARGV])
${(checkOp.batchLua as string).replaceAll('redis.call(', 'xcall(')}
return 'not taken'`

/**
 * Whether the memory store still holds a key: it drops one 2 windows after its last write on the
 * test's clock, Redis only after an hour. Forward, an outdated state reads as the empty one anyway;
 * before a step back the test drops on Redis what the memory store has dropped.
 */
const holds = defineOp<null, boolean>({
  name: 'testHolds',
  lua: 'return 0',
  native: (data, keys) => data.get(keys[0] as string) !== undefined,
  encode: () => [],
  decode: (reply) => reply === 1,
})

function rng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const cases: { name: string; limits: OpLimit[] }[] = [
  { name: 'gcra (one-limit path)', limits: [{ algorithm: 'gcra', limit: 7, windowMs: 1000 }] },
  { name: 'token bucket', limits: [{ algorithm: 'token-bucket', limit: 7, windowMs: 999 }] },
  {
    name: 'gcra + token bucket (general loop)',
    limits: [
      { algorithm: 'gcra', limit: 5, windowMs: 700 },
      { algorithm: 'token-bucket', limit: 11, windowMs: 2000 },
    ],
  },
]

describe('Lua and JavaScript bodies agree on a clock that steps back', () => {
  for (const [index, c] of cases.entries()) {
    it(c.name, async () => {
      const clock = { t: 1_732_000_000_123 }
      const memory = memoryStore({ now: () => clock.t, prefix: 'stepdiff' })
      const keys = c.limits.map((_, i) => memory.key(`step${index}`, `l${i}`))
      const checkKeys = [...keys, memory.key(`step${index}`, 'block')]
      const maxW = Math.max(...c.limits.map((l) => l.windowMs))
      const maxLimit = Math.max(...c.limits.map((l) => l.limit))
      const random = rng(11 + index)
      const check = async (cost: number): Promise<CheckResult> => {
        const input = { limits: c.limits, cost }
        const fromMemory = await memory.run(checkOp, checkKeys, input)
        const reply = await client.eval(
          checkLua,
          checkKeys.length,
          ...checkKeys,
          ...checkOp.encode(input),
          String(clock.t)
        )
        expect(checkOp.decode(reply as never), `at ${clock.t}, cost ${cost}`).toEqual(fromMemory)
        return fromMemory
      }
      const adjust = async (units: number) => {
        const input = { limits: c.limits, units, taken: c.limits.map(() => clock.t + HOUR) }
        await memory.run(adjustOp, keys, input)
        await client.eval(
          adjustLua,
          keys.length,
          ...keys,
          ...adjustOp.encode(input),
          String(clock.t)
        )
      }
      let stepsBack = 0
      for (let i = 0; i < 300; i++) {
        const dice = random()
        if (dice < 0.08) {
          for (const key of keys) {
            if (!(await memory.run(holds, [key], null))) await client.del(key)
          }
          // A step back: an hour, or a little more than the state can legitimately be ahead.
          clock.t -= random() < 0.5 ? HOUR : 2 * maxW + Math.floor(random() * maxW)
          stepsBack++
          // Drained by then or not, the key passes again within 2 windows.
          if (random() < 0.5) {
            await check(0)
            clock.t += 2 * maxW + 1
            expect((await check(1)).allowed, `2 windows after step ${i}`).toBe(true)
          }
          continue
        }
        clock.t += Math.floor(random() * 300)
        if (dice < 0.25) await adjust(Math.floor((random() - 0.3) * 3 * maxLimit))
        else await check(Math.floor(random() * (maxLimit / 2 + 1)))
      }
      expect(stepsBack).toBeGreaterThan(10)
    })
  }

  for (const algorithm of ['gcra', 'fixed-window'] as const) {
    it(`batch fast path, ${algorithm}: as the same checks one after the other`, async () => {
      const clock = { t: 1_732_000_000_000 }
      const L = 4
      const W = 1000
      const limits: OpLimit[] = [{ algorithm, limit: L, windowMs: W }]
      const memory = memoryStore({ now: () => clock.t, prefix: 'stepbatch' })
      const keys = [memory.key(`batch-${algorithm}`, 'l0'), memory.key(`batch-${algorithm}`, 'b')]
      const both = async (calls: number, cost: number) => {
        const fromMemory: string[] = []
        for (let i = 0; i < calls; i++) {
          const r = await memory.run(checkOp, keys, { limits, cost })
          const st = r.allowed ? 1 : 0
          fromMemory.push(`${st},${L},${r.remaining},${r.resetAt},${r.retryAfterMs}`)
        }
        const callKeys = Array.from({ length: calls }, () => keys).flat()
        const argv = [calls, 2, 5, 1, cost, 1, algorithm, L, W, clock.t].map(String)
        const reply = await client.eval(batchLua, callKeys.length, ...callKeys, ...argv)
        // Debt reads as nothing left (as the batch's decoding does).
        const fromRedis = String(reply)
          .split(';')
          .map((call) => {
            const [st, limit, rem, reset, rt] = call.split(',').map(Number) as number[]
            return `${st},${limit},${Math.max(0, rem as number)},${reset},${rt}`
          })
        expect(fromRedis, `at ${clock.t}`).toEqual(fromMemory)
        return fromRedis
      }
      await both(2, 2) // drained
      clock.t -= HOUR
      await both(3, 1) // stamped an hour ahead: clamped by the first, seen so by the next ones
      clock.t += 2 * W + 1
      expect((await both(2, 1)).map((call) => call.split(',')[0])).toEqual(['1', '1'])
    })
  }
})
