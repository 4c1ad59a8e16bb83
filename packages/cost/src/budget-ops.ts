/**
 * @module budget-ops
 * The budget's atomic operations, each defined once with `defineOp` as a Lua script (Redis), its
 * JavaScript twin on the Redis-like data model and a native body on plain values (`budget-native.ts`,
 * what `memoryStore` runs), with identical integer arithmetic (micro-dollars, ms; all below 2^53).
 * Every op touching these keys has a native body, so a memory store never mixes the two models.
 *
 * Keys of one subject share the subject as `{hash tag}`:
 * - reservations hash `…:res`: field = reservation id, value = `<micros>:<expiresAtMs>`, plus `h` =
 *   the sum of the held amounts, `e` = the earliest expiry and `x` = the key's own expiry (renewed
 *   to twice the TTL only when a hold would outlive it). Ops read `h` in O(1); once the clock passes
 *   `e` the next op sweeps the expired entries and recomputes both, so a crashed process's hold
 *   disappears after its TTL without any timer or background job. Settle and release read the hold
 *   (`HGET`: its amount, and its expiry as `extend` may have moved it) and remove it (`HDEL`).
 * - one tombstone string per settled or released reservation `…:done:<id>`, with a native expiry at
 *   the hold's expiry + a margin (`keepMs`): `s:<nonce>:<found>:<charged>` (settled) or
 *   `r:<nonce>:<found>` (released), where `nonce` names the reservation OBJECT that wrote it, `found`
 *   is 1 when the hold was live (else 0) and `charged` the micro-dollars the settle charged. Settle
 *   and release look at it first: a second settle or release of the same id changes nothing and
 *   says so (a duplicate: `settled` / `released`), except that a tombstone of the caller's own kind
 *   and nonce is that object's own earlier call, which ran but whose reply was lost (a timeout): it
 *   changes nothing either, but reports what that call found and charged (`again`), so the retry can
 *   report the first outcome. Only the first character of a tombstone is read otherwise (`s` / `r`),
 *   as the one-letter tombstones of earlier versions were. It is a key of its own (not a field of
 *   the holds hash) so that Redis expires it: a field would make the lazy sweep of a busy subject's
 *   hash scan every recent settle. Without a tombstone and without a hold (the hold lapsed and was
 *   swept), a settle still charges: the call really happened. (`memoryStore` runs the native bodies,
 *   which keep a subject's tombstones in its holds value instead, so that its LRU key bound counts
 *   subjects, not settles: budget-native.ts.)
 * - one ledger hash per limit and period: field = `<bucket>|<model>`, value = micro-dollars spent,
 *   plus `t` = the total. Calendar periods use bucket `m` (the key already names the period);
 *   rolling windows use the bucket's start (ms), keep `o` = the oldest live bucket, and drop buckets
 *   once their END has left the window (a rolling limit never forgets spend early). Reservation
 *   ids must not be `h`, `e` or `x` (the budget makes UUIDs; `restore` refuses those three).
 *
 * Per-limit ARGV: `kind` (`c` calendar, `r` rolling), `a`, `b`:
 * - reserve/status/spend: `c` → a = period end (reset time), b = 0; `r` → a = window ms, b = bucket ms.
 * - settle: `c` → a = ledger expiry (epoch ms), b = period end; `r` → a = window ms, b = bucket ms.
 *
 * Calendar periods and their ledgers' expiries are on the BUDGET's clock (`now`: the period is part
 * of the key), holds and rolling windows on the store's (Redis `TIME`). So settle also takes the
 * budget's clock reading its keys were chosen with (`clockMs`) and gives a new calendar ledger the
 * TTL `a − clockMs`: a duration on one clock, applied from the store's now. A store clock ahead of
 * the app's (`a − storeNow`) would otherwise expire the ledger early, before its period ended, and
 * with `retainPeriods: 0` let the period's limit be spent again. The only error left is the time
 * from reading the clock to the op running, which can only lengthen the ledger's life. (A margin on
 * the store-clock TTL would cover skew up to the margin only, and keep ledgers past their retention.)
 *
 * Settle KEYS: holds hash, tombstone, one ledger per limit. Release KEYS: holds hash, tombstone.
 * Extend KEYS: holds hash (it moves the hold's expiry; `e` is lowered if needed, never raised: a
 * stale-early `e` only costs one sweep, which recomputes it).
 */
import { defineOp, type JsReply, LUA_NOW_MS, type MemoryData, type RedisReply } from '@aikit/core'
import {
  extendNative,
  releaseNative,
  reserveNative,
  settleNative,
  spendNative,
} from './budget-native.js'

/** One limit as the ops receive it. */
export interface OpLimit {
  readonly limitMicros: number
  readonly kind: 'c' | 'r'
  readonly a: number
  readonly b: number
}

/** Per-limit outcome. */
export interface OpLimitState {
  /** Settled spend in the period / window, micro-dollars. */
  readonly spentMicros: number
  /** When this limit next frees budget (epoch ms). */
  readonly resetAt: number
}

/** How `reserve` treats the limits. */
export type ReserveMode = 'hard' | 'soft' | 'dry'

export interface ReserveInput {
  readonly id: string
  readonly amountMicros: number
  readonly ttlMs: number
  readonly mode: ReserveMode
  readonly limits: readonly OpLimit[]
}

export interface ReserveResult {
  readonly ok: boolean
  readonly heldBefore: number
  readonly heldAfter: number
  readonly nowMs: number
  readonly limits: readonly OpLimitState[]
}

export interface SettleInput {
  readonly id: string
  /** The reservation's expiry as its caller knows it (the tombstone's lifetime when the hold is gone). */
  readonly expiresAt: number
  /** How long past the hold's expiry the tombstone is kept (ms, >= 1). */
  readonly keepMs: number
  readonly actualMicros: number
  readonly model: string
  /**
   * The settling reservation object's nonce (no `:`), written into the tombstone: finding it there
   * again means this object's earlier settle ran (its reply was lost).
   */
  readonly nonce: string
  /** The budget's clock (epoch ms) the keys were chosen at: a calendar ledger lives `a − clockMs`. */
  readonly clockMs: number
  readonly limits: readonly { kind: 'c' | 'r'; a: number; b: number }[]
}

/**
 * What settle / release found: `held` (a live hold, now removed), `gone` (no live hold and no
 * tombstone: it lapsed; a settle still charges), `settled` / `released` (a tombstone: an earlier
 * settle or release of this id already happened; nothing changed). For a call that found its own
 * object's tombstone (`again`), what that earlier call found: `held` or `gone`.
 */
export type UnholdState = 'held' | 'gone' | 'settled' | 'released'

// Reply codes: the index here; 4 and 5 are `again` (the caller's own earlier call) with state 0 / 1.
const STATES: readonly UnholdState[] = ['gone', 'held', 'settled', 'released']

export interface SettleResult {
  readonly state: UnholdState
  /**
   * `true` when the tombstone was this object's own settle (same `nonce`): that settle ran, its
   * reply was lost, and nothing changed now; `state` and `chargedMicros` are that settle's.
   */
  readonly again: boolean
  /** Micro-dollars charged to the ledgers by this id's settle: `actualMicros`, the first one's when `again`, 0 for a duplicate. */
  readonly chargedMicros: number
  readonly heldAfter: number
  readonly nowMs: number
  readonly limits: readonly OpLimitState[]
}

export interface ReleaseInput {
  readonly id: string
  readonly expiresAt: number
  readonly keepMs: number
  /** The releasing object's nonce (see `SettleInput.nonce`). */
  readonly nonce: string
}

export interface ExtendInput {
  readonly id: string
  /** The new expiry is the store's now + this (ms). */
  readonly ttlMs: number
}

export interface ExtendResult {
  /** `false` when there was no live hold (settled, released or expired): nothing changed. */
  readonly extended: boolean
  /** The new expiry (epoch ms, store clock), or the store's now when not extended. */
  readonly expiresAt: number
}

export interface SpendInput {
  readonly kind: 'c' | 'r'
  readonly a: number
  readonly b: number
}

export interface SpendResult {
  readonly held: number
  readonly nowMs: number
  readonly resetAt: number
  /** Micro-dollars per model (rolling buckets summed). */
  readonly byModel: Readonly<Record<string, number>>
}

// ---------------------------------------------------------------------------------------------
// Lua (every redis.call costs about 1.5 µs of server time: the ops keep them few). Numbers on the
// hot paths go to redis.call as `fmt('%d', n)` strings: Redis formats a Lua number argument as a
// double on every call, slower (a reserve's HSET and PEXPIRE: 1.2 µs of its ~16 µs, measured on
// Redis 7.0); for the integers stored here (below 2^53) both give the same text.

const LUA_HELPERS = `
local fmt = string.format
local function sweep(key)
  local r = redis.call('HGETALL', key)
  local h = 0
  local e = -1
  for j = 1, #r, 2 do
    local f = r[j]
    if f ~= 'h' and f ~= 'e' and f ~= 'x' then
      local val = r[j + 1]
      local sep = string.find(val, ':', 1, true)
      local exp = tonumber(string.sub(val, sep + 1))
      if exp <= nowMs then
        redis.call('HDEL', key, f)
      else
        h = h + tonumber(string.sub(val, 1, sep - 1))
        if e < 0 or exp < e then e = exp end
      end
    end
  end
  if e < 0 then
    redis.call('HDEL', key, 'h', 'e')
  else
    redis.call('HSET', key, 'h', h, 'e', e)
  end
  return h, e
end
local function held(key)
  local v = redis.call('HMGET', key, 'h', 'e')
  local e = tonumber(v[2] or -1)
  if e >= 0 and e <= nowMs then return sweep(key) end
  return tonumber(v[1] or 0), e
end
local function unhold(key, id, exp)
  local r = redis.call('HMGET', key, id, 'h', 'e')
  local v = r[1]
  local e = tonumber(r[3] or -1)
  if not v then
    if e >= 0 and e <= nowMs then return 0, sweep(key), exp end
    return 0, tonumber(r[2] or 0), exp
  end
  redis.call('HDEL', key, id)
  local sep = string.find(v, ':', 1, true)
  local stored = tonumber(string.sub(v, sep + 1))
  local h = redis.call('HINCRBY', key, 'h', fmt('%d', -tonumber(string.sub(v, 1, sep - 1))))
  if e >= 0 and e <= nowMs then h = sweep(key) end
  if stored > nowMs then return 1, h, stored end
  return 0, h, stored
end
local function tomb(key, val, exp, keep)
  local ttl = keep
  if exp > nowMs then ttl = exp - nowMs + keep end
  redis.call('SET', key, val, 'PX', fmt('%d', ttl))
end
local function prior(key, own)
  local v = redis.call('GET', key)
  if not v then return -1, 0 end
  local k = #own
  if string.sub(v, 1, k) == own then
    return 4 + tonumber(string.sub(v, k + 1, k + 1)), tonumber(string.sub(v, k + 3)) or 0
  end
  if string.sub(v, 1, 1) == 's' then return 2, 0 end
  return 3, 0
end
local function ledger(key, kind, a, b)
  if kind == 'c' then
    return tonumber(redis.call('HGET', key, 't') or 0), a
  end
  local v = redis.call('HMGET', key, 't', 'o')
  local t = tonumber(v[1] or 0)
  if not v[2] then return t, nowMs end
  local o = tonumber(v[2])
  if o + b + a > nowMs then return t, o + b + a end
  local f = redis.call('HGETALL', key)
  t = 0
  o = -1
  for j = 1, #f, 2 do
    local field = f[j]
    if field ~= 't' and field ~= 'o' then
      local bar = string.find(field, '|', 1, true)
      local bs = tonumber(string.sub(field, 1, bar - 1))
      if bs + b + a <= nowMs then
        redis.call('HDEL', key, field)
      else
        t = t + tonumber(f[j + 1])
        if o < 0 or bs < o then o = bs end
      end
    end
  end
  if o < 0 then
    redis.call('HDEL', key, 't', 'o')
    return 0, nowMs
  end
  redis.call('HSET', key, 't', t, 'o', o)
  return t, o + b + a
end
`

const RESERVE_LUA = `${LUA_NOW_MS}${LUA_HELPERS}
local amount = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local mode = ARGV[4]
local n = tonumber(ARGV[5])
local res = redis.call('HMGET', KEYS[1], 'h', 'e', 'x')
local heldBefore = tonumber(res[1] or 0)
local earliest = tonumber(res[2] or -1)
local keyExpiry = tonumber(res[3] or -1)
if earliest >= 0 and earliest <= nowMs then heldBefore, earliest = sweep(KEYS[1]) end
local ok = 1
local out = {}
for i = 1, n do
  local base = 5 + (i - 1) * 4
  local limit = tonumber(ARGV[base + 1])
  local spent, reset = ledger(KEYS[i + 1], ARGV[base + 2], tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4]))
  if mode == 'hard' and spent + heldBefore + amount > limit then ok = 0 end
  out[#out + 1] = spent
  out[#out + 1] = reset
end
local heldAfter = heldBefore
if ok == 1 and mode ~= 'dry' and amount > 0 then
  local exp = nowMs + ttl
  if earliest < 0 or exp < earliest then earliest = exp end
  heldAfter = heldBefore + amount
  if exp > keyExpiry then
    keyExpiry = exp + ttl
    redis.call('HSET', KEYS[1], ARGV[1], fmt('%s:%d', ARGV[2], exp), 'h', fmt('%d', heldAfter), 'e', fmt('%d', earliest), 'x', fmt('%d', keyExpiry))
    redis.call('PEXPIRE', KEYS[1], fmt('%d', keyExpiry - nowMs))
  else
    redis.call('HSET', KEYS[1], ARGV[1], fmt('%s:%d', ARGV[2], exp), 'h', fmt('%d', heldAfter), 'e', fmt('%d', earliest))
  end
end
local reply = {ok, heldBefore, heldAfter, nowMs}
for j = 1, #out do reply[#reply + 1] = out[j] end
return reply
`

const SETTLE_LUA = `${LUA_NOW_MS}${LUA_HELPERS}
local actual = ARGV[2]
local model = ARGV[3]
local own = 's:' .. ARGV[6] .. ':'
local clock = tonumber(ARGV[7])
local n = tonumber(ARGV[8])
local state, charged = prior(KEYS[2], own)
local heldAfter
if state < 0 then
  local exp
  state, heldAfter, exp = unhold(KEYS[1], ARGV[1], tonumber(ARGV[4]))
  charged = tonumber(actual)
  tomb(KEYS[2], own .. state .. ':' .. actual, exp, tonumber(ARGV[5]))
else
  heldAfter = held(KEYS[1])
end
local reply = {state, heldAfter, nowMs, charged}
for i = 1, n do
  local base = 8 + (i - 1) * 3
  local kind = ARGV[base + 1]
  local a = tonumber(ARGV[base + 2])
  local b = tonumber(ARGV[base + 3])
  local key = KEYS[i + 2]
  local spent, reset
  if state > 1 then
    if kind == 'c' then
      spent = tonumber(redis.call('HGET', key, 't') or 0)
      reset = b
    else
      spent, reset = ledger(key, 'r', a, b)
    end
  elseif kind == 'c' then
    redis.call('HINCRBY', key, 'm|' .. model, actual)
    spent = redis.call('HINCRBY', key, 't', actual)
    reset = b
    if spent == tonumber(actual) then
      local ttl = a - clock
      if ttl < 1 then ttl = 1 end
      redis.call('PEXPIRE', key, fmt('%d', ttl))
    end
  else
    local bs = math.floor(nowMs / b) * b
    redis.call('HINCRBY', key, bs .. '|' .. model, actual)
    redis.call('HINCRBY', key, 't', actual)
    redis.call('HSETNX', key, 'o', bs)
    redis.call('PEXPIRE', key, a + b)
    spent, reset = ledger(key, 'r', a, b)
  end
  reply[#reply + 1] = spent
  reply[#reply + 1] = reset
end
return reply
`

const RELEASE_LUA = `${LUA_NOW_MS}${LUA_HELPERS}
local own = 'r:' .. ARGV[4] .. ':'
local state = prior(KEYS[2], own)
if state >= 0 then return state end
local found, h, exp = unhold(KEYS[1], ARGV[1], tonumber(ARGV[2]))
tomb(KEYS[2], own .. found, exp, tonumber(ARGV[3]))
return found
`

const EXTEND_LUA = `${LUA_NOW_MS}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return {0, nowMs} end
local sep = string.find(v, ':', 1, true)
if tonumber(string.sub(v, sep + 1)) <= nowMs then return {0, nowMs} end
local ttl = tonumber(ARGV[2])
local exp = nowMs + ttl
local res = redis.call('HMGET', KEYS[1], 'e', 'x')
local e = tonumber(res[1] or -1)
local x = tonumber(res[2] or -1)
redis.call('HSET', KEYS[1], ARGV[1], string.sub(v, 1, sep - 1) .. ':' .. exp)
if e < 0 or exp < e then redis.call('HSET', KEYS[1], 'e', exp) end
if exp > x then
  redis.call('HSET', KEYS[1], 'x', exp + ttl)
  redis.call('PEXPIRE', KEYS[1], exp + ttl - nowMs)
end
return {1, exp}
`

const SPEND_LUA = `${LUA_NOW_MS}${LUA_HELPERS}
local kind = ARGV[1]
local a = tonumber(ARGV[2])
local b = tonumber(ARGV[3])
local h = held(KEYS[1])
local spent, reset = ledger(KEYS[2], kind, a, b)
local reply = {h, nowMs, reset}
local f = redis.call('HGETALL', KEYS[2])
for j = 1, #f, 2 do
  if f[j] ~= 't' and f[j] ~= 'o' then
    reply[#reply + 1] = f[j]
    reply[#reply + 1] = f[j + 1]
  end
end
return reply
`

// ---------------------------------------------------------------------------------------------
// JavaScript twins (same steps, same order, same strings)

const num = (v: string | null | undefined, fallback: number): number =>
  v === null || v === undefined ? fallback : Number(v)

function sweep(data: MemoryData, key: string, nowMs: number): [number, number] {
  const r = data.hgetall(key)
  let h = 0
  let e = -1
  for (let j = 0; j < r.length; j += 2) {
    const f = r[j] ?? ''
    if (f === 'h' || f === 'e' || f === 'x') continue
    const val = r[j + 1] ?? ''
    const sep = val.indexOf(':')
    const exp = Number(val.slice(sep + 1))
    if (exp <= nowMs) data.hdel(key, f)
    else {
      h += Number(val.slice(0, sep))
      if (e < 0 || exp < e) e = exp
    }
  }
  if (e < 0) data.hdel(key, 'h', 'e')
  else data.hset(key, 'h', h, 'e', e)
  return [h, e]
}

function held(data: MemoryData, key: string, nowMs: number): [number, number] {
  const v = data.hmget(key, 'h', 'e')
  const e = num(v[1], -1)
  if (e >= 0 && e <= nowMs) return sweep(data, key, nowMs)
  return [num(v[0], 0), e]
}

function unhold(
  data: MemoryData,
  key: string,
  id: string,
  exp: number,
  nowMs: number
): [number, number, number] {
  // One read for the hold and the held total's fields (`e` is not changed by the HDEL and HINCRBY).
  const r = data.hmget(key, id, 'h', 'e')
  const v = r[0]
  const e = num(r[2], -1)
  if (v === null || v === undefined) {
    if (e >= 0 && e <= nowMs) return [0, sweep(data, key, nowMs)[0], exp]
    return [0, num(r[1], 0), exp]
  }
  data.hdel(key, id)
  const sep = v.indexOf(':')
  const stored = Number(v.slice(sep + 1))
  let h = data.hincrby(key, 'h', -Number(v.slice(0, sep)))
  if (e >= 0 && e <= nowMs) h = sweep(data, key, nowMs)[0]
  return [stored > nowMs ? 1 : 0, h, stored]
}

function tomb(
  data: MemoryData,
  key: string,
  val: string,
  exp: number,
  keep: number,
  nowMs: number
): void {
  data.set(key, val, { px: exp > nowMs ? exp - nowMs + keep : keep })
}

/** `[code, charged]`: -1 none, 2 settled, 3 released, 4 / 5 the caller's own (`own` prefix) call. */
function prior(data: MemoryData, key: string, own: string): [number, number] {
  const v = data.get(key)
  if (v === null) return [-1, 0]
  const k = own.length
  if (v.startsWith(own)) return [4 + Number(v.slice(k, k + 1)), num(v.slice(k + 2) || null, 0)]
  if (v.startsWith('s')) return [2, 0]
  return [3, 0]
}

function ledger(
  data: MemoryData,
  key: string,
  kind: string,
  a: number,
  b: number,
  nowMs: number
): [number, number] {
  if (kind === 'c') return [num(data.hget(key, 't'), 0), a]
  const v = data.hmget(key, 't', 'o')
  let t = num(v[0], 0)
  if (v[1] === null || v[1] === undefined) return [t, nowMs]
  let o = Number(v[1])
  if (o + b + a > nowMs) return [t, o + b + a]
  const f = data.hgetall(key)
  t = 0
  o = -1
  for (let j = 0; j < f.length; j += 2) {
    const field = f[j] ?? ''
    if (field === 't' || field === 'o') continue
    const bs = Number(field.slice(0, field.indexOf('|')))
    if (bs + b + a <= nowMs) data.hdel(key, field)
    else {
      t += Number(f[j + 1])
      if (o < 0 || bs < o) o = bs
    }
  }
  if (o < 0) {
    data.hdel(key, 't', 'o')
    return [0, nowMs]
  }
  data.hset(key, 't', t, 'o', o)
  return [t, o + b + a]
}

function reserveJs(
  data: MemoryData,
  keys: readonly string[],
  argv: readonly string[],
  nowMs: number
): JsReply {
  const amount = Number(argv[1])
  const ttl = Number(argv[2])
  const mode = argv[3]
  const n = Number(argv[4])
  const resKey = keys[0] ?? ''
  const res = data.hmget(resKey, 'h', 'e', 'x')
  let heldBefore = num(res[0], 0)
  let earliest = num(res[1], -1)
  let keyExpiry = num(res[2], -1)
  if (earliest >= 0 && earliest <= nowMs) [heldBefore, earliest] = sweep(data, resKey, nowMs)
  let ok = 1
  const out: number[] = []
  for (let i = 1; i <= n; i++) {
    const base = 4 + (i - 1) * 4
    const limit = Number(argv[base + 1])
    const [spent, reset] = ledger(
      data,
      keys[i] ?? '',
      argv[base + 2] ?? '',
      Number(argv[base + 3]),
      Number(argv[base + 4]),
      nowMs
    )
    if (mode === 'hard' && spent + heldBefore + amount > limit) ok = 0
    out.push(spent, reset)
  }
  let heldAfter = heldBefore
  if (ok === 1 && mode !== 'dry' && amount > 0) {
    const exp = nowMs + ttl
    if (earliest < 0 || exp < earliest) earliest = exp
    heldAfter = heldBefore + amount
    const entry = `${argv[1]}:${exp}`
    if (exp > keyExpiry) {
      keyExpiry = exp + ttl
      data.hset(resKey, argv[0] ?? '', entry, 'h', heldAfter, 'e', earliest, 'x', keyExpiry)
      data.pexpire(resKey, keyExpiry - nowMs)
    } else {
      data.hset(resKey, argv[0] ?? '', entry, 'h', heldAfter, 'e', earliest)
    }
  }
  return [ok, heldBefore, heldAfter, nowMs, ...out]
}

function settleJs(
  data: MemoryData,
  keys: readonly string[],
  argv: readonly string[],
  nowMs: number
): JsReply {
  const actual = Number(argv[1])
  const model = argv[2] ?? ''
  const own = `s:${argv[5]}:`
  const clock = Number(argv[6])
  const n = Number(argv[7])
  let [state, charged] = prior(data, keys[1] ?? '', own)
  let heldAfter: number
  if (state < 0) {
    let exp: number
    ;[state, heldAfter, exp] = unhold(data, keys[0] ?? '', argv[0] ?? '', Number(argv[3]), nowMs)
    charged = actual
    tomb(data, keys[1] ?? '', `${own}${state}:${argv[1]}`, exp, Number(argv[4]), nowMs)
  } else {
    heldAfter = held(data, keys[0] ?? '', nowMs)[0]
  }
  const reply: number[] = [state, heldAfter, nowMs, charged]
  for (let i = 1; i <= n; i++) {
    const base = 7 + (i - 1) * 3
    const kind = argv[base + 1]
    const a = Number(argv[base + 2])
    const b = Number(argv[base + 3])
    const key = keys[i + 1] ?? ''
    if (state > 1) {
      if (kind === 'c') reply.push(num(data.hget(key, 't'), 0), b)
      else reply.push(...ledger(data, key, 'r', a, b, nowMs))
    } else if (kind === 'c') {
      data.hincrby(key, `m|${model}`, actual)
      const spent = data.hincrby(key, 't', actual)
      if (spent === actual) data.pexpire(key, Math.max(1, Math.trunc(a - clock)))
      reply.push(spent, b)
    } else {
      const bs = Math.floor(nowMs / b) * b
      data.hincrby(key, `${bs}|${model}`, actual)
      data.hincrby(key, 't', actual)
      if (data.hget(key, 'o') === null) data.hset(key, 'o', bs)
      data.pexpire(key, a + b)
      reply.push(...ledger(data, key, 'r', a, b, nowMs))
    }
  }
  return reply
}

function releaseJs(
  data: MemoryData,
  keys: readonly string[],
  argv: readonly string[],
  nowMs: number
): JsReply {
  const own = `r:${argv[3]}:`
  const [state] = prior(data, keys[1] ?? '', own)
  if (state >= 0) return state
  const [found, , exp] = unhold(data, keys[0] ?? '', argv[0] ?? '', Number(argv[1]), nowMs)
  tomb(data, keys[1] ?? '', `${own}${found}`, exp, Number(argv[2]), nowMs)
  return found
}

function extendJs(
  data: MemoryData,
  keys: readonly string[],
  argv: readonly string[],
  nowMs: number
): JsReply {
  const key = keys[0] ?? ''
  const id = argv[0] ?? ''
  const v = data.hget(key, id)
  if (v === null) return [0, nowMs]
  const sep = v.indexOf(':')
  if (Number(v.slice(sep + 1)) <= nowMs) return [0, nowMs]
  const ttl = Number(argv[1])
  const exp = nowMs + ttl
  const res = data.hmget(key, 'e', 'x')
  const e = num(res[0], -1)
  const x = num(res[1], -1)
  data.hset(key, id, `${v.slice(0, sep)}:${exp}`)
  if (e < 0 || exp < e) data.hset(key, 'e', exp)
  if (exp > x) {
    data.hset(key, 'x', exp + ttl)
    data.pexpire(key, exp + ttl - nowMs)
  }
  return [1, exp]
}

function spendJs(
  data: MemoryData,
  keys: readonly string[],
  argv: readonly string[],
  nowMs: number
): JsReply {
  const [h] = held(data, keys[0] ?? '', nowMs)
  const [, reset] = ledger(
    data,
    keys[1] ?? '',
    argv[0] ?? '',
    Number(argv[1]),
    Number(argv[2]),
    nowMs
  )
  const reply: (number | string)[] = [h, nowMs, reset]
  const f = data.hgetall(keys[1] ?? '')
  for (let j = 0; j < f.length; j += 2) {
    if (f[j] === 't' || f[j] === 'o') continue
    reply.push(f[j] ?? '', f[j + 1] ?? '')
  }
  return reply
}

// ---------------------------------------------------------------------------------------------
// Decoding (shared by both stores)

function int(value: RedisReply | undefined, op: string): number {
  if (typeof value !== 'number')
    throw new Error(`${op}: bad reply element ${JSON.stringify(value)}`)
  return value
}

function states(reply: RedisReply[], from: number, op: string): OpLimitState[] {
  const out: OpLimitState[] = []
  for (let i = from; i < reply.length; i += 2) {
    out.push({ spentMicros: int(reply[i], op), resetAt: int(reply[i + 1], op) })
  }
  return out
}

function asArray(reply: RedisReply, op: string, min: number): RedisReply[] {
  if (!Array.isArray(reply) || reply.length < min) {
    throw new Error(`${op}: unexpected reply ${JSON.stringify(reply)}`)
  }
  return reply
}

/**
 * The keys a run may add on a memory store (`newKeys`, what a full `evict: false` store checks):
 * the native bodies it runs keep a subject's tombstones in its holds value, so the tombstone key
 * is passed but never created (counted, it refused every settle and release on a full store, the
 * held subjects' too), and only a settle writes ledgers. The holds value is the first key.
 */
const holdsNew = (keys: readonly string[], holds: (key: string) => boolean): number =>
  holds(keys[0] as string) ? 0 : 1

/** Sweeps expired holds, checks every limit and (unless rejected or `dry`) holds `amountMicros`. */
export const reserveOp = defineOp<ReserveInput, ReserveResult>({
  name: 'budgetReserve',
  lua: RESERVE_LUA,
  js: reserveJs,
  native: reserveNative,
  // The ledgers are only read; a dry run (`status`) or an empty hold writes nothing.
  newKeys: (keys, input, holds) =>
    input.mode === 'dry' || !(input.amountMicros > 0) ? 0 : holdsNew(keys, holds),
  encode: (input) => {
    const argv = [
      input.id,
      String(input.amountMicros),
      String(input.ttlMs),
      input.mode,
      String(input.limits.length),
    ]
    for (const l of input.limits) argv.push(String(l.limitMicros), l.kind, String(l.a), String(l.b))
    return argv
  },
  decode: (raw) => {
    const r = asArray(raw, 'budgetReserve', 4)
    return {
      ok: int(r[0], 'budgetReserve') === 1,
      heldBefore: int(r[1], 'budgetReserve'),
      heldAfter: int(r[2], 'budgetReserve'),
      nowMs: int(r[3], 'budgetReserve'),
      limits: states(r, 4, 'budgetReserve'),
    }
  },
})

const stateOf = (value: RedisReply | undefined, op: string): UnholdState => {
  const code = int(value, op)
  // 4 / 5: the caller's own earlier call, which found 0 / 1 (gone / held).
  const state = STATES[code >= 4 ? code - 4 : code]
  if (state === undefined || code > 5) throw new Error(`${op}: bad state ${JSON.stringify(value)}`)
  return state
}

/**
 * Unless a tombstone says the reservation was already settled or released: removes the hold (if
 * still there), leaves a tombstone and adds the actual spend to every limit's current ledger. With
 * a tombstone it only reads the ledgers (and, when the tombstone is this object's own settle,
 * reports what that settle found and charged). Keys: holds hash, tombstone, one ledger per limit.
 */
export const settleOp = defineOp<SettleInput, SettleResult>({
  name: 'budgetSettle',
  lua: SETTLE_LUA,
  js: settleJs,
  native: settleNative,
  // The holds value (for its tombstone) and the ledgers, after the tombstone key.
  newKeys: (keys, _input, holds) => {
    let added = holdsNew(keys, holds)
    for (let i = 2; i < keys.length; i++) if (!holds(keys[i] as string)) added++
    return added
  },
  encode: (input) => {
    const argv = [
      input.id,
      String(input.actualMicros),
      input.model,
      String(input.expiresAt),
      String(input.keepMs),
      input.nonce,
      String(input.clockMs),
      String(input.limits.length),
    ]
    for (const l of input.limits) argv.push(l.kind, String(l.a), String(l.b))
    return argv
  },
  decode: (raw) => {
    const r = asArray(raw, 'budgetSettle', 4)
    return {
      state: stateOf(r[0], 'budgetSettle'),
      again: int(r[0], 'budgetSettle') >= 4,
      chargedMicros: int(r[3], 'budgetSettle'),
      heldAfter: int(r[1], 'budgetSettle'),
      nowMs: int(r[2], 'budgetSettle'),
      limits: states(r, 4, 'budgetSettle'),
    }
  },
})

/**
 * Drops a hold and leaves a tombstone, unless one is there already (then: what the tombstone says;
 * when it is this object's own release, what that release found). Keys: holds hash, tombstone.
 */
export const releaseOp = defineOp<ReleaseInput, UnholdState>({
  name: 'budgetRelease',
  lua: RELEASE_LUA,
  js: releaseJs,
  native: releaseNative,
  newKeys: (keys, _input, holds) => holdsNew(keys, holds),
  encode: (input) => [input.id, String(input.expiresAt), String(input.keepMs), input.nonce],
  decode: (raw) => stateOf(raw, 'budgetRelease'),
})

/** Moves a live hold's expiry to now + `ttlMs`; does nothing to a hold that is gone or lapsed. */
export const extendOp = defineOp<ExtendInput, ExtendResult>({
  name: 'budgetExtend',
  lua: EXTEND_LUA,
  js: extendJs,
  native: extendNative,
  // Moves a live hold only.
  newKeys: () => 0,
  encode: (input) => [input.id, String(input.ttlMs)],
  decode: (raw) => {
    const r = asArray(raw, 'budgetExtend', 2)
    return { extended: int(r[0], 'budgetExtend') === 1, expiresAt: int(r[1], 'budgetExtend') }
  },
})

/** Reads one limit's ledger (per model) and the subject's live holds. */
export const spendOp = defineOp<SpendInput, SpendResult>({
  name: 'budgetSpend',
  lua: SPEND_LUA,
  js: spendJs,
  native: spendNative,
  newKeys: () => 0,
  encode: (input) => [input.kind, String(input.a), String(input.b)],
  decode: (raw) => {
    const r = asArray(raw, 'budgetSpend', 3)
    // Keyed by model names, any string: no prototype (`__proto__`, `constructor` are names too).
    const byModel: Record<string, number> = Object.create(null)
    for (let i = 3; i + 1 < r.length; i += 2) {
      const field = String(r[i])
      const model = field.slice(field.indexOf('|') + 1)
      byModel[model] = (byModel[model] ?? 0) + Number(r[i + 1])
    }
    return {
      held: int(r[0], 'budgetSpend'),
      nowMs: int(r[1], 'budgetSpend'),
      resetAt: int(r[2], 'budgetSpend'),
      byModel,
    }
  },
})
