/**
 * @module ops
 * The cache's atomic Redis steps, each one Lua script with a JavaScript twin (`defineOp`), so they
 * also run on `memoryStore`. KEYS are always `[valueKey, lockKey]`, built with the same hash tag.
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
 * the caller's clock, the clock that wrote `freshUntil`.
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

/** Writes the filled value (SET PX) and releases the lock if this caller still holds it. */
export const fillOp = defineOp<{ value: string; ttlMs: number; token: string }, boolean>({
  name: 'cache.fill',
  lua: `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1`,
  js: (data: MemoryData, keys, argv) => {
    const [valueKey = '', lockKey = ''] = keys
    data.set(valueKey, argv[0] ?? '', { px: Number(argv[1]) })
    if (data.get(lockKey) === argv[2]) data.del(lockKey)
    return 1
  },
  encode: ({ value, ttlMs, token }) => [value, String(Math.max(1, Math.ceil(ttlMs))), token],
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
  encode: ({ token }) => [token],
  decode: (reply) => reply === 1,
})
