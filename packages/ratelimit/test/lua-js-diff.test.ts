/**
 * Differential test of the op's two bodies with full time precision: the Lua script (its server-clock
 * prelude swapped for a fixed `nowMs` passed as the last ARGV) runs on a real redis-server, the JS
 * twin on memoryStore with the same injected clock; over seeded random sequences of costs and clock
 * steps, every decoded result (remaining, resetAt, retryAfterMs of every limit) must be identical.
 */
import { LUA_NOW_MS, memoryStore } from '@aikit/core'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adjustOp } from '../src/adjust-op.js'
import type { OpLimit } from '../src/algorithms.js'
import { blockOp } from '../src/block-op.js'
import { checkOp, reserveOp } from '../src/check-op.js'
import { resetOp } from '../src/reset-op.js'

let server: RedisServer
let client: Redis

beforeAll(async () => {
  server = await startRedis()
  client = server.client({ maxRetriesPerRequest: 1 })
})

afterAll(async () => {
  await server?.stop()
})

// The scripts on the test's clock (ARGV's last value instead of TIME). Redis still expires keys on
// its own (real) clock: a `PX` of 2 windows is 14 ms for a 7 ms window, which a busy machine can
// spend between two steps while the test's clock has not moved, and the state would vanish on the
// Redis side only. So the keys get an hour: the ops read an outdated state as the empty one (the
// memory store, on the test's clock, drops it), and that equivalence is part of what is compared.
const LONG_EXPIRY = `local function xcall(cmd, ...)
  local args = {...}
  if cmd == 'SET' then
    for i = 1, #args - 1 do
      if args[i] == 'PX' then args[i + 1] = 3600000 end
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
const fixedClockLua = fixedClock(checkOp.lua)
const fixedClockAdjust = fixedClock(adjustOp.lua)
const fixedClockBlock = fixedClock(blockOp.lua)
const fixedClockReserve = fixedClock(reserveOp.lua)
const fixedClockReset = fixedClock(resetOp.lua)

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
  { name: 'gcra 7/1000', limits: [{ algorithm: 'gcra', limit: 7, windowMs: 1000 }] },
  {
    name: 'gcra 1000/7 (interval < 1 ms)',
    limits: [{ algorithm: 'gcra', limit: 1000, windowMs: 7 }],
  },
  {
    name: 'fixed-window 7/1000',
    limits: [{ algorithm: 'fixed-window', limit: 7, windowMs: 1000 }],
  },
  {
    name: 'sliding-window 7/1000',
    limits: [{ algorithm: 'sliding-window', limit: 7, windowMs: 1000 }],
  },
  {
    name: 'sliding-window 3000/1000 (limit > window)',
    limits: [{ algorithm: 'sliding-window', limit: 3000, windowMs: 1000 }],
  },
  { name: 'token-bucket 7/999', limits: [{ algorithm: 'token-bucket', limit: 7, windowMs: 999 }] },
  {
    name: 'all four',
    limits: [
      { algorithm: 'gcra', limit: 5, windowMs: 700 },
      { algorithm: 'fixed-window', limit: 9, windowMs: 1300 },
      { algorithm: 'sliding-window', limit: 7, windowMs: 1000 },
      { algorithm: 'token-bucket', limit: 11, windowMs: 2000 },
    ],
  },
]

describe('Lua and native bodies agree exactly on a fixed clock', () => {
  for (const [index, c] of cases.entries()) {
    it(c.name, async () => {
      const clock = { t: 1_732_000_000_123 }
      const memory = memoryStore({ now: () => clock.t, prefix: 'diff' })
      const keys = [...c.limits.map((_, i) => memory.key(`case${index}`, `l${i}`))]
      const blockKey = memory.key(`case${index}`, 'block')
      const checkKeys = [...keys, blockKey]
      const random = rng(7 + index)
      const maxLimit = Math.max(...c.limits.map((l) => l.limit))
      const evalFixed = (lua: string, ks: string[], argv: readonly string[]) =>
        client.eval(lua, ks.length, ...ks, ...argv, String(clock.t))
      let allowed = 0
      let adjusted = 0
      // The resetAt of each limit in the last allowed check: a reservation's `taken` marks.
      let reserved: readonly number[] = c.limits.map(() => clock.t)
      for (let i = 0; i < 400; i++) {
        clock.t += Math.floor(random() * 300)
        const dice = random()
        if (dice < 0.2) {
          // refund or charge. `taken`: for the window algorithms this window, the previous one, or
          // unrelated; for GCRA / token bucket a reservation's resetAt (maybe long past: a late
          // refund), a time still ahead (partly held) or already past (nothing held).
          const units = Math.floor((random() - 0.5) * 2 * maxLimit)
          const taken = c.limits.map((l, li) => {
            const pick = random()
            if (l.algorithm === 'gcra' || l.algorithm === 'token-bucket') {
              if (pick < 0.4) return reserved[li] as number
              const offset = Math.floor(random() * 2 * l.windowMs)
              return pick < 0.7 ? clock.t + offset : clock.t - offset
            }
            const ws = Math.floor(clock.t / l.windowMs) * l.windowMs
            return pick < 0.4 ? ws : pick < 0.8 ? ws - l.windowMs : ws + 17
          })
          const input = { limits: c.limits, units, taken }
          await memory.run(adjustOp, keys, input)
          await evalFixed(fixedClockAdjust, keys, adjustOp.encode(input))
          adjusted++
          continue
        }
        if (dice < 0.23) {
          const ms = 1 + Math.floor(random() * 500)
          const fromMemory = await memory.run(blockOp, [blockKey], ms)
          const fromRedis = blockOp.decode(
            (await evalFixed(fixedClockBlock, [blockKey], blockOp.encode(ms))) as never
          )
          expect(fromRedis, `block at step ${i}`).toBe(fromMemory)
          continue
        }
        const cost = random() < 0.05 ? maxLimit + 1 : Math.floor(random() * (maxLimit / 2 + 1))
        const input = { limits: c.limits, cost }
        const fromMemory = await memory.run(checkOp, checkKeys, input)
        const fromRedis = checkOp.decode(
          (await evalFixed(fixedClockLua, checkKeys, checkOp.encode(input))) as never
        )
        expect(fromRedis, `step ${i}, cost ${cost}`).toEqual(fromMemory)
        if (fromMemory.allowed) {
          allowed++
          reserved = fromMemory.limits.map((l) => l.resetAt)
        }
      }
      expect(allowed).toBeGreaterThan(10)
      expect(allowed).toBeLessThan(380)
      expect(adjusted).toBeGreaterThan(40)
    })
  }
})

describe('a late refund on both bodies (GCRA, token bucket): nothing of what has drained comes back', () => {
  for (const algorithm of ['gcra', 'token-bucket'] as const) {
    it(algorithm, async () => {
      const clock = { t: 1_732_000_000_000 }
      const memory = memoryStore({ now: () => clock.t, prefix: 'late' })
      const limits: OpLimit[] = [{ algorithm, limit: 10, windowMs: 1000 }]
      const keys = [memory.key(`late-${algorithm}`, 'l0')]
      const checkKeys = [...keys, memory.key(`late-${algorithm}`, 'block')]
      const evalFixed = (lua: string, ks: string[], argv: readonly string[]) =>
        client.eval(lua, ks.length, ...ks, ...argv, String(clock.t))
      const both = async (cost: number) => {
        const input = { limits, cost }
        const fromMemory = await memory.run(checkOp, checkKeys, input)
        const fromRedis = checkOp.decode(
          (await evalFixed(fixedClockLua, checkKeys, checkOp.encode(input))) as never
        )
        expect(fromRedis).toEqual(fromMemory)
        return fromMemory
      }
      const refund = async (units: number, taken: number) => {
        const input = { limits, units: -units, taken: [taken] }
        await memory.run(adjustOp, keys, input)
        await evalFixed(fixedClockAdjust, keys, adjustOp.encode(input))
      }
      // Late: reserved, drained, taken again by another request, then released.
      const reservation = await both(10)
      clock.t += 2000
      expect((await both(10)).allowed).toBe(true)
      await refund(10, reservation.resetAt)
      expect((await both(10)).allowed).toBe(false)
      expect((await both(0)).remaining).toBe(0)
      // Partly held: 3 of 10 units drained, the other 7 come back.
      clock.t += 2000
      const partial = await both(10)
      clock.t += 300
      expect((await both(3)).allowed).toBe(true)
      await refund(10, partial.resetAt)
      expect((await both(0)).remaining).toBe(7)
    })
  }
})

describe('reserve, reset and refunds past a reset: both bodies agree', () => {
  // Windows long enough that no reset stamp expires during the run (Redis keeps the keys an hour,
  // see LONG_EXPIRY; the memory store drops them on the test's clock).
  const limits: OpLimit[] = [
    { algorithm: 'gcra', limit: 5, windowMs: 70_000 },
    { algorithm: 'fixed-window', limit: 9, windowMs: 130_000 },
    { algorithm: 'sliding-window', limit: 7, windowMs: 100_000 },
    { algorithm: 'token-bucket', limit: 11, windowMs: 200_000 },
  ]
  for (const [index, subset] of [[0], [1], [2], [3], [0, 1, 2, 3]].entries()) {
    const ls = subset.map((i) => limits[i] as OpLimit)
    it(ls.map((l) => l.algorithm).join(' + '), async () => {
      const clock = { t: 1_732_000_000_123 }
      const memory = memoryStore({ now: () => clock.t, prefix: 'stamps' })
      const tag = `stamps${index}`
      const limitKeys = ls.map((_, i) => memory.key(tag, `l${i}`))
      const stampKeys = ls.map((_, i) => memory.key(tag, `l${i}:reset`))
      const blockKey = memory.key(tag, 'block')
      const reserveKeys = [...limitKeys, blockKey, ...stampKeys]
      const refundKeys = [...limitKeys, ...stampKeys]
      const random = rng(99 + index)
      const maxLimit = Math.max(...ls.map((l) => l.limit))
      const evalFixed = (lua: string, ks: string[], argv: readonly string[]) =>
        client.eval(lua, ks.length, ...ks, ...argv, String(clock.t))
      const held: { taken: number[]; seen: readonly number[]; units: number }[] = []
      let resets = 0
      let sawStamp = 0
      for (let i = 0; i < 300; i++) {
        clock.t += Math.floor(random() * 40)
        const dice = random()
        if (dice < 0.1) {
          await memory.run(resetOp, reserveKeys, ls)
          await evalFixed(fixedClockReset, reserveKeys, resetOp.encode(ls))
          resets++
          continue
        }
        if (dice < 0.4 && held.length > 0) {
          const h = held.splice(Math.floor(random() * held.length), 1)[0]!
          const input = { limits: ls, units: -h.units, taken: h.taken, seen: h.seen }
          await memory.run(adjustOp, refundKeys, input)
          await evalFixed(fixedClockAdjust, refundKeys, adjustOp.encode(input))
          continue
        }
        const cost = Math.floor(random() * (maxLimit / 2 + 1))
        const input = { limits: ls, cost }
        const fromMemory = await memory.run(reserveOp, reserveKeys, input)
        const fromRedis = reserveOp.decode(
          (await evalFixed(fixedClockReserve, reserveKeys, reserveOp.encode(input))) as never
        )
        expect(fromRedis, `step ${i}, cost ${cost}`).toEqual(fromMemory)
        // The reserve reply is the check's, and the stamps.
        expect(fromMemory.seen).toHaveLength(ls.length)
        if (fromMemory.seen.some((s) => s > 0)) sawStamp++
        if (fromMemory.result.allowed && cost > 0) {
          held.push({
            units: cost,
            seen: fromMemory.seen,
            taken: fromMemory.result.limits.map((l, li) =>
              ls[li]!.algorithm === 'gcra' || ls[li]!.algorithm === 'token-bucket'
                ? l.resetAt
                : l.resetAt - ls[li]!.windowMs
            ),
          })
        }
      }
      // Every step's state agrees too: a last read of each limit on both bodies.
      const input = { limits: ls, cost: 0 }
      const fromMemory = await memory.run(checkOp, [...limitKeys, blockKey], input)
      const fromRedis = checkOp.decode(
        (await evalFixed(fixedClockLua, [...limitKeys, blockKey], checkOp.encode(input))) as never
      )
      expect(fromRedis).toEqual(fromMemory)
      expect(resets).toBeGreaterThan(10)
      expect(sawStamp).toBeGreaterThan(10)
    })
  }
})
