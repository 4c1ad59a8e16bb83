/**
 * @module check-op
 * The one atomic operation of the rate limiter: check (and, if every limit allows it, consume) a
 * cost against several limits at once. Defined once with `defineOp` as a Lua script (Redis) and a
 * JavaScript function (memory) with identical integer-millisecond arithmetic.
 *
 * All-or-nothing: every limit is evaluated first without writing; only when all of them allow the
 * cost are all updates applied. A rejection writes nothing, so it consumes nothing from any limit.
 *
 * Arithmetic is exact: all values are integers below 2^53 (the limiter checks `limit × windowMs ≤
 * 2^52`), divisions are `floor`ed the same way in Lua and JavaScript (both IEEE doubles), and
 * fractional quantities are kept scaled by `limit` or `windowMs` instead of as floats:
 *
 * - `gcra`: hash `{t, r}` = the theoretical arrival time `t + r/limit` ms (emission interval
 *   `windowMs/limit`, burst `limit`). Allowed when `newTat - now <= windowMs`.
 * - `fixed-window`: hash `{s, c}` = window start (aligned to `floor(now/windowMs)*windowMs`), count.
 * - `sliding-window`: hash `{s, c, p}` = current window start, its count, the previous window's
 *   count; count = `floor(p * (windowMs - elapsed) / windowMs) + c`.
 * - `token-bucket`: hash `{k, ts}` = credit in token·ms (tokens × windowMs), time of last update;
 *   refills `limit` tokens per `windowMs` up to a capacity of `limit`. A missing key is a full bucket.
 *
 * Every written key gets `PEXPIRE 2 × windowMs`, always longer than its state matters (a missing key
 * is exactly the initial state). A cost of 0 only reads (nothing is written).
 */
import { defineOp, type JsReply, LUA_NOW_MS, type MemoryData, type RedisReply } from '@aikit/core'

/** The algorithms the limiter implements. */
export type Algorithm = 'gcra' | 'fixed-window' | 'sliding-window' | 'token-bucket'

/** The algorithms, in documentation order. */
export const ALGORITHMS: readonly Algorithm[] = [
  'gcra',
  'fixed-window',
  'sliding-window',
  'token-bucket',
]

/** One resolved limit as the op receives it. */
export interface OpLimit {
  readonly algorithm: Algorithm
  /** Positive integer. */
  readonly limit: number
  /** Positive integer milliseconds. */
  readonly windowMs: number
}

/** Input of the op: the limits (one key each, same order) and the cost. */
export interface CheckInput {
  readonly limits: readonly OpLimit[]
  /** Integer ≥ 0. */
  readonly cost: number
}

/** The outcome for one limit. */
export interface LimitResult {
  /** The limit's `limit`. */
  readonly limit: number
  /** What is left after this check (after consuming when allowed; unchanged when rejected). */
  readonly remaining: number
  /** Epoch ms when this limit is fully replenished (window end for fixed and sliding windows). */
  readonly resetAt: number
  /**
   * 0 when this limit alone would allow the cost; else ms to wait before it would, or `-1` when it
   * never will (the cost is larger than the limit).
   */
  readonly retryAfterMs: number
}

/** The decoded reply of the op. */
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
   * 0 when allowed; else the largest wait over the rejecting limits in ms, or `-1` when the cost
   * can never be allowed (it exceeds a limit).
   */
  readonly retryAfterMs: number
  /** Per-limit outcomes, in the order of the limiter's `limits`. */
  readonly limits: readonly LimitResult[]
  /**
   * Present (`true`) only when the store was unavailable and the limiter answered by its
   * `onStoreError` policy: from its local in-memory fallback (`'memory'`, limits are then per
   * process) or without checking at all (`'open'`). Absent on a normal result from the store.
   */
  readonly degraded?: true
  /** Why the result is degraded; present exactly when `degraded` is. */
  readonly reason?: 'store-error'
}

const LUA = `${LUA_NOW_MS}
local floor = math.floor
local cost = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local allowed = 1
local results = {}
for i = 1, n do
  local algo = ARGV[3 * i]
  local L = tonumber(ARGV[3 * i + 1])
  local W = tonumber(ARGV[3 * i + 2])
  local key = KEYS[i]
  local rem0, reset0, rem1, reset1, w
  local fits = false
  local retry = 0
  if algo == 'gcra' then
    local cap = L * W
    local s = redis.call('HMGET', key, 't', 'r')
    local d = 0
    if s[1] then
      local t = tonumber(s[1])
      if t >= nowMs then d = (t - nowMs) * L + tonumber(s[2] or 0) end
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
        w = {'t', nowMs + q, 'r', nd - q * L}
      else
        retry = floor((nd - cap + L - 1) / L)
      end
    end
  elseif algo == 'fixed-window' then
    local ws = floor(nowMs / W) * W
    local s = redis.call('HMGET', key, 's', 'c')
    local count = 0
    if s[1] and tonumber(s[1]) == ws then count = tonumber(s[2] or 0) end
    rem0 = L - count
    reset0 = ws + W
    if cost <= L then
      if count + cost <= L then
        fits = true
        rem1 = L - count - cost
        reset1 = ws + W
        w = {'s', ws, 'c', count + cost}
      else
        retry = ws + W - nowMs
      end
    end
  elseif algo == 'sliding-window' then
    local ws = floor(nowMs / W) * W
    local s = redis.call('HMGET', key, 's', 'c', 'p')
    local cur = 0
    local prev = 0
    if s[1] then
      local st = tonumber(s[1])
      if st == ws then
        cur = tonumber(s[2] or 0)
        prev = tonumber(s[3] or 0)
      elseif st == ws - W then
        prev = tonumber(s[2] or 0)
      end
    end
    local count = floor(prev * (W - (nowMs - ws)) / W) + cur
    rem0 = L - count
    reset0 = ws + W
    if cost <= L then
      if count + cost <= L then
        fits = true
        rem1 = L - count - cost
        reset1 = ws + W
        w = {'s', ws, 'c', cur + cost, 'p', prev}
      else
        local at = -1
        local a = L - cur - cost
        if a >= 0 and prev > 0 then
          local need = W - floor(((a + 1) * W - 1) / prev)
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
    local cap = L * W
    local s = redis.call('HMGET', key, 'k', 'ts')
    local credit = cap
    if s[1] then
      local el = nowMs - tonumber(s[2] or nowMs)
      if el < 0 then el = 0 end
      if el > W then el = W end
      credit = tonumber(s[1]) + el * L
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
        w = {'k', k, 'ts', nowMs}
      else
        retry = floor((need - credit + L - 1) / L)
      end
    end
  else
    return redis.error_reply('ERR unknown rate limit algorithm ' .. tostring(algo))
  end
  if cost > L then retry = -1 end
  if not fits then allowed = 0 end
  results[i] = {L, W, rem0, reset0, rem1, reset1, fits, retry, w}
end
local reply = {allowed}
for i = 1, n do
  local r = results[i]
  if allowed == 1 then
    reply[#reply + 1] = r[1]
    reply[#reply + 1] = r[5]
    reply[#reply + 1] = r[6]
    reply[#reply + 1] = 0
  else
    reply[#reply + 1] = r[1]
    reply[#reply + 1] = r[3]
    reply[#reply + 1] = r[4]
    if r[7] then reply[#reply + 1] = 0 else reply[#reply + 1] = r[8] end
  end
end
if allowed == 1 and cost > 0 then
  for i = 1, n do
    local r = results[i]
    redis.call('HSET', KEYS[i], unpack(r[9]))
    redis.call('PEXPIRE', KEYS[i], 2 * r[2])
  end
end
return reply
`

interface Evaluated {
  L: number
  W: number
  rem0: number
  reset0: number
  rem1: number
  reset1: number
  fits: boolean
  retry: number
  w: (string | number)[]
}

const floor = Math.floor
const num = (value: string | null | undefined, fallback: number): number =>
  value === null || value === undefined ? fallback : Number(value)

/** The JS twin of one iteration of the Lua loop; `undefined` for an unknown algorithm. */
function evaluate(
  data: MemoryData,
  key: string,
  algo: string,
  L: number,
  W: number,
  cost: number,
  nowMs: number
): Evaluated | undefined {
  let rem0: number
  let reset0: number
  let rem1 = 0
  let reset1 = 0
  let w: (string | number)[] = []
  let fits = false
  let retry = 0
  if (algo === 'gcra') {
    const cap = L * W
    const s = data.hmget(key, 't', 'r')
    let d = 0
    if (s[0] != null) {
      const t = Number(s[0])
      if (t >= nowMs) d = (t - nowMs) * L + num(s[1], 0)
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
        w = ['t', nowMs + q, 'r', nd - q * L]
      } else {
        retry = floor((nd - cap + L - 1) / L)
      }
    }
  } else if (algo === 'fixed-window') {
    const ws = floor(nowMs / W) * W
    const s = data.hmget(key, 's', 'c')
    let count = 0
    if (s[0] != null && Number(s[0]) === ws) count = num(s[1], 0)
    rem0 = L - count
    reset0 = ws + W
    if (cost <= L) {
      if (count + cost <= L) {
        fits = true
        rem1 = L - count - cost
        reset1 = ws + W
        w = ['s', ws, 'c', count + cost]
      } else {
        retry = ws + W - nowMs
      }
    }
  } else if (algo === 'sliding-window') {
    const ws = floor(nowMs / W) * W
    const s = data.hmget(key, 's', 'c', 'p')
    let cur = 0
    let prev = 0
    if (s[0] != null) {
      const st = Number(s[0])
      if (st === ws) {
        cur = num(s[1], 0)
        prev = num(s[2], 0)
      } else if (st === ws - W) {
        prev = num(s[1], 0)
      }
    }
    const count = floor((prev * (W - (nowMs - ws))) / W) + cur
    rem0 = L - count
    reset0 = ws + W
    if (cost <= L) {
      if (count + cost <= L) {
        fits = true
        rem1 = L - count - cost
        reset1 = ws + W
        w = ['s', ws, 'c', cur + cost, 'p', prev]
      } else {
        let at = -1
        const a = L - cur - cost
        if (a >= 0 && prev > 0) {
          const need = W - floor(((a + 1) * W - 1) / prev)
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
    const cap = L * W
    const s = data.hmget(key, 'k', 'ts')
    let credit = cap
    if (s[0] != null) {
      let el = nowMs - num(s[1], nowMs)
      if (el < 0) el = 0
      if (el > W) el = W
      credit = Number(s[0]) + el * L
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
        w = ['k', k, 'ts', nowMs]
      } else {
        retry = floor((need - credit + L - 1) / L)
      }
    }
  } else {
    return undefined
  }
  if (cost > L) retry = -1
  return { L, W, rem0, reset0, rem1, reset1, fits, retry, w }
}

function checkJs(
  data: MemoryData,
  keys: readonly string[],
  argv: readonly string[],
  nowMs: number
): JsReply {
  const cost = Number(argv[0])
  const n = Number(argv[1])
  let allowed = 1
  const results: Evaluated[] = []
  for (let i = 1; i <= n; i++) {
    const algo = argv[3 * i - 1] ?? ''
    const r = evaluate(
      data,
      keys[i - 1] ?? '',
      algo,
      Number(argv[3 * i]),
      Number(argv[3 * i + 1]),
      cost,
      nowMs
    )
    if (!r) return { err: `ERR unknown rate limit algorithm ${algo}` }
    if (!r.fits) allowed = 0
    results.push(r)
  }
  const reply: number[] = [allowed]
  for (const r of results) {
    if (allowed === 1) reply.push(r.L, r.rem1, r.reset1, 0)
    else reply.push(r.L, r.rem0, r.reset0, r.fits ? 0 : r.retry)
  }
  if (allowed === 1 && cost > 0) {
    results.forEach((r, i) => {
      const key = keys[i] ?? ''
      data.hset(key, ...r.w)
      data.pexpire(key, 2 * r.W)
    })
  }
  return reply
}

function asInt(value: RedisReply | undefined): number {
  if (typeof value !== 'number') throw new Error(`rateLimitCheck: bad reply element ${value}`)
  return value
}

/** Decodes `[allowed, (limit, remaining, resetAt, retryAfterMs) per limit]`. */
function decode(reply: RedisReply): CheckResult {
  if (!Array.isArray(reply) || reply.length < 5 || (reply.length - 1) % 4 !== 0) {
    throw new Error(`rateLimitCheck: unexpected reply ${JSON.stringify(reply)}`)
  }
  const allowed = asInt(reply[0]) === 1
  const limits: LimitResult[] = []
  for (let i = 1; i < reply.length; i += 4) {
    limits.push({
      limit: asInt(reply[i]),
      remaining: asInt(reply[i + 1]),
      resetAt: asInt(reply[i + 2]),
      retryAfterMs: asInt(reply[i + 3]),
    })
  }
  let tightest = limits[0] as LimitResult
  let retryAfterMs = 0
  let never = false
  for (const l of limits) {
    if (l.remaining < tightest.remaining) tightest = l
    if (l.retryAfterMs === -1) never = true
    else if (l.retryAfterMs > retryAfterMs) retryAfterMs = l.retryAfterMs
  }
  return {
    allowed,
    remaining: tightest.remaining,
    limit: tightest.limit,
    resetAt: tightest.resetAt,
    retryAfterMs: allowed ? 0 : never ? -1 : retryAfterMs,
    limits,
  }
}

/**
 * The multi-limit check op. KEYS: one per limit (same order, one shared `{hash tag}`); ARGV:
 * `[cost, n, (algorithm, limit, windowMs) × n]`.
 */
export const checkOp = defineOp<CheckInput, CheckResult>({
  name: 'rateLimitCheck',
  lua: LUA,
  js: checkJs,
  encode: (input) => {
    const argv = [String(input.cost), String(input.limits.length)]
    for (const l of input.limits) argv.push(l.algorithm, String(l.limit), String(l.windowMs))
    return argv
  },
  decode,
})
