/**
 * Differential test of the budget ops' native bodies (what `memoryStore` runs) against their JS
 * twins on the Redis-like data model (which lua-js-diff.test.ts proves equal to the Lua scripts on
 * a real redis-server). Two memory stores with the same injected clock run the same seeded random
 * sequences of reserve (hard, soft, dry), settle, release, extend and spend calls over several
 * subjects, with clock steps crossing hold TTLs, tombstone lifetimes and rolling buckets, and a
 * small key bound so that LRU evictions happen: every result must be identical, and after every
 * step so must the stores' key and eviction counts and (without the bound) each key's remaining
 * lifetime (holds, ledgers: PTTL, -2 when gone), each tombstone's value and lifetime and the holds
 * themselves. Repeated settles and releases come from another object (a new nonce: duplicates) or
 * are the finishing object's own retry (`again`); settles pass a budget clock skewed either way from
 * the store's (a calendar ledger lives `a − clockMs`).
 *
 * The one layout difference: the native bodies keep a subject's tombstones inside its holds value
 * (so a memory store's key bound counts subjects, not settles; see budget-native.ts), the scripts
 * as `…:done:<id>` keys. The twin therefore runs through `tombsInHolds`, which stores what the
 * twin's tombstone GET / SET read and write as a field `d:<id>` = `<value>:<expiresAt>` of the holds
 * hash (hidden from the twin's HGETALL) and keeps the holds key alive until its latest tombstone
 * expires, as the native bodies do. The ops' steps are the twin's own; only where a tombstone is
 * stored changes, so both stores hold the same keys with the same LRU order and lifetimes, and
 * results, counts and evictions are still compared exactly, step by step.
 */
import { type AtomicOp, defineOp, type MemoryData, memoryStore } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import {
  extendOp,
  releaseOp,
  reserveOp,
  settleOp,
  spendOp,
  type UnholdState,
} from '../src/budget-ops.js'

const TOMB = 'd:'

/** The latest tombstone expiry in the holds hash (-1 when none). */
function latestTomb(data: MemoryData, res: string): number {
  const f = data.hgetall(res)
  let until = -1
  for (let j = 0; j < f.length; j += 2) {
    if (!(f[j] ?? '').startsWith(TOMB)) continue
    const v = f[j + 1] ?? ''
    until = Math.max(until, Number(v.slice(v.lastIndexOf(':') + 1)))
  }
  return until
}

/**
 * The twin's data with its tombstone key (`keys[1]` of settle and release, for id `argv[0]`) kept
 * as a field of the holds hash `keys[0]`, as the native bodies keep it (see the header).
 */
function tombsInHolds(
  data: MemoryData,
  keys: readonly string[],
  id: string | undefined,
  nowMs: number
): MemoryData {
  const res = keys[0] ?? ''
  const done = id === undefined ? undefined : keys[1]
  return {
    ...data,
    get: (key) => {
      if (key !== done) return data.get(key)
      const v = data.hget(res, TOMB + id)
      if (v === null || Number(v.slice(v.lastIndexOf(':') + 1)) <= nowMs) return null
      return v.slice(0, v.lastIndexOf(':'))
    },
    set: (key, value, options) => {
      if (key !== done) return data.set(key, value, options)
      const px = options?.px ?? 0
      data.hset(res, TOMB + id, `${value}:${nowMs + px}`)
      const left = data.pttl(res)
      if (left === -1 || left < px) data.pexpire(res, px)
      return true
    },
    hgetall: (key) => {
      const f = data.hgetall(key)
      const out: string[] = []
      for (let j = 0; j < f.length; j += 2) {
        if (!(f[j] ?? '').startsWith(TOMB)) out.push(f[j] ?? '', f[j + 1] ?? '')
      }
      return out
    },
    pexpire: (key, ms) =>
      data.pexpire(key, key === res ? Math.max(ms, latestTomb(data, res) - nowMs) : ms),
  }
}

/** The op without its native body: the memory store then runs the JS twin (tombstones adapted). */
const jsOnly = <I, O>(op: AtomicOp<I, O>): AtomicOp<I, O> => {
  const { name, lua, js, encode, decode } = op
  if (js === undefined) throw new Error(`${name} has no js body`)
  const tombs = name === 'budgetSettle' || name === 'budgetRelease'
  return defineOp({
    name,
    lua,
    js: (data, keys, argv, nowMs) =>
      js(tombsInHolds(data, keys, tombs ? argv[0] : undefined, nowMs), keys, argv, nowMs),
    encode,
    decode,
  })
}

// Reads every key's remaining lifetime on either data model (a read of an expired key removes it
// on both, as any op's read does).
const pttlJs = defineOp<null, number[]>({
  name: 'probePttl',
  lua: 'return 0',
  js: (data, keys) => keys.map((k) => data.pttl(k)),
  encode: () => [],
  decode: (raw) => raw as number[],
})
const pttlNative = defineOp<null, number[]>({
  name: 'probePttl',
  lua: 'return 0',
  native: (data, keys) => keys.map((k) => data.pttl(k)),
  encode: () => [],
  decode: (raw) => raw as number[],
})

// Reads a holds value on either data model: `h`, `e`, `x`, the holds (`id=<micros>:<expiresAt>`,
// sorted), then the value (the script's string) and remaining lifetime of the tombstone of each id
// given (-2 when none is live).
const holdsJs = defineOp<readonly string[], (number | string)[]>({
  name: 'probeHolds',
  lua: 'return 0',
  js: (data, keys, ids, nowMs) => {
    const res = keys[0] ?? ''
    const [h, e, x] = data.hmget(res, 'h', 'e', 'x')
    const holds: string[] = []
    const f = data.hgetall(res)
    for (let j = 0; j < f.length; j += 2) {
      const field = f[j] ?? ''
      if (field !== 'h' && field !== 'e' && field !== 'x' && !field.startsWith(TOMB)) {
        holds.push(`${field}=${f[j + 1]}`)
      }
    }
    const tombs = ids.map((id) => {
      const v = data.hget(res, TOMB + id)
      const until = v === null ? -1 : Number(v.slice(v.lastIndexOf(':') + 1))
      return until > nowMs ? `${v?.slice(0, v.lastIndexOf(':'))}@${until - nowMs}` : -2
    })
    return [Number(h ?? 0), Number(e ?? -1), Number(x ?? -1), ...holds.sort(), ...tombs]
  },
  encode: (ids) => ids,
  decode: (raw) => raw as (number | string)[],
})
interface NativeHolds {
  h: number
  e: number
  x: number
  holds: Map<string, { amount: number; exp: number }>
  done: Map<
    string,
    { mark: 's' | 'r'; nonce: string; found: 0 | 1; charged: number; until: number }
  >
}
const holdsNative = defineOp<readonly string[], (number | string)[]>({
  name: 'probeHolds',
  lua: 'return 0',
  native: (data, keys, ids, nowMs) => {
    const res = data.get(keys[0] ?? '') as NativeHolds | undefined
    const holds = [...(res?.holds ?? [])].map(([id, { amount, exp }]) => `${id}=${amount}:${exp}`)
    const tombs = ids.map((id) => {
      const t = res?.done.get(id)
      if (t === undefined || t.until <= nowMs) return -2
      const value = `${t.mark}:${t.nonce}:${t.found}${t.mark === 's' ? `:${t.charged}` : ''}`
      return `${value}@${t.until - nowMs}`
    })
    return [res?.h ?? 0, res?.e ?? -1, res?.x ?? -1, ...holds.sort(), ...tombs]
  },
  encode: (ids) => ids,
  decode: (raw) => raw as (number | string)[],
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

const HOUR = 3_600_000
const BUCKET = HOUR / 60

interface HoldRef {
  id: string
  subject: number
  amount: number
  exp: number
  /** The object that settled or released it (`o`: the reserving one). */
  nonce: string
}

// Outcomes and evictions over all seeds (the last test requires every one of them to occur).
const seen = new Set<UnholdState | 'extended' | 'rejected' | 'evicted' | 'again'>()

describe('budget ops: native bodies and JS twins agree step by step on memoryStore', () => {
  for (const [seed, maxKeys] of [
    [11, 100_000],
    [12, 100_000],
    [13, 100_000],
    [14, 10],
    [15, 8],
    [16, 6],
    [17, 5],
    [18, 4],
    [19, 4],
    [20, 3],
  ] as const) {
    it(`seed ${seed}, maxKeys ${maxKeys}`, async () => {
      const random = rng(seed)
      const int = (n: number) => Math.floor(random() * n)
      let now = 1_800_000_000_000 + int(HOUR)
      const dayEnd = now + 86_400_000
      const clock = () => now
      const native = memoryStore({ prefix: `n${seed}`, now: clock, maxKeys })
      const twin = memoryStore({ prefix: `n${seed}`, now: clock, maxKeys })
      const subjects = [0, 1, 2].map((i) => {
        const subject = `user:${seed}:${i}`
        const res = native.key(subject, 'budget', 'res')
        const day = native.key(subject, 'budget', 'day', 'd')
        const rolling = native.key(subject, 'budget', 'rolling', 'r')
        const done = (id: string) => native.key(subject, 'budget', 'done', id)
        return { res, day, rolling, done, ids: [] as string[] }
      })
      const limits = [
        { limitMicros: 3_000, kind: 'c' as const, a: dayEnd, b: 0 },
        { limitMicros: 1_500, kind: 'r' as const, a: HOUR, b: BUCKET },
      ]
      const settleLimits = [
        { kind: 'c' as const, a: dayEnd + 86_400_000, b: dayEnd },
        { kind: 'r' as const, a: HOUR, b: BUCKET },
      ]
      const live: HoldRef[] = []
      const finished: HoldRef[] = []
      const run = async <I, O>(op: AtomicOp<I, O>, keys: string[], input: I): Promise<O> => {
        const fromNative = await native.run(op, keys, input)
        const fromJs = await twin.run(jsOnly(op), keys, input)
        expect(fromNative).toEqual(fromJs)
        return fromNative
      }
      for (let step = 0; step < 500; step++) {
        // Mostly small steps, and now and then past the day's end (every ledger and hold expires).
        now += [0, 1, 1000, 60_000, 7 * 60_000, 40 * 60_000][int(6)] as number
        if (int(100) === 0) now += 86_400_000
        const si = int(subjects.length)
        const s = subjects[si]!
        const action = int(14)
        const keepMs = (1 + int(20)) * 60_000
        const mine = (pool: HoldRef[]) => pool.filter((h) => h.subject === si)
        const take = (pool: HoldRef[]) => {
          const candidates = mine(pool)
          const h = candidates[int(candidates.length)]!
          pool.splice(pool.indexOf(h), 1)
          return h
        }
        const pick = (): [HoldRef, boolean] | undefined => {
          const again = mine(finished).length > 0 && (mine(live).length === 0 || int(3) === 0)
          if (again) {
            const pool = mine(finished)
            return [pool[int(pool.length)]!, true]
          }
          return mine(live).length > 0 ? [take(live), false] : undefined
        }
        if (action < 5) {
          const id = `r${step}`
          const amount = int(6) === 0 ? 0 : 1 + int(900)
          const ttlMs = (1 + int(10)) * 60_000
          const mode = (['hard', 'hard', 'soft', 'dry'] as const)[int(4)] as 'hard' | 'soft' | 'dry'
          const r = await run(reserveOp, [s.res, s.day, s.rolling], {
            id,
            amountMicros: amount,
            ttlMs,
            mode,
            limits,
          })
          if (!r.ok) seen.add('rejected')
          if (r.ok && mode !== 'dry' && amount > 0) {
            live.push({ id, subject: si, amount, exp: r.nowMs + ttlMs, nonce: 'o' })
            s.ids.push(id)
          }
        } else if (action < 8) {
          const picked = pick()
          if (!picked) continue
          const [h, again] = picked
          // A repeat is the finishing object's own retry or another object's (a new nonce).
          const nonce = again ? (int(2) === 0 ? h.nonce : `p${step}`) : 'o'
          const settle = () =>
            run(settleOp, [s.res, s.done(h.id), s.day, s.rolling], {
              id: h.id,
              expiresAt: h.exp,
              keepMs,
              actualMicros: int(1200),
              model: ['gpt-4o', 'claude-haiku-4-5', 'o3'][int(3)] as string,
              nonce,
              clockMs: now + ([-40, -1, 0, 0, 1, 40][int(6)] as number) * 60_000,
              limits: settleLimits,
            })
          const r = await settle()
          seen.add(r.again ? 'again' : r.state)
          if (!again) finished.push({ ...h, nonce })
          // Now and then the same object's retry right away (its first reply lost).
          if (!again && int(4) === 0) {
            const retry = await settle()
            expect(retry).toMatchObject({ again: true, state: r.state })
            expect(retry.chargedMicros).toBe(r.chargedMicros)
            seen.add('again')
          }
        } else if (action < 10) {
          const picked = pick()
          if (!picked) continue
          const [h, again] = picked
          const nonce = again ? (int(2) === 0 ? h.nonce : `p${step}`) : 'o'
          seen.add(
            await run(releaseOp, [s.res, s.done(h.id)], {
              id: h.id,
              expiresAt: h.exp,
              keepMs,
              nonce,
            })
          )
          if (!again) finished.push({ ...h, nonce })
        } else if (action < 12) {
          const pool = mine(live).length > 0 && int(4) > 0 ? mine(live) : mine(finished)
          if (pool.length === 0) continue
          const h = pool[int(pool.length)]!
          const x = await run(extendOp, [s.res], { id: h.id, ttlMs: (1 + int(30)) * 60_000 })
          if (x.extended) {
            seen.add('extended')
            h.exp = x.expiresAt
          }
        } else {
          const which = int(2)
          await run(spendOp, [s.res, which === 0 ? s.day : s.rolling], {
            kind: limits[which]!.kind,
            a: limits[which]!.a,
            b: limits[which]!.b,
          })
        }
        // Same keys alive with the same lifetimes, same counts (evictions included). Reading a key
        // makes it the most recently used: with a small bound the probe would hide a difference in
        // LRU order, which the results and counts then show instead.
        expect(native.stats()).toEqual(twin.stats())
        if (maxKeys < 100) continue
        for (const t of subjects) {
          const keys = [t.res, t.day, t.rolling]
          expect(await native.run(pttlNative, keys, null)).toEqual(
            await twin.run(pttlJs, keys, null)
          )
          expect(await native.run(holdsNative, [t.res], t.ids)).toEqual(
            await twin.run(holdsJs, [t.res], t.ids)
          )
        }
      }
      if (native.stats().evictions > 0) seen.add('evicted')
    })
  }

  it('the sequences reached every outcome: live, lapsed, duplicates, retries, extended, rejected, evicted', () => {
    expect([...seen].sort()).toEqual([
      'again',
      'evicted',
      'extended',
      'gone',
      'held',
      'rejected',
      'released',
      'settled',
    ])
  })
})
