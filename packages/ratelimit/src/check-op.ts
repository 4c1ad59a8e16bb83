/**
 * @module check-op
 * The limiter's main atomic operation: check (and, if every limit allows it, consume) a cost
 * against several limits at once, unless the key is blocked. Defined once with `defineOp` as a Lua
 * script (Redis) and a native JavaScript body (memory store) with identical integer arithmetic (see
 * `algorithms.ts` for the state layout); a differential test runs both on the same inputs.
 *
 * All-or-nothing: every limit is evaluated first without writing; only when all of them allow the
 * cost (and the key is not blocked) are all updates applied. A rejection writes nothing, so it
 * consumes nothing from any limit. A cost of 0 only reads.
 *
 * The one exception, which consumes nothing either: a state stamped ahead of the clock by more
 * than it can legitimately be, because the clock has been stepped back since (NTP, a VM resume, a
 * failover to a Redis primary whose clock is behind). A GCRA TAT more than `2 × windowMs` ahead
 * (the most that a check and debt together can reach) is clamped to that; a token bucket updated
 * "later" than now is taken as updated now. Either is then stored so by whatever check reads it,
 * so the key drains / refills from now on, instead of staying locked out until the clock catches
 * up with the size of the step.
 *
 * KEYS: one per limit, then the key's block key (all sharing one `{hash tag}`; the block key is
 * left out, and not read, when the input says `unblocked`: in-process stores only). ARGV:
 * `[cost, n, (algorithm, limit, windowMs) × n]`. Reply: `[status, (limit, remaining, resetAt,
 * retryAfterMs) × n]`, status 1 = allowed, 0 = denied, 2 = denied because the key is blocked.
 */
import { defineOp, LUA_NOW_MS, type NativeData, type RedisReply } from '@aikit/core'
import { compact, type LimitState, LUA_PARSE_STATE, type OpLimit } from './algorithms.js'
import { absentAmong } from './new-keys.js'

/** Input of the op: the limits (one key each, same order, then the block key) and the cost. */
export interface CheckInput {
  readonly limits: readonly OpLimit[]
  /** Integer ≥ 0. */
  readonly cost: number
  /**
   * `true` when the caller knows the key is not blocked (no block was ever set on this in-process
   * store): KEYS then holds the limit keys only and the native body reads no block key. Never set
   * for Redis (the Lua script always reads the block key).
   */
  readonly unblocked?: true
}

/** The outcome for one limit. */
export interface LimitResult {
  /** The limit's `limit`. */
  readonly limit: number
  /** What is left after this check (after consuming when allowed; unchanged when rejected). */
  readonly remaining: number
  /**
   * Epoch ms when this limit is fully replenished: the window end for fixed windows and for an
   * allowed sliding window; a denied sliding window with a count in the current window reports the
   * end of the next one (that count still weighs until then), never sooner than `retryAfterMs`.
   */
  readonly resetAt: number
  /**
   * 0 when this limit alone would allow the cost; else ms to wait before it would, or `-1` when it
   * never will (the cost is larger than the limit).
   */
  readonly retryAfterMs: number
}

/** The result of a check. */
export interface CheckResult {
  /** Whether the cost was allowed (and consumed from every limit). */
  readonly allowed: boolean
  /** The smallest `remaining` over all limits. */
  readonly remaining: number
  /** The `limit` of the tightest limit (the one with the smallest `remaining`; first on ties). */
  readonly limit: number
  /** `resetAt` of the tightest limit (epoch ms). */
  readonly resetAt: number
  /**
   * 0 when allowed; else the largest wait over the rejecting limits (and the block) in ms, or `-1`
   * when the cost can never be allowed (it exceeds a limit).
   */
  readonly retryAfterMs: number
  /** Per-limit outcomes, in the order of the limiter's `limits`. */
  readonly limits: readonly LimitResult[]
  /** Present (`true`) when the key is blocked (`limiter.block`); the result is then denied. */
  readonly blocked?: true
  /**
   * Present (`true`) only when the store was unavailable and the limiter answered by its
   * `onStoreError` policy: from its local in-memory fallback (`'memory'`, limits are then per
   * process) or without checking at all (`'open'`). Absent on a normal result from the store.
   */
  readonly degraded?: true
  /** Why the result is degraded; present exactly when `degraded` is. */
  readonly reason?: 'store-error'
  /**
   * Present (`true`) when the denial came from the limiter's in-process blocked-key cache (the store
   * was not asked; see `blockCache`).
   */
  readonly cached?: true
}

/**
 * One GCRA or fixed-window limit checked against its state key `sk` (a Lua expression), whose
 * current value and its block key's `read` (Lua) leaves in the locals `v` and `bv`, and its expiry
 * `px` (a Lua expression for `2 * W` as a string: Redis formats a number given to redis.call as a
 * double, measured slower than `string.format('%d')` on 7.0), with `cost`, `L`, `W`, `gcra`,
 * `nowMs`, `floor` and `fmt` in scope. Writes the new state (`nv`) when the cost is allowed (or a
 * clamped one, see the module doc), then runs `onSet` (Lua), and leaves `st` (1 allowed, 0 denied,
 * 2 denied because blocked), `rem`, `reset` and `rt` (retry-after ms, -1 for never) for the reply
 * `{st, L, rem, reset, rt}`.
 * The same decisions as the general loop of the script; shared by the script's one-limit path and
 * its batch fast path, so a call decides alike whether or not it was batched.
 */
const luaOneLimit = (read: string, sk: string, px: string, onSet = ''): string => `${read}
local blockMs = 0
if bv then
  local u = tonumber(bv)
  if u and u > nowMs then blockMs = u - nowMs end
end
local has, a, b = false, 0, 0
if v then
  local x, y = string.match(v, '^(%-?%d+):(%-?%d+):?%-?%d*$')
  if x then
    has = true
    a = tonumber(x)
    b = tonumber(y)
  end
end
local st, rt, rem, reset = 0, 0, 0, 0
if gcra then
  local cap = L * W
  local d = 0
  if has and a >= nowMs then
    d = (a - nowMs) * L + b
    if d > 2 * cap then
      -- Stamped by a clock since stepped back (see the module doc): clamped, and stored so.
      d = 2 * cap
      local nv = fmt('%d:0', nowMs + 2 * W)
      redis.call('SET', ${sk}, nv, 'PX', ${px})${onSet}
    end
  end
  local nd = d + cost * W
  if cost > L then
    rt = -1
  elseif nd > cap then
    rt = floor((nd - cap + L - 1) / L)
  elseif blockMs == 0 then
    st = 1
    if cost > 0 then
      local q = floor(nd / L)
      local nv = fmt('%d:%d', nowMs + q, nd - q * L)
      redis.call('SET', ${sk}, nv, 'PX', ${px})${onSet}
    end
    rem = floor((cap - nd) / W)
    reset = nowMs + floor((nd + L - 1) / L)
  end
  if st == 0 then
    rem = floor((cap - d) / W)
    reset = nowMs + floor((d + L - 1) / L)
  end
else
  local ws = floor(nowMs / W) * W
  local count = 0
  if has and a == ws then count = b end
  reset = ws + W
  if cost > L then
    rt = -1
  elseif count + cost > L then
    rt = ws + W - nowMs
  elseif blockMs == 0 then
    st = 1
    if cost > 0 then
      local nv = fmt('%d:%d', ws, count + cost)
      redis.call('SET', ${sk}, nv, 'PX', ${px})${onSet}
    end
    rem = L - count - cost
  end
  if st == 0 then rem = L - count end
end
if st == 0 and blockMs > 0 then
  st = 2
  if rt ~= -1 and rt < blockMs then rt = blockMs end
  rem = 0
  if reset < nowMs + blockMs then reset = nowMs + blockMs end
end
`

/**
 * The batch fast path (`batchLua`): a batch of one-limit GCRA or fixed-window checks sharing one
 * ARGV (one limiter, one cost: the hot case under load) runs in one loop here, with no per-call
 * `pcall`, argument tables or reply tables, and answers one string. Anything else falls through to
 * the generic loop, as does a limit of 2^52 (possible with a 1 ms window), whose integers the
 * compact reply keeps out of (see core's batch module).
 */
const BATCH_LUA = `if tonumber(ARGV[1]) > 1 and ARGV[4] == '1' and ARGV[2] == '2' and ARGV[6] == '1'
  and (ARGV[7] == 'gcra' or ARGV[7] == 'fixed-window') and tonumber(ARGV[8]) < 4503599627370496 then
  local floor = math.floor
  local fmt = string.format
  local cost = tonumber(ARGV[5])
  local gcra = ARGV[7] == 'gcra'
  local L = tonumber(ARGV[8])
  local W = tonumber(ARGV[9])
  -- The expiry as a string, formatted once: a number passed to redis.call is formatted on every
  -- call (about 0.5 µs of the server's time per SET).
  local px = fmt('%d', 2 * W)
  -- An allowed call's reply differs from the next one's only in remaining and reset.
  local allowedReply = fmt('1,%d,%%d,%%d,0', L)
  local out = {}
  -- Every call's state and block key in ONE read rather than a MGET per call (each redis.call has
  -- its own fixed cost: 6.98 -> 6.48 us of script time per check at concurrency 16). A state this
  -- batch already wrote is taken from written instead, so a key checked twice in one batch sees
  -- its first check, as it would one call after the other.
  local all = redis.call('MGET', unpack(KEYS))
  local written = {}
  for c = 1, tonumber(ARGV[1]) do
    local sk = KEYS[2 * c - 1]
${luaOneLimit(
  `local v = written[sk]
if v == nil then v = all[2 * c - 1] end
local bv = all[2 * c]`,
  'sk',
  'px',
  '\n      written[sk] = nv'
)}
    if st == 1 then
      out[c] = fmt(allowedReply, rem, reset)
    else
      out[c] = fmt('%d,%d,%d,%d,%d', st, L, rem, reset, rt)
    end
  end
  return table.concat(out, ';')
end`

/**
 * The script; `reserve`: KEYS ends with one reset stamp per limit, whose values (0 for none) end
 * the reply (`reserveOp`).
 */
const checkLua = (
  reserve: boolean
): string => `${LUA_NOW_MS}${LUA_PARSE_STATE}local floor = math.floor
local fmt = string.format
local cost = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
${
  reserve
    ? `local function seen(reply)
  for i = 1, n do reply[#reply + 1] = tonumber(redis.call('GET', KEYS[n + 1 + i]) or '0') or 0 end
  return reply
end
`
    : ''
}if n == 1 then
  -- One limit (the common case): the same decisions as the loop below, with less work per call.
  local algo = ARGV[3]
  if algo == 'gcra' or algo == 'fixed-window' then
    local gcra = algo == 'gcra'
    local L = tonumber(ARGV[4])
    local W = tonumber(ARGV[5])
${luaOneLimit(
  `local vals = redis.call('MGET', KEYS[1], KEYS[2])
local v = vals[1]
local bv = vals[2]`,
  'KEYS[1]',
  "fmt('%d', 2 * W)"
)}
    return ${reserve ? 'seen({st, L, rem, reset, rt})' : '{st, L, rem, reset, rt}'}
  end
end
local vals = redis.call('MGET', unpack(KEYS))
local blockMs = 0
local bv = vals[n + 1]
if bv then
  local u = tonumber(bv)
  if u and u > nowMs then blockMs = u - nowMs end
end
local allowed = 1
if blockMs > 0 then allowed = 0 end
local R = {}
-- By limit, states stamped by a clock since stepped back (see the module doc), rewritten even when
-- nothing is consumed: created only when needed.
local fix = false
for i = 1, n do
  local algo = ARGV[3 * i]
  local L = tonumber(ARGV[3 * i + 1])
  local W = tonumber(ARGV[3 * i + 2])
  local has, a, b, c = parseState(vals[i])
  local cap = L * W
  local rem0, reset0, rem1, reset1 = 0, 0, 0, 0
  local fits = false
  local retry = 0
  local nv = false
  if algo == 'gcra' then
    local d = 0
    if has and a >= nowMs then
      d = (a - nowMs) * L + b
      if d > 2 * cap then
        d = 2 * cap
        fix = fix or {}
        fix[i] = fmt('%d:0', nowMs + 2 * W)
      end
    end
    rem0 = floor((cap - d) / W)
    reset0 = nowMs + floor((d + L - 1) / L)
    if cost <= L then
      local nd = d + cost * W
      if nd <= cap then
        fits = true
        rem1 = floor((cap - nd) / W)
        reset1 = nowMs + floor((nd + L - 1) / L)
        local q = floor(nd / L)
        nv = fmt('%d:%d', nowMs + q, nd - q * L)
      else
        retry = floor((nd - cap + L - 1) / L)
      end
    end
  elseif algo == 'fixed-window' then
    local ws = floor(nowMs / W) * W
    local count = 0
    if has and a == ws then count = b end
    rem0 = L - count
    reset0 = ws + W
    if cost <= L then
      if count + cost <= L then
        fits = true
        rem1 = L - count - cost
        reset1 = ws + W
        nv = fmt('%d:%d', ws, count + cost)
      else
        retry = ws + W - nowMs
      end
    end
  elseif algo == 'sliding-window' then
    local ws = floor(nowMs / W) * W
    local cur, prev = 0, 0
    if has then
      if a == ws then
        cur = b
        prev = c
      elseif a == ws - W then
        prev = b
      end
    end
    local count = floor(prev * (W - (nowMs - ws)) / W) + cur
    rem0 = L - count
    -- Fully replenished once this window's count has also passed as the previous one (no earlier
    -- than the wait of a denial); an allowed result keeps reporting the window end.
    reset0 = ws + W
    if cur > 0 then reset0 = ws + 2 * W end
    if cost <= L then
      if count + cost <= L then
        fits = true
        rem1 = L - count - cost
        reset1 = ws + W
        nv = fmt('%d:%d:%d', ws, cur + cost, prev)
      else
        local at = -1
        local room = L - cur - cost
        if room >= 0 and prev > 0 then
          local need = W - floor(((room + 1) * W - 1) / prev)
          if need < W then at = ws + need end
        end
        if at < 0 then
          local need2 = 0
          if cur > 0 then need2 = W - floor(((L - cost + 1) * W - 1) / cur) end
          if need2 < 0 then need2 = 0 end
          at = ws + W + need2
        end
        retry = at - nowMs
      end
    end
  elseif algo == 'token-bucket' then
    local credit = cap
    if has then
      local el = nowMs - b
      if el < 0 then
        el = 0
        fix = fix or {}
        fix[i] = fmt('%d:%d', a, nowMs)
      end
      if el > 2 * W then el = 2 * W end
      credit = a + el * L
      if credit > cap then credit = cap end
    end
    rem0 = floor(credit / W)
    reset0 = nowMs + floor((cap - credit + L - 1) / L)
    if cost <= L then
      local need = cost * W
      if need <= credit then
        fits = true
        local k = credit - need
        rem1 = floor(k / W)
        reset1 = nowMs + floor((cap - k + L - 1) / L)
        nv = fmt('%d:%d', k, nowMs)
      else
        retry = floor((need - credit + L - 1) / L)
      end
    end
  else
    return redis.error_reply('ERR unknown rate limit algorithm ' .. tostring(algo))
  end
  if cost > L then retry = -1 end
  if not fits then allowed = 0 end
  local o = (i - 1) * 8
  R[o + 1] = L
  R[o + 2] = rem0
  R[o + 3] = reset0
  R[o + 4] = rem1
  R[o + 5] = reset1
  if fits then R[o + 6] = 0 else R[o + 6] = retry end
  R[o + 7] = nv
  R[o + 8] = W
end
local reply = {allowed}
if blockMs > 0 then reply[1] = 2 end
for i = 1, n do
  local o = (i - 1) * 8
  reply[#reply + 1] = R[o + 1]
  if allowed == 1 then
    reply[#reply + 1] = R[o + 4]
    reply[#reply + 1] = R[o + 5]
    reply[#reply + 1] = 0
  else
    local rt = R[o + 6]
    if blockMs > 0 then
      if rt ~= -1 and rt < blockMs then rt = blockMs end
      reply[#reply + 1] = 0
      reply[#reply + 1] = math.max(R[o + 3], nowMs + blockMs)
    else
      reply[#reply + 1] = R[o + 2]
      reply[#reply + 1] = R[o + 3]
    end
    reply[#reply + 1] = rt
  end
end
if allowed == 1 and cost > 0 then
  for i = 1, n do
    local o = (i - 1) * 8
    redis.call('SET', KEYS[i], R[o + 7], 'PX', 2 * R[o + 8])
  end
elseif fix then
  for i = 1, n do
    if fix[i] then redis.call('SET', KEYS[i], fix[i], 'PX', 2 * R[(i - 1) * 8 + 8]) end
  end
end
return ${reserve ? 'seen(reply)' : 'reply'}
`

const LUA = checkLua(false)

const floor = Math.floor

/** One limit evaluated by `evaluate` (module-level scratch: ops run synchronously, one at a time). */
interface Evaluated {
  L: number
  W: number
  rem0: number
  reset0: number
  rem1: number
  reset1: number
  /** 0 when this limit alone fits; else the wait, or -1 for never. */
  retry: number
  fits: boolean
  /** The state to write when every limit fits (`na:nb:nc`). */
  na: number
  nb: number
  nc: number
  /** The state was stamped by a clock since stepped back: rewritten even if nothing is consumed. */
  fix: boolean
}

const scratch: Evaluated[] = []

/**
 * The JavaScript twin of one iteration of the Lua loop, written into `out`; `false` for an unknown
 * algorithm.
 */
function evaluate(
  out: Evaluated,
  state: LimitState | undefined,
  algo: string,
  L: number,
  W: number,
  cost: number,
  nowMs: number
): boolean {
  const cap = L * W
  const a = state?.a ?? 0
  const b = state?.b ?? 0
  const c = state?.c ?? 0
  let rem0: number
  let reset0: number
  let rem1 = 0
  let reset1 = 0
  let fits = false
  let retry = 0
  let na = 0
  let nb = 0
  let nc = 0
  let fix = false
  if (algo === 'gcra') {
    let d = 0
    if (state !== undefined && a >= nowMs) {
      d = (a - nowMs) * L + b
      if (d > 2 * cap) {
        d = 2 * cap
        fix = true
      }
    }
    rem0 = floor((cap - d) / W)
    reset0 = nowMs + floor((d + L - 1) / L)
    if (cost <= L) {
      const nd = d + cost * W
      if (nd <= cap) {
        fits = true
        rem1 = floor((cap - nd) / W)
        reset1 = nowMs + floor((nd + L - 1) / L)
        const q = floor(nd / L)
        na = nowMs + q
        nb = nd - q * L
      } else {
        retry = floor((nd - cap + L - 1) / L)
      }
    }
  } else if (algo === 'fixed-window') {
    const ws = floor(nowMs / W) * W
    const count = state !== undefined && a === ws ? b : 0
    rem0 = L - count
    reset0 = ws + W
    if (cost <= L) {
      if (count + cost <= L) {
        fits = true
        rem1 = L - count - cost
        reset1 = ws + W
        na = ws
        nb = count + cost
      } else {
        retry = ws + W - nowMs
      }
    }
  } else if (algo === 'sliding-window') {
    const ws = floor(nowMs / W) * W
    let cur = 0
    let prev = 0
    if (state !== undefined) {
      if (a === ws) {
        cur = b
        prev = c
      } else if (a === ws - W) {
        prev = b
      }
    }
    const count = floor((prev * (W - (nowMs - ws))) / W) + cur
    rem0 = L - count
    // Fully replenished once this window's count has also passed as the previous one (no earlier
    // than the wait of a denial); an allowed result keeps reporting the window end.
    reset0 = cur > 0 ? ws + 2 * W : ws + W
    if (cost <= L) {
      if (count + cost <= L) {
        fits = true
        rem1 = L - count - cost
        reset1 = ws + W
        na = ws
        nb = cur + cost
        nc = prev
      } else {
        let at = -1
        const room = L - cur - cost
        if (room >= 0 && prev > 0) {
          const need = W - floor(((room + 1) * W - 1) / prev)
          if (need < W) at = ws + need
        }
        if (at < 0) {
          let need2 = 0
          if (cur > 0) need2 = W - floor(((L - cost + 1) * W - 1) / cur)
          if (need2 < 0) need2 = 0
          at = ws + W + need2
        }
        retry = at - nowMs
      }
    }
  } else if (algo === 'token-bucket') {
    let credit = cap
    if (state !== undefined) {
      let el = nowMs - b
      if (el < 0) {
        el = 0
        fix = true
      }
      if (el > 2 * W) el = 2 * W
      credit = a + el * L
      if (credit > cap) credit = cap
    }
    rem0 = floor(credit / W)
    reset0 = nowMs + floor((cap - credit + L - 1) / L)
    if (cost <= L) {
      const need = cost * W
      if (need <= credit) {
        fits = true
        const k = credit - need
        rem1 = floor(k / W)
        reset1 = nowMs + floor((cap - k + L - 1) / L)
        na = k
        nb = nowMs
      } else {
        retry = floor((need - credit + L - 1) / L)
      }
    }
  } else {
    return false
  }
  if (cost > L) retry = -1
  out.L = L
  out.W = W
  out.rem0 = rem0
  out.reset0 = reset0
  out.rem1 = rem1
  out.reset1 = reset1
  out.retry = fits ? 0 : retry
  out.fits = fits
  out.na = na
  out.nb = nb
  out.nc = nc
  out.fix = fix
  return true
}

/**
 * The native body: the same decisions as the Lua script, building the result directly (what
 * `decode` would make of the script's reply) and updating the stored states in place.
 */
function checkNative(
  data: NativeData,
  keys: readonly string[],
  input: CheckInput,
  nowMs: number
): CheckResult {
  const { limits, cost } = input
  const n = limits.length
  const until = input.unblocked ? undefined : (data.get(keys[n] as string) as number | undefined)
  const blockMs = until !== undefined && until > nowMs ? until - nowMs : 0
  if (n === 1) {
    const l = limits[0] as OpLimit
    if (l.algorithm === 'gcra') {
      return checkGcra(data, keys[0] as string, l.limit, l.windowMs, cost, blockMs, nowMs)
    }
    if (l.algorithm === 'fixed-window') {
      return checkFixedWindow(data, keys[0] as string, l.limit, l.windowMs, cost, blockMs, nowMs)
    }
  }
  let allowed = blockMs === 0
  let fix = false
  while (scratch.length < n) scratch.push(newEvaluated())
  const states: (LimitState | undefined)[] | undefined = n === 1 ? undefined : new Array(n)
  let state0: LimitState | undefined
  for (let i = 0; i < n; i++) {
    const l = limits[i] as OpLimit
    const state = data.get(keys[i] as string) as LimitState | undefined
    if (i === 0) state0 = state
    else (states as (LimitState | undefined)[])[i] = state
    const r = scratch[i] as Evaluated
    if (!evaluate(r, state, l.algorithm, l.limit, l.windowMs, cost, nowMs)) {
      throw new Error(`ERR unknown rate limit algorithm ${l.algorithm}`)
    }
    if (!r.fits) allowed = false
    if (r.fix) fix = true
  }
  const results: LimitResult[] = new Array(n)
  let tightest: LimitResult | undefined
  let retryAfterMs = 0
  let never = false
  for (let i = 0; i < n; i++) {
    const r = scratch[i] as Evaluated
    let l: LimitResult
    if (allowed) {
      l = { limit: r.L, remaining: Math.max(0, r.rem1), resetAt: r.reset1, retryAfterMs: 0 }
    } else {
      let rt = r.retry
      if (blockMs > 0 && rt !== -1 && rt < blockMs) rt = blockMs
      l =
        blockMs > 0
          ? blockedLimit(r.L, r.reset0, rt, blockMs, nowMs)
          : { limit: r.L, remaining: Math.max(0, r.rem0), resetAt: r.reset0, retryAfterMs: rt }
      if (rt === -1) never = true
      else if (rt > retryAfterMs) retryAfterMs = rt
    }
    results[i] = l
    if (tightest === undefined || l.remaining < tightest.remaining) tightest = l
  }
  if (allowed && cost > 0) {
    for (let i = 0; i < n; i++) {
      const r = scratch[i] as Evaluated
      const state = i === 0 ? state0 : (states as (LimitState | undefined)[])[i]
      // The stored state is only ever reachable through the store, so it is updated in place.
      if (state === undefined) {
        data.set(
          keys[i] as string,
          { a: compact(r.na), b: compact(r.nb), c: compact(r.nc) },
          2 * r.W
        )
      } else {
        state.a = compact(r.na)
        state.b = compact(r.nb)
        state.c = compact(r.nc)
        data.set(keys[i] as string, state, 2 * r.W)
      }
    }
  } else if (fix) {
    for (let i = 0; i < n; i++) {
      const state = i === 0 ? state0 : (states as (LimitState | undefined)[])[i]
      if ((scratch[i] as Evaluated).fix && state !== undefined) {
        const l = limits[i] as OpLimit
        fixState(data, keys[i] as string, state, l.algorithm === 'gcra', nowMs, l.windowMs)
      }
    }
  }
  const t = tightest as LimitResult
  const result: CheckResult = {
    allowed,
    remaining: t.remaining,
    limit: t.limit,
    resetAt: t.resetAt,
    retryAfterMs: allowed ? 0 : never ? -1 : retryAfterMs,
    limits: results,
  }
  return blockMs > 0 ? { ...result, blocked: true } : result
}

/**
 * `checkNative` for one GCRA limit (the common case): the same arithmetic as `evaluate` and the
 * same result, without the scratch records and loops of the general case, and with the "before"
 * figures (`rem0`, `reset0`), which only a denial reports, computed only then. One function per
 * algorithm, so each is optimised on its own: together, their inlined store calls would exceed
 * the optimising compiler's inlining budget and leave one algorithm's hot path with real calls.
 */
function checkGcra(
  data: NativeData,
  key: string,
  L: number,
  W: number,
  cost: number,
  blockMs: number,
  nowMs: number
): CheckResult {
  const state = data.get(key) as LimitState | undefined
  const cap = L * W
  let d = 0
  if (state !== undefined && state.a >= nowMs) {
    d = (state.a - nowMs) * L + state.b
    // Stamped by a clock since stepped back (see the module doc): clamped, and stored so.
    if (d > 2 * cap) {
      d = 2 * cap
      fixState(data, key, state, true, nowMs, W)
    }
  }
  const nd = d + cost * W
  let retry = 0
  if (cost <= L && nd <= cap) {
    if (blockMs === 0) {
      const q = floor(nd / L)
      const nb = nd - q * L
      if (cost > 0) write(data, key, state, nowMs + q, nb, W)
      // `nowMs + floor((nd + L - 1) / L)` (a ceiling), from the quotient already computed: both
      // are exact on integers below 2^53, so this is the same value as the Lua script's.
      return allowedResult(L, floor((cap - nd) / W), nowMs + q + (nb > 0 ? 1 : 0))
    }
  } else if (cost <= L) {
    retry = floor((nd - cap + L - 1) / L)
  }
  return deniedResult(
    L,
    floor((cap - d) / W),
    nowMs + floor((d + L - 1) / L),
    cost > L ? -1 : retry,
    blockMs,
    nowMs
  )
}

/** `checkGcra` for one fixed-window limit. */
function checkFixedWindow(
  data: NativeData,
  key: string,
  L: number,
  W: number,
  cost: number,
  blockMs: number,
  nowMs: number
): CheckResult {
  const state = data.get(key) as LimitState | undefined
  const ws = floor(nowMs / W) * W
  const count = state !== undefined && state.a === ws ? state.b : 0
  let retry = 0
  if (cost <= L && count + cost <= L) {
    if (blockMs === 0) {
      if (cost > 0) write(data, key, state, ws, count + cost, W)
      return allowedResult(L, L - count - cost, ws + W)
    }
  } else if (cost <= L) {
    retry = ws + W - nowMs
  }
  return deniedResult(L, L - count, ws + W, cost > L ? -1 : retry, blockMs, nowMs)
}

/**
 * The result of a denied check on one limit: `rem0` and `reset0` before consuming, `retry` as
 * `evaluate` computes it (0 when the cost fits: then the key is blocked).
 */
function deniedResult(
  L: number,
  rem0: number,
  reset0: number,
  retry: number,
  blockMs: number,
  nowMs: number
): CheckResult {
  let rt = retry
  if (blockMs > 0 && rt !== -1 && rt < blockMs) rt = blockMs
  const l =
    blockMs > 0
      ? blockedLimit(L, reset0, rt, blockMs, nowMs)
      : { limit: L, remaining: Math.max(0, rem0), resetAt: reset0, retryAfterMs: rt }
  const result: CheckResult = {
    allowed: false,
    remaining: l.remaining,
    limit: L,
    resetAt: l.resetAt,
    retryAfterMs: rt === -1 ? -1 : Math.max(0, rt),
    limits: [l],
  }
  return blockMs > 0 ? { ...result, blocked: true } : result
}

/**
 * A limit of a blocked key: nothing can be used until the block ends, so nothing is left and the
 * limit resets no sooner than the block's end (a client reading `r=` and `t=` waits as long as
 * `Retry-After` says), as the script reports it.
 */
function blockedLimit(
  L: number,
  reset0: number,
  rt: number,
  blockMs: number,
  nowMs: number
): LimitResult {
  return { limit: L, remaining: 0, resetAt: Math.max(reset0, nowMs + blockMs), retryAfterMs: rt }
}

/**
 * Rewrites a GCRA (`gcra`) or token-bucket state stamped by a clock since stepped back (see the
 * module doc), as the script does: the TAT clamped to `2 × W` ahead, the bucket's update time now.
 */
function fixState(
  data: NativeData,
  key: string,
  state: LimitState,
  gcra: boolean,
  nowMs: number,
  W: number
): void {
  if (gcra) write(data, key, state, nowMs + 2 * W, 0, W)
  else write(data, key, state, state.a, nowMs, W)
}

/** Stores a two-integer state (`c` = 0) at `key`, in place when one is there (see `checkNative`). */
function write(
  data: NativeData,
  key: string,
  state: LimitState | undefined,
  a: number,
  b: number,
  W: number
): void {
  if (state === undefined) {
    data.set(key, { a: compact(a), b: compact(b), c: 0 }, 2 * W)
  } else {
    state.a = compact(a)
    state.b = compact(b)
    state.c = 0
    data.set(key, state, 2 * W)
  }
}

/** The result of an allowed check on one limit. */
function allowedResult(L: number, rem1: number, resetAt: number): CheckResult {
  const remaining = Math.max(0, rem1)
  return {
    allowed: true,
    remaining,
    limit: L,
    resetAt,
    retryAfterMs: 0,
    limits: [{ limit: L, remaining, resetAt, retryAfterMs: 0 }],
  }
}

function newEvaluated(): Evaluated {
  return {
    L: 0,
    W: 0,
    rem0: 0,
    reset0: 0,
    rem1: 0,
    reset1: 0,
    retry: 0,
    fits: false,
    na: 0,
    nb: 0,
    nc: 0,
    fix: false,
  }
}

function asInt(value: RedisReply | undefined): number {
  if (typeof value !== 'number') throw new Error(`rateLimitCheck: bad reply element ${value}`)
  return value
}

/** Decodes `[status, (limit, remaining, resetAt, retryAfterMs) per limit]` (shared by both bodies). */
function decode(reply: RedisReply): CheckResult {
  if (!Array.isArray(reply) || reply.length < 5 || (reply.length - 1) % 4 !== 0) {
    throw new Error(`rateLimitCheck: unexpected reply ${JSON.stringify(reply)}`)
  }
  const status = asInt(reply[0])
  const allowed = status === 1
  const limits: LimitResult[] = []
  let tightest: LimitResult | undefined
  let retryAfterMs = 0
  let never = false
  for (let i = 1; i < reply.length; i += 4) {
    const l: LimitResult = {
      limit: asInt(reply[i]),
      // Debt (a settle or penalty beyond the limit) reads as nothing left, never as negative.
      remaining: Math.max(0, asInt(reply[i + 1])),
      resetAt: asInt(reply[i + 2]),
      retryAfterMs: asInt(reply[i + 3]),
    }
    limits.push(l)
    if (tightest === undefined || l.remaining < tightest.remaining) tightest = l
    if (l.retryAfterMs === -1) never = true
    else if (l.retryAfterMs > retryAfterMs) retryAfterMs = l.retryAfterMs
  }
  const t = tightest as LimitResult
  const result: CheckResult = {
    allowed,
    remaining: t.remaining,
    limit: t.limit,
    resetAt: t.resetAt,
    retryAfterMs: allowed ? 0 : never ? -1 : retryAfterMs,
    limits,
  }
  return status === 2 ? { ...result, blocked: true } : result
}

/** The last frozen input `encode` saw and its ARGV (frozen too: stores only read ARGV). */
let lastInput: CheckInput | undefined
let lastArgv: readonly string[] = []

/** ARGV of both ops. */
function encode(input: CheckInput): readonly string[] {
  // The limiter passes the same frozen input for every cost-1 check: encode it once.
  if (input === lastInput) return lastArgv
  const argv = [String(input.cost), String(input.limits.length)]
  for (const l of input.limits) argv.push(l.algorithm, String(l.limit), String(l.windowMs))
  if (
    Object.isFrozen(input) &&
    Object.isFrozen(input.limits) &&
    input.limits.every((l) => Object.isFrozen(l))
  ) {
    lastInput = input
    lastArgv = Object.freeze(argv)
  }
  return argv
}

/** The multi-limit check op. */
export const checkOp = defineOp<CheckInput, CheckResult>({
  name: 'rateLimitCheck',
  lua: LUA,
  batchLua: BATCH_LUA,
  native: checkNative,
  encode,
  decode,
  // The block key is only read here (`blockOp` writes it).
  newKeys: (keys, input, holds) => absentAmong(keys, input.limits.length, holds),
})

/** The result of `reserveOp`: the check's, and the reset stamps it saw. */
export interface ReserveOutcome {
  readonly result: CheckResult
  /**
   * Per limit, its reset stamp when the check ran (0 for none): a refund of the units the check
   * took is dropped from a limit whose stamp has moved on since (see `resetOp`).
   */
  readonly seen: readonly number[]
}

/** `reserveOp`'s native body: the check, then the stamps it saw. */
function reserveNative(
  data: NativeData,
  keys: readonly string[],
  input: CheckInput,
  nowMs: number
): ReserveOutcome {
  const result = checkNative(data, keys, input, nowMs)
  const n = input.limits.length
  const seen: number[] = new Array(n)
  for (let i = 0; i < n; i++) seen[i] = (data.get(keys[n + 1 + i] as string) as number) ?? 0
  return { result, seen }
}

/**
 * `checkOp` for `limiter.reserve`: the same decisions, and the reset stamps of the limits, which a
 * reservation needs to tell whether a `reset` came after it (read in the same script: no round trip
 * more). Its own op so that `check`, the hot path, keeps its keys, its reply and its batch fast
 * path. KEYS: the check's (the block key always included), then one reset stamp per limit. Reply:
 * the check's, then the stamps (0 for none).
 */
export const reserveOp = defineOp<CheckInput, ReserveOutcome>({
  name: 'rateLimitReserve',
  lua: checkLua(true),
  native: reserveNative,
  // The block key and the reset stamps are only read.
  newKeys: (keys, input, holds) => absentAmong(keys, input.limits.length, holds),
  encode,
  decode: (reply) => {
    if (!Array.isArray(reply) || reply.length < 6 || (reply.length - 1) % 5 !== 0) {
      throw new Error(`rateLimitReserve: unexpected reply ${JSON.stringify(reply)}`)
    }
    const n = (reply.length - 1) / 5
    return { result: decode(reply.slice(0, 1 + 4 * n)), seen: reply.slice(1 + 4 * n).map(asInt) }
  },
})
