/**
 * A budget clock (`now`) that reads fractional milliseconds, such as the high-resolution epoch clock
 * `performance.timeOrigin + performance.now()`. Guaranteed: a day or month budget on memoryStore and
 * on a real redis-server charges every settle and enforces its limit; and a calendar ledger's
 * lifetime (`a − clockMs`, budget-ops.ts) is the same whole number of ms on both stores: the Lua
 * script truncates it with `fmt('%d', ttl)`, and memoryStore's native body gives the same TTL
 * (it used to pass the fractional TTL, which the memory store refuses: every first settle of a
 * period failed there and the calls were charged nothing).
 */
import { defineOp, LUA_NOW_MS, memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { BudgetExceededError, createBudget } from '@aikit/cost'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SettleInput, settleOp } from '../src/budget-ops.js'

let server: RedisServer
let client: Redis
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  server = await startRedis()
  client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

const stores: [string, () => Store][] = [
  ['memoryStore', () => memoryStore()],
  [
    'redis-server',
    () => redisStore(client, { prefix: `f${runId}${Math.random()}`, commandTimeoutMs: 5_000 }),
  ],
]

describe('a budget with a sub-millisecond clock', () => {
  for (const [name, makeStore] of stores) {
    for (const period of ['day', 'month'] as const) {
      it(`a ${period} budget on ${name} charges its settles and enforces its limit`, async () => {
        const budget = createBudget({
          store: makeStore(),
          now: () => Date.now() + 0.25,
          limits: [{ period, micros: 1_000 }],
        })
        const r = await budget.reserve('u', { estimateMicros: 300 })
        const settled = await r.settle(100)
        expect(settled.chargedMicros).toBe(100)
        expect((await budget.spend('u')).totalMicros).toBe(100)
        await (await budget.reserve('u', { estimateMicros: 500 })).settle(500)
        expect((await budget.spend('u')).totalMicros).toBe(600)
        await expect(budget.reserve('u', { estimateMicros: 401 })).rejects.toBeInstanceOf(
          BudgetExceededError
        )
      })
    }
  }
})

// The settle script with a fixed store clock (the last ARGV), recording the TTL it gives a new
// calendar ledger (`<key>|px`: the very string PEXPIRE receives).
const LEDGER_EXPIRE = "redis.call('PEXPIRE', key, fmt('%d', ttl))"
const settleLua = settleOp.lua
  .replace(LUA_NOW_MS, 'local nowMs = tonumber(ARGV[#ARGV])\n')
  .replace(LEDGER_EXPIRE, `${LEDGER_EXPIRE}\n      redis.call('SET', key .. '|px', fmt('%d', ttl))`)

// Each key's remaining lifetime on a memory store (-2 when gone).
const pttlOp = defineOp<null, number[]>({
  name: 'probePttl',
  lua: 'return 0',
  native: (data, keys) => keys.map((k) => data.pttl(k)),
  encode: () => [],
  decode: (raw) => raw as number[],
})

const NOW = 1_800_000_000_000
const END = NOW + 86_400_000

describe('a calendar ledger settled with a fractional budget clock', () => {
  it.each([
    ['a quarter ms past the store clock', NOW + 0.25],
    ['half a ms past', NOW + 0.5],
    ['almost a whole ms past', NOW + 0.999],
    ['behind the store clock', NOW - 7.75],
    ['1.5 ms before the ledger expiry', END - 1.5],
    ['half a ms before the ledger expiry', END - 0.5],
    ['past the ledger expiry', END + 10.25],
  ])(
    '%s: memoryStore gives it the TTL the Lua script gives it on redis-server',
    async (_, clockMs) => {
      expect(Number.isInteger(clockMs)).toBe(false)
      const mem = memoryStore({ now: () => NOW })
      const subject = `s${runId}${clockMs}`
      const ledgerKey = mem.key(subject, 'budget', 'day', 'd')
      const keys = [
        mem.key(subject, 'budget', 'res'),
        mem.key(subject, 'budget', 'done', 'r1'),
        ledgerKey,
      ]
      const input: SettleInput = {
        id: 'r1',
        expiresAt: NOW + 60_000,
        keepMs: 60_000,
        actualMicros: 100,
        model: 'gpt-4o',
        nonce: 'n1',
        clockMs,
        limits: [{ kind: 'c', a: END, b: END }],
      }
      const fromMemory = await mem.run(settleOp, keys, input)
      const raw = await client.eval(
        settleLua,
        keys.length,
        ...keys,
        ...settleOp.encode(input),
        String(NOW)
      )
      expect(settleOp.decode(raw as never)).toEqual(fromMemory)
      expect(fromMemory).toMatchObject({ chargedMicros: 100, limits: [{ spentMicros: 100 }] })
      const px = Number(await client.get(`${ledgerKey}|px`))
      expect(px).toBeGreaterThanOrEqual(1)
      expect(await mem.run(pttlOp, [ledgerKey], null)).toEqual([px])
    }
  )
})
