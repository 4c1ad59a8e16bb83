/**
 * @module adjust-op
 * Unconditional adjustments of consumed units, for `reserve` → `settle` / `release` and penalties:
 * a negative `units` refunds, a positive one charges without checking (debt, capped at one extra
 * window so the arithmetic stays exact and a huge charge cannot lock a key out for long).
 *
 * A refund gives back only what the reservation still holds, never capacity that has drained since
 * and may already have been taken again (which would admit more than the burst at one instant).
 * Each limit gets a `taken` mark from the reservation's result:
 * - window algorithms: the start of the window the units were counted in. The refund goes back to
 *   that window: nothing once it has passed (fixed window), the previous-window count in the next
 *   one (sliding window).
 * - GCRA and token bucket: the reservation's `resetAt` (store clock), when the limit would have
 *   been whole again had nothing been taken after it. The reserved units drain (GCRA) / refill
 *   (token bucket) at `limit` scaled units per ms, the oldest first, so at `nowMs` at most
 *   `max(0, taken - nowMs) × limit` scaled units of them are outstanding: the refund is capped at
 *   that (`units × windowMs` being all of them). `resetAt` is rounded up to the ms, so the cap errs
 *   by less than 1 ms of refill.
 * Charges land in the current window / state, whatever `taken` says.
 *
 * A refund also gives nothing back to a limit reset (`resetOp`) since the reservation: the reset
 * already gave its units back, and they may have been taken again. Each reset raises the limit's
 * stamp; a stamp above the one the reservation saw (`seen`) means a reset came after it.
 *
 * KEYS: one per limit, then, with `seen`, one reset stamp per limit (same `{hash tag}`). ARGV:
 * `[units, n, (algorithm, limit, windowMs, taken) × n]`, then `seen × n` if given. Reply: 1.
 */
import { defineOp, LUA_NOW_MS, type NativeData } from '@aikit/core'
import { compact, type LimitState, LUA_PARSE_STATE, type OpLimit } from './algorithms.js'
import { absentAmong } from './new-keys.js'

/** Input of the op. */
export interface AdjustInput {
  readonly limits: readonly OpLimit[]
  /** Signed integer: < 0 refunds, > 0 charges. */
  readonly units: number
  /**
   * Per limit, where a refund's units were taken (see the module doc): the start of their window
   * (fixed / sliding window) or the reservation's `resetAt` (GCRA, token bucket). Ignored by charges.
   */
  readonly taken: readonly number[]
  /**
   * A refund's reservation: the reset stamps its check saw (`ReserveOutcome.seen`). KEYS then also
   * holds each limit's reset stamp key, after the limit keys: a limit whose stamp is higher now (a
   * reset since) gets nothing.
   */
  readonly seen?: readonly number[]
}

const LUA = `${LUA_NOW_MS}${LUA_PARSE_STATE}local floor = math.floor
local fmt = string.format
local units = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local vals = redis.call('MGET', unpack(KEYS))
for i = 1, n do
  local algo = ARGV[4 * i - 1]
  local L = tonumber(ARGV[4 * i])
  local W = tonumber(ARGV[4 * i + 1])
  local taken = tonumber(ARGV[4 * i + 2])
  local u = units
  -- A refund of units a reset since the reservation already gave back: none.
  local stale = false
  local seen = tonumber(ARGV[4 * n + 2 + i])
  if u < 0 and seen then
    local stamp = tonumber(vals[n + i])
    stale = stamp ~= nil and stamp > seen
  end
  if u > 2 * L then u = 2 * L elseif u < -2 * L then u = -2 * L end
  local has, a, b, c = parseState(vals[i])
  local cap = L * W
  local nv = false
  -- GCRA and token bucket, scaled: the change, a refund capped at what is still outstanding.
  local du = u * W
  if u < 0 then
    local held = (taken - nowMs) * L
    if held < 0 then held = 0 end
    if du < -held then du = -held end
  end
  if stale then
    nv = false
  elseif algo == 'gcra' then
    local d = 0
    -- A TAT beyond the most debt allows (a clock stepped back since, see check-op): clamped first.
    local fix = false
    if has and a >= nowMs then d = (a - nowMs) * L + b end
    if d > 2 * cap then
      d = 2 * cap
      fix = true
    end
    local nd = d + du
    if nd < 0 then nd = 0 end
    if nd > 2 * cap then nd = 2 * cap end
    if nd ~= d or fix then
      local q = floor(nd / L)
      nv = fmt('%d:%d', nowMs + q, nd - q * L)
    end
  elseif algo == 'fixed-window' then
    if u < 0 then
      if has and a == taken then
        local nc = b + u
        if nc < 0 then nc = 0 end
        nv = fmt('%d:%d', a, nc)
      end
    else
      local ws = floor(nowMs / W) * W
      local count = 0
      if has and a == ws then count = b end
      local nc = count + u
      if nc > 2 * L then nc = 2 * L end
      nv = fmt('%d:%d', ws, nc)
    end
  elseif algo == 'sliding-window' then
    if u < 0 then
      if has and a == taken then
        local nb = b + u
        if nb < 0 then nb = 0 end
        nv = fmt('%d:%d:%d', a, nb, c)
      elseif has and a == taken + W then
        local nc = c + u
        if nc < 0 then nc = 0 end
        nv = fmt('%d:%d:%d', a, b, nc)
      end
    else
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
      cur = cur + u
      if cur > 2 * L then cur = 2 * L end
      nv = fmt('%d:%d:%d', ws, cur, prev)
    end
  elseif algo == 'token-bucket' then
    local credit = cap
    if has then
      local el = nowMs - b
      if el < 0 then el = 0 end
      if el > 2 * W then el = 2 * W end
      credit = a + el * L
      if credit > cap then credit = cap end
    end
    local k = credit - du
    if k > cap then k = cap end
    if k < -cap then k = -cap end
    if k ~= credit or has then nv = fmt('%d:%d', k, nowMs) end
  else
    return redis.error_reply('ERR unknown rate limit algorithm ' .. tostring(algo))
  end
  if nv then redis.call('SET', KEYS[i], nv, 'PX', 2 * W) end
end
return 1
`

const floor = Math.floor

/** The JavaScript twin of one iteration of the Lua loop: the new state, or `undefined` to leave it. */
function adjusted(
  state: LimitState | undefined,
  algo: string,
  L: number,
  W: number,
  units: number,
  taken: number,
  nowMs: number
): LimitState | undefined {
  const u = Math.max(-2 * L, Math.min(2 * L, units))
  const has = state !== undefined
  const a = state?.a ?? 0
  const b = state?.b ?? 0
  const c = state?.c ?? 0
  const cap = L * W
  // GCRA and token bucket, scaled: the change, a refund capped at what is still outstanding.
  let du = u * W
  if (u < 0) {
    let held = (taken - nowMs) * L
    if (held < 0) held = 0
    if (du < -held) du = -held
  }
  if (algo === 'gcra') {
    let d = has && a >= nowMs ? (a - nowMs) * L + b : 0
    // A TAT beyond the most debt allows (a clock stepped back since, see check-op): clamped first.
    const fix = d > 2 * cap
    if (fix) d = 2 * cap
    let nd = d + du
    if (nd < 0) nd = 0
    if (nd > 2 * cap) nd = 2 * cap
    if (nd === d && !fix) return undefined
    const q = floor(nd / L)
    return { a: nowMs + q, b: nd - q * L, c: 0 }
  }
  if (algo === 'fixed-window') {
    if (u < 0) return has && a === taken ? { a, b: Math.max(0, b + u), c: 0 } : undefined
    const ws = floor(nowMs / W) * W
    const count = has && a === ws ? b : 0
    return { a: ws, b: Math.min(2 * L, count + u), c: 0 }
  }
  if (algo === 'sliding-window') {
    if (u < 0) {
      if (has && a === taken) return { a, b: Math.max(0, b + u), c }
      if (has && a === taken + W) return { a, b, c: Math.max(0, c + u) }
      return undefined
    }
    const ws = floor(nowMs / W) * W
    let cur = 0
    let prev = 0
    if (has) {
      if (a === ws) {
        cur = b
        prev = c
      } else if (a === ws - W) {
        prev = b
      }
    }
    return { a: ws, b: Math.min(2 * L, cur + u), c: prev }
  }
  if (algo === 'token-bucket') {
    let credit = cap
    if (has) {
      let el = nowMs - b
      if (el < 0) el = 0
      if (el > 2 * W) el = 2 * W
      credit = a + el * L
      if (credit > cap) credit = cap
    }
    let k = credit - du
    if (k > cap) k = cap
    if (k < -cap) k = -cap
    return k !== credit || has ? { a: k, b: nowMs, c: 0 } : undefined
  }
  throw new Error(`ERR unknown rate limit algorithm ${algo}`)
}

function adjustNative(
  data: NativeData,
  keys: readonly string[],
  input: AdjustInput,
  nowMs: number
): number {
  const n = input.limits.length
  const { seen } = input
  input.limits.forEach((l, i) => {
    const key = keys[i] as string
    // A refund of units a reset since the reservation already gave back: none.
    const saw = seen?.[i]
    if (input.units < 0 && saw !== undefined) {
      const stamp = data.get(keys[n + i] as string) as number | undefined
      if (stamp !== undefined && stamp > saw) return
    }
    const next = adjusted(
      data.get(key) as LimitState | undefined,
      l.algorithm,
      l.limit,
      l.windowMs,
      input.units,
      input.taken[i] ?? 0,
      nowMs
    )
    if (next !== undefined) {
      // Stored unboxed where the fields are small integers (see `compact`).
      next.a = compact(next.a)
      next.b = compact(next.b)
      next.c = compact(next.c)
      data.set(key, next, 2 * l.windowMs)
    }
  })
  return 1
}

/** The adjustment op (refund or forced charge on every limit of a key). */
export const adjustOp = defineOp<AdjustInput, number>({
  name: 'rateLimitAdjust',
  lua: LUA,
  native: adjustNative,
  // The reset stamps are only read.
  newKeys: (keys, input, holds) => absentAmong(keys, input.limits.length, holds),
  encode: (input) => {
    const argv = [String(input.units), String(input.limits.length)]
    input.limits.forEach((l, i) => {
      argv.push(l.algorithm, String(l.limit), String(l.windowMs), String(input.taken[i] ?? 0))
    })
    if (input.seen !== undefined) for (const stamp of input.seen) argv.push(String(stamp))
    return argv
  },
  decode: (reply) => {
    if (reply !== 1) throw new Error(`rateLimitAdjust: unexpected reply ${JSON.stringify(reply)}`)
    return 1
  },
})
