/**
 * Differential test of the budget ops' three bodies with full time precision: each Lua script (its
 * server-clock prelude swapped for a fixed `nowMs` passed as the last ARGV) runs on a real
 * redis-server, its native body on memoryStore (what it runs) and its JS twin on a second
 * memoryStore given the op without its native body, all with the same injected clock. Over seeded random sequences
 * of reserve (hard, soft, dry), settle, release, extend and spend calls with clock steps that cross
 * reservation TTLs, tombstone lifetimes and rolling-window buckets, every decoded reply must be
 * identical. Settles and releases are repeated on ids already settled or released, before and
 * after their tombstones lapse: from "another process" (another object's nonce, the handle's
 * possibly stale expiry: a duplicate) or as the same object's retry after a lost reply (its own
 * nonce: `again`, reporting the first call's charge). Settles pass a budget clock skewed either way
 * from the store's, and each calendar ledger's expiry (recorded by the script on the test clock) must
 * be the memory stores' own. Every outcome state is required to occur.
 */
import { type AtomicOp, defineOp, LUA_NOW_MS, memoryStore } from '@aikit/core'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  extendOp,
  releaseOp,
  reserveOp,
  settleOp,
  spendOp,
  type UnholdState,
} from '../src/budget-ops.js'

let server: RedisServer
let client: Redis

beforeAll(async () => {
  server = await startRedis()
  client = server.client({ maxRetriesPerRequest: 1 })
})

afterAll(async () => {
  await server?.stop()
})

const TOMB_SET = "redis.call('SET', key, val, 'PX', fmt('%d', ttl))"
const LEDGER_EXPIRE = "redis.call('PEXPIRE', key, fmt('%d', ttl))"
// Redis expires keys on its real clock, the test's clock is fixed: each tombstone also records its
// expiry on the test clock (`<key>|at`), and the test deletes it once the clock passes that. A
// calendar ledger records its expiry the same way (the sequences never reach it).
const fixedClock = (lua: string) =>
  lua
    .replace(LUA_NOW_MS, 'local nowMs = tonumber(ARGV[#ARGV])\n')
    .replace(TOMB_SET, `${TOMB_SET}\n  redis.call('SET', key .. '|at', nowMs + ttl)`)
    .replace(LEDGER_EXPIRE, `${LEDGER_EXPIRE}\n      redis.call('SET', key .. '|at', nowMs + ttl)`)

// Each key's remaining lifetime on a memory store (-2 when gone), on either body.
const pttlOp = defineOp<null, number[]>({
  name: 'probePttl',
  lua: 'return 0',
  js: (data, keys) => keys.map((k) => data.pttl(k)),
  native: (data, keys) => keys.map((k) => data.pttl(k)),
  encode: () => [],
  decode: (raw) => raw as number[],
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

/** The op without its native body: the memory store then runs the JS twin. */
const jsOnly = <I, O>(op: AtomicOp<I, O>): AtomicOp<I, O> => {
  const { name, lua, js, encode, decode } = op
  if (js === undefined) throw new Error(`${name} has no js body`)
  return defineOp({ name, lua, js, encode, decode })
}

const HOUR = 3_600_000
const BUCKET = HOUR / 60

describe('budget ops: Lua on redis-server, native and JS on memoryStore agree step by step', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}`, async () => {
      const random = rng(seed)
      const int = (n: number) => Math.floor(random() * n)
      let now = 1_800_000_000_000 + int(HOUR)
      const dayEnd = now + 3 * 86_400_000
      const mem = memoryStore({ prefix: `d${seed}`, now: () => now })
      const memJs = memoryStore({ prefix: `d${seed}`, now: () => now })
      const subject = `user:${seed}`
      const res = mem.key(subject, 'budget', 'res')
      const keys = [
        res,
        mem.key(subject, 'budget', 'day', 'd'),
        mem.key(subject, 'budget', 'rolling', 'r'),
      ]
      const limits = [
        { limitMicros: 5_000, kind: 'c' as const, a: dayEnd, b: 0 },
        { limitMicros: 2_000, kind: 'r' as const, a: HOUR, b: BUCKET },
      ]
      const settleLimits = [
        { kind: 'c' as const, a: dayEnd + 86_400_000, b: dayEnd },
        { kind: 'r' as const, a: HOUR, b: BUCKET },
      ]
      // `nonce`: the object that settled or released it (`o`: the reserving one).
      type Hold = { id: string; amount: number; exp: number; nonce: string }
      const live: Hold[] = []
      const tombstones = new Map<string, number>()
      const finished: Hold[] = []
      const seen = new Set<UnholdState | 'extended' | 'again'>()
      // A repeat is the finishing object's own retry or another object's call (a new nonce).
      const nonceFor = (h: Hold, repeat: boolean, step: number) =>
        repeat && int(2) === 0 ? h.nonce : repeat ? `p${step}` : 'o'
      const done = (id: string) => mem.key(subject, 'budget', 'done', id)
      const settleKeys = (id: string) => [res, done(id), keys[1] as string, keys[2] as string]
      const run = async <I, O>(
        op: { lua: string; encode: (i: I) => readonly string[]; decode: (r: never) => O },
        opKeys: string[],
        input: I
      ) => {
        for (const [key, at] of tombstones) {
          if (at > now) continue
          await client.del(key, `${key}|at`)
          tombstones.delete(key)
        }
        const fromMemory = await mem.run(op as never, opKeys, input)
        const fromJs = await memJs.run(jsOnly(op as AtomicOp<I, O>), opKeys, input)
        expect(fromJs).toEqual(fromMemory)
        const raw = await client.eval(
          fixedClock(op.lua),
          opKeys.length,
          ...opKeys,
          ...op.encode(input),
          String(now)
        )
        const fromRedis = op.decode(raw as never)
        const tomb = opKeys[1] ?? ''
        if (op.lua === settleOp.lua || op.lua === releaseOp.lua) {
          const at = await client.get(`${tomb}|at`)
          if (at !== null) tombstones.set(tomb, Number(at))
        }
        expect(fromRedis).toEqual(fromMemory)
        return fromMemory as O
      }
      for (let step = 0; step < 200; step++) {
        now += [0, 1, 1000, 60_000, 7 * 60_000, 40 * 60_000][int(6)] as number
        const action = int(14)
        const keepMs = (1 + int(20)) * 60_000
        if (action < 5) {
          const id = `r${step}`
          const amount = 1 + int(900)
          const ttlMs = (1 + int(10)) * 60_000
          const mode = (['hard', 'hard', 'soft', 'dry'] as const)[int(4)] as 'hard' | 'soft' | 'dry'
          const r = await run(reserveOp, keys, { id, amountMicros: amount, ttlMs, mode, limits })
          if (r.ok && mode !== 'dry') live.push({ id, amount, exp: r.nowMs + ttlMs, nonce: 'o' })
        } else if (action < 8 && live.length + finished.length > 0) {
          // Mostly a first settle of a live (or lapsed) hold; sometimes a duplicate of a finished one.
          const again = finished.length > 0 && (live.length === 0 || int(3) === 0)
          const h = again ? finished[int(finished.length)]! : live.splice(int(live.length), 1)[0]!
          const nonce = nonceFor(h, again, step)
          const s = await run(settleOp, settleKeys(h.id), {
            id: h.id,
            expiresAt: h.exp,
            keepMs,
            actualMicros: int(1200),
            model: ['gpt-4o', 'claude-haiku-4-5'][int(2)] as string,
            nonce,
            // The budget's clock, skewed either way from the store's.
            clockMs: now + ([-40, -1, 0, 0, 1, 40][int(6)] as number) * 60_000,
            limits: settleLimits,
          })
          seen.add(s.again ? 'again' : s.state)
          if (!again) finished.push({ ...h, nonce })
          if (!again && int(4) === 0) {
            // The same object's retry after a lost reply: it reports the charge the first made.
            const retry = await run(settleOp, settleKeys(h.id), {
              id: h.id,
              expiresAt: h.exp,
              keepMs,
              actualMicros: int(1200),
              model: 'gpt-4o',
              nonce,
              clockMs: now,
              limits: settleLimits,
            })
            expect(retry).toMatchObject({ again: true, state: s.state })
            expect(retry.chargedMicros).toBe(s.chargedMicros)
            seen.add('again')
          }
          // The day ledger's expiry, on the test clock, is the one the memory stores gave it.
          const day = keys[1] as string
          const [left] = await mem.run(pttlOp, [day], null)
          expect(await memJs.run(pttlOp, [day], null)).toEqual([left])
          if (left !== undefined && left >= 0) {
            expect(Number(await client.get(`${day}|at`))).toBe(now + left)
          }
        } else if (action < 10 && live.length + finished.length > 0) {
          const again = finished.length > 0 && (live.length === 0 || int(3) === 0)
          const h = again ? finished[int(finished.length)]! : live.splice(int(live.length), 1)[0]!
          const nonce = nonceFor(h, again, step)
          const state = await run(releaseOp, [res, done(h.id)], {
            id: h.id,
            expiresAt: h.exp,
            keepMs,
            nonce,
          })
          seen.add(state)
          if (!again) finished.push({ ...h, nonce })
        } else if (action < 12 && live.length + finished.length > 0) {
          const pool = live.length > 0 && int(4) > 0 ? live : finished.length > 0 ? finished : live
          const h = pool[int(pool.length)]!
          const ttlMs = (1 + int(30)) * 60_000
          const x = await run(extendOp, [res], { id: h.id, ttlMs })
          if (x.extended) {
            seen.add('extended')
            h.exp = x.expiresAt
          }
        } else {
          const which = int(2)
          await run(spendOp, [res, keys[1 + which] as string], {
            kind: limits[which]!.kind,
            a: limits[which]!.a,
            b: limits[which]!.b,
          })
        }
      }
      // The sequence reached every outcome: live, lapsed, duplicate of each kind, extended.
      expect([...seen].sort()).toEqual(['again', 'extended', 'gone', 'held', 'released', 'settled'])
    })
  }
})
