/**
 * @module ops
 * The cache's atomic Redis steps, each one Lua script with a JavaScript twin (`defineOp`), so they
 * also run on `memoryStore`. KEYS are `[valueKey, lockKey]`, built with the same hash tag (`putOp`:
 * `[valueKey]`; `tagTimeOp`: `[tagKey]`).
 */
import { defineOp, type MemoryData, type RedisReply } from '@aikit/core'

/** Result of `readOrLockOp`. */
export type ReadOrLock =
  | { readonly kind: 'fresh'; readonly value: string }
  /** This caller holds the fill lock; `value` is the stale entry if one exists. */
  | { readonly kind: 'locked'; readonly value: string | undefined }
  /** Another caller holds the lock for `lockMs` more milliseconds. */
  | { readonly kind: 'wait'; readonly value: string | undefined; readonly lockMs: number }

/**
 * One round trip for a read: returns a fresh value; otherwise takes the fill lock (SET NX PX) or
 * reports who holds it. Freshness is read from the envelope header (`aikit1|<freshUntil>|`) against
 * the caller's clock, the clock that wrote `freshUntil`. The cache writes every time in whole
 * milliseconds, the only form these patterns (and `fillOp`'s) read.
 */
export const readOrLockOp = defineOp<{ token: string; lockMs: number; nowMs: number }, ReadOrLock>({
  name: 'cache.readOrLock',
  lua: `local v = redis.call('GET', KEYS[1])
if v then
  local f = tonumber(string.match(v, '^aikit1|(%d+)|'))
  if f and f > tonumber(ARGV[3]) then return {'fresh', v} end
end
-- A Lua table stops at its first nil, so a missing value travels as ''.
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'locked', v or ''} end
return {'wait', v or '', redis.call('PTTL', KEYS[2])}`,
  js: (data: MemoryData, keys, argv) => {
    const [valueKey = '', lockKey = ''] = keys
    const v = data.get(valueKey)
    if (v !== null) {
      const f = Number(/^aikit1\|(\d+)\|/.exec(v)?.[1])
      if (f > Number(argv[2])) return ['fresh', v]
    }
    if (data.set(lockKey, argv[0] ?? '', { nx: true, px: Number(argv[1]) })) {
      return ['locked', v ?? '']
    }
    return ['wait', v ?? '', data.pttl(lockKey)]
  },
  // Only the lock is written (see `newKeys` in @aikit/core: a full memory store with
  // `evict: false` checks room for these).
  newKeys: (keys, _input, holds) => (holds(keys[1] as string) ? 0 : 1),
  encode: ({ token, lockMs, nowMs }) => [
    token,
    String(Math.max(1, Math.ceil(lockMs))),
    String(nowMs),
  ],
  decode: (reply: RedisReply): ReadOrLock => {
    const [kind, v, ms] = reply as [string, string | null | undefined, number | undefined]
    const value = typeof v === 'string' && v.length > 0 ? v : undefined
    if (kind === 'fresh') return { kind, value: value ?? '' }
    if (kind === 'locked') return { kind, value }
    return { kind: 'wait', value, lockMs: typeof ms === 'number' ? ms : 0 }
  },
})

/**
 * Writes a filled value (SET PX) unless a newer one is stored, and releases the lock if this caller
 * still holds it. Newer: the stored envelope's `createdAt` (when its fetch started) is later than
 * this fill's, or equal while this caller no longer holds the lock. So a fill whose lock expired
 * while its fetch ran, and whose key another instance has filled since, does not overwrite that
 * fill. A stored value that is missing or unreadable is replaced. `true` when the value was written.
 * A fill that holds no lock (its lock op failed) passes a token no lock is taken with: it writes
 * only over an older value, never over a newer `set` or a delete's tombstone.
 */
export const fillOp = defineOp<
  { value: string; ttlMs: number; token: string; createdAt: number },
  boolean
>({
  name: 'cache.fill',
  lua: `local held = redis.call('GET', KEYS[2]) == ARGV[3]
local v = redis.call('GET', KEYS[1])
local c = v and tonumber(string.match(v, '^aikit1|[^|]*|[^|]*|(%d+)|'))
local mine = tonumber(ARGV[4])
local write = (not c) or c < mine or (held and c == mine)
if write then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
if held then redis.call('DEL', KEYS[2]) end
if write then return 1 end
return 0`,
  js: (data: MemoryData, keys, argv) => {
    const [valueKey = '', lockKey = ''] = keys
    const held = data.get(lockKey) === argv[2]
    const v = data.get(valueKey)
    const m = v === null ? null : /^aikit1\|[^|]*\|[^|]*\|(\d+)\|/.exec(v)
    const c = m === null ? undefined : Number(m[1])
    const mine = Number(argv[3])
    const write = c === undefined || c < mine || (held && c === mine)
    if (write) data.set(valueKey, argv[0] ?? '', { px: Number(argv[1]) })
    if (held) data.del(lockKey)
    return write ? 1 : 0
  },
  // The value, written before the lock is deleted; the lock is only read or deleted.
  newKeys: (keys, _input, holds) => (holds(keys[0] as string) ? 0 : 1),
  encode: ({ value, ttlMs, token, createdAt }) => [
    value,
    String(Math.max(1, Math.ceil(ttlMs))),
    token,
    String(Math.floor(createdAt)),
  ],
  decode: (reply) => reply === 1,
})

/**
 * How much of a stored value `putOp` reads: the envelope header up to `createdAt` is at most
 * `aikit1|` and three whole-ms times (17 digits at most: every time is below 2^55) with their `|`.
 * A range, not a GET: a `set` of a large value must not copy the stored one into Lua.
 */
const HEADER_READ = 128

/**
 * Writes a value (SET PX) unless the stored one is newer: its envelope's `createdAt` is later than
 * `compareAt` (by default the written value's `createdAt`). A `set` and a `delete`'s tombstone go
 * through it, so two instances changing a key at once leave the store holding the later change (by
 * stamp), the one every memory tier keeps after the bus messages, whichever write lands last. A
 * stored value that is missing or unreadable is replaced; an equal stamp is too (a change in the
 * same millisecond on another instance: the bus drops both instances' memory copies, so they read
 * back whichever the store kept). A delete stores its tombstone stamped one past its time (so a
 * fill of that millisecond is out of date) but compares with its time itself: a `set` stamped one
 * past it elsewhere is later, kept by that instance's memory tier (the delete's bus message drops
 * only entries up to its time), so the store keeps it too. `true` when the value was written.
 * KEYS: `[valueKey]`.
 */
export const putOp = defineOp<
  { value: string; ttlMs: number; createdAt: number; compareAt?: number },
  boolean
>({
  name: 'cache.put',
  // ARGV[3] is the comparison stamp (`compareAt`, else `createdAt`): the one time the op reads.
  lua: `local v = redis.call('GETRANGE', KEYS[1], 0, ${HEADER_READ - 1})
local c = tonumber(string.match(v, '^aikit1|[^|]*|[^|]*|(%d+)|'))
if c and c > tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`,
  js: (data: MemoryData, keys, argv) => {
    const valueKey = keys[0] ?? ''
    // GETRANGE answers '' for a missing key.
    const v = (data.get(valueKey) ?? '').slice(0, HEADER_READ)
    const m = /^aikit1\|[^|]*\|[^|]*\|(\d+)\|/.exec(v)
    if (m !== null && Number(m[1]) > Number(argv[2])) return 0
    data.set(valueKey, argv[0] ?? '', { px: Number(argv[1]) })
    return 1
  },
  encode: ({ value, ttlMs, createdAt, compareAt }) => [
    value,
    String(Math.max(1, Math.ceil(ttlMs))),
    String(Math.floor(compareAt ?? createdAt)),
  ],
  decode: (reply) => reply === 1,
})

/**
 * Writes a tag's invalidation time unless the stored one is as late or later (a newer invalidation
 * made elsewhere meanwhile must not be undone). For re-applying an invalidation whose write failed
 * during a store outage (see `Engine.keepUnsaved`). `ttlMs` 0: no expiry. `true` when written.
 * KEYS: `[tagKey]`.
 */
export const tagTimeOp = defineOp<{ at: number; ttlMs: number }, boolean>({
  name: 'cache.tagTime',
  lua: `local c = tonumber(redis.call('GET', KEYS[1]))
if c and c >= tonumber(ARGV[1]) then return 0 end
if ARGV[2] == '0' then redis.call('SET', KEYS[1], ARGV[1])
else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`,
  js: (data: MemoryData, keys, argv) => {
    const tagKey = keys[0] ?? ''
    const stored = data.get(tagKey)
    // Lua's `tonumber` reads no empty or non-numeric text.
    const c = stored === null || stored.trim() === '' ? Number.NaN : Number(stored)
    if (!Number.isNaN(c) && c >= Number(argv[0])) return 0
    const ttlMs = argv[1] ?? '0'
    if (ttlMs === '0') data.set(tagKey, argv[0] ?? '')
    else data.set(tagKey, argv[0] ?? '', { px: Number(ttlMs) })
    return 1
  },
  encode: ({ at, ttlMs }) => [
    String(Math.floor(at)),
    ttlMs > 0 ? String(Math.max(1, Math.ceil(ttlMs))) : '0',
  ],
  decode: (reply) => reply === 1,
})

/**
 * Extends the lock to `lockMs` from now if this caller still holds it (a fetch still running, see
 * `lockMaxHold`); false once it lapsed or another caller took it.
 */
export const extendLockOp = defineOp<{ token: string; lockMs: number }, boolean>({
  name: 'cache.extendLock',
  lua: `if redis.call('GET', KEYS[2]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 0`,
  js: (data: MemoryData, keys, argv) => {
    const lockKey = keys[1] ?? ''
    if (data.get(lockKey) === argv[0]) return data.pexpire(lockKey, Number(argv[1]))
    return 0
  },
  newKeys: () => 0,
  encode: ({ token, lockMs }) => [token, String(Math.max(1, Math.ceil(lockMs)))],
  decode: (reply) => reply === 1,
})

/** Releases the lock if this caller still holds it (the fetch failed or was abandoned). */
export const unlockOp = defineOp<{ token: string }, boolean>({
  name: 'cache.unlock',
  lua: `if redis.call('GET', KEYS[2]) == ARGV[1] then return redis.call('DEL', KEYS[2]) end
return 0`,
  js: (data: MemoryData, keys, argv) => {
    const lockKey = keys[1] ?? ''
    if (data.get(lockKey) === argv[0]) return data.del(lockKey)
    return 0
  },
  newKeys: () => 0,
  encode: ({ token }) => [token],
  decode: (reply) => reply === 1,
})
