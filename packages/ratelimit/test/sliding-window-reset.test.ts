/**
 * A denied sliding window reports `resetAt` (the RateLimit header's `t`, "until that limit is fully
 * replenished") no sooner than its wait (`retryAfterMs`, `Retry-After`), so a 429's headers agree,
 * and by then the limit is indeed whole again; the Lua script and the JavaScript body report the
 * same values.
 */
import { LUA_NOW_MS, memoryStore } from '@aikit/core'
import { createRateLimiter, rateLimit } from '@aikit/ratelimit'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkOp } from '../src/check-op.js'
import { TestContext } from './test-context.js'

const W = 60_000
/** 1 s before a window edge: the previous window's count, once this one's, still weighs a lot. */
const nearEdge = 1_800_000_000_000 - (1_800_000_000_000 % W) + 59_000

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

describe('sliding window: a denial resets no sooner than its wait', () => {
  it('resetAt >= now + retryAfterMs, and the limit is whole at resetAt', async () => {
    let t = nearEdge
    const limiter = createRateLimiter({
      store: memoryStore({ now: () => t }),
      limits: [{ algorithm: 'sliding-window', limit: 10, window: W }],
    })
    expect((await limiter.check('k', { cost: 10 })).allowed).toBe(true)
    t += 500 // the next window: the 10 now weigh as the previous window's
    const r = await limiter.check('k', { cost: 5 })
    expect(r.allowed).toBe(false)
    expect(r.retryAfterMs).toBeGreaterThan(1_000)
    expect(r.resetAt - t).toBeGreaterThanOrEqual(r.retryAfterMs)
    t = r.resetAt
    expect((await limiter.check('k', { cost: 0 })).remaining).toBe(10)
  })

  it('over a random sequence: every denial, and the limit is whole by its resetAt', async () => {
    let seed = 5
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed / 2_147_483_648
    }
    let t = nearEdge
    const store = memoryStore({ now: () => t })
    const limiter = createRateLimiter({
      store,
      limits: [{ algorithm: 'sliding-window', limit: 7, window: 1000 }],
    })
    let denials = 0
    for (let i = 0; i < 2_000; i++) {
      t += Math.floor(random() * 400)
      const r = await limiter.check('k', { cost: 1 + Math.floor(random() * 4) })
      if (r.allowed) continue
      denials++
      expect(r.resetAt - t, `at ${t}`).toBeGreaterThanOrEqual(r.retryAfterMs)
      // Sometimes nothing comes until resetAt: then the limit is whole again.
      if (random() < 0.3) {
        t = r.resetAt
        expect((await limiter.check('k', { cost: 0 })).remaining, `at ${t}`).toBe(7)
      }
    }
    expect(denials).toBeGreaterThan(50)
  })

  it('the Lua script reports the same denial', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    const lua = checkOp.lua.replace(LUA_NOW_MS, 'local nowMs = tonumber(ARGV[#ARGV])\n')
    let t = nearEdge
    const memory = memoryStore({ now: () => t, prefix: 'slide' })
    const keys = [memory.key('k', 'l0'), memory.key('k', 'block')]
    const limits = [{ algorithm: 'sliding-window' as const, limit: 10, windowMs: W }]
    const both = async (cost: number) => {
      const input = { limits, cost }
      const fromMemory = await memory.run(checkOp, keys, input)
      const argv = checkOp.encode(input)
      const reply = await client.eval(lua, keys.length, ...keys, ...argv, String(t))
      expect(checkOp.decode(reply as never)).toEqual(fromMemory)
      return fromMemory
    }
    await both(10)
    t += 500
    const denied = await both(5)
    expect(denied.allowed).toBe(false)
    expect(denied.resetAt - t).toBeGreaterThanOrEqual(denied.retryAfterMs)
    client.disconnect()
  })

  it('the 429 headers agree: RateLimit t >= Retry-After', async () => {
    let t = nearEdge
    const mw = rateLimit({
      store: memoryStore({ now: () => t }),
      limits: [{ algorithm: 'sliding-window', limit: 10, window: W }],
      cost: 5,
    })
    await new TestContext().run(mw)
    await new TestContext().run(mw)
    t += 500
    const ctx = new TestContext()
    await ctx.run(mw)
    expect(ctx.written?.status).toBe(429)
    const retryAfter = Number(ctx.written?.headers['retry-after'])
    const tParam = Number(/t=(\d+)/.exec(ctx.written?.headers.ratelimit ?? '')?.[1])
    expect(retryAfter).toBeGreaterThan(1)
    expect(tParam).toBeGreaterThanOrEqual(retryAfter)
  })
})
