/**
 * @module algorithms
 * The four algorithms' arithmetic, shared shape for both op bodies. Each limit keeps a small
 * state of two or three integers (`a`, `b`, `c`); the Lua script stores it as the string
 * `"a:b"` / `"a:b:c"` (one GET/SET per key, cheaper for Redis than a hash), the memory store keeps
 * the numbers in an object. All values are integers below 2^53 (the limiter checks
 * `limit × windowMs ≤ 2^52`, and debt is capped at one extra window), every division is
 * `floor`ed the same way in Lua and JavaScript, and fractional quantities are kept scaled by
 * `limit` or `windowMs` instead of as floats:
 *
 * - `gcra`: `a:b` = the theoretical arrival time `a + b/limit` ms (emission interval
 *   `windowMs/limit`, burst `limit`). Allowed when the new TAT is at most `windowMs` ahead.
 * - `fixed-window`: `a:b` = window start (`floor(now/windowMs)*windowMs`), count.
 * - `sliding-window`: `a:b:c` = current window start, its count, the previous window's count;
 *   count = `floor(c * (windowMs - elapsed) / windowMs) + b`.
 * - `token-bucket`: `a:b` = credit in token·ms (tokens × windowMs, negative when in debt), time of
 *   the last update; refills `limit` tokens per `windowMs` up to `limit`. Missing = full.
 *
 * Every written key expires after `2 × windowMs`, always longer than its state matters (a missing
 * key is exactly the initial state, debt included).
 */

/** The algorithms the limiter implements. */
export type Algorithm = 'gcra' | 'fixed-window' | 'sliding-window' | 'token-bucket'

/** The algorithms, in documentation order. */
export const ALGORITHMS: readonly Algorithm[] = [
  'gcra',
  'fixed-window',
  'sliding-window',
  'token-bucket',
]

/** One resolved limit as the ops receive it. */
export interface OpLimit {
  readonly algorithm: Algorithm
  /** Positive integer. */
  readonly limit: number
  /** Positive integer milliseconds. */
  readonly windowMs: number
}

/** A limit's state in the memory store (the Lua script keeps the same integers as a string). */
export interface LimitState {
  a: number
  b: number
  c: number
}

/**
 * Lua: `parseState(v)` → `has, a, b, c` from a stored `"a:b"` / `"a:b:c"` value (`false, 0, 0, 0`
 * when missing or malformed). Shared by the check and adjust scripts.
 */
export const LUA_PARSE_STATE = `local function parseState(v)
  if v then
    local x, y, z = string.match(v, '^(%-?%d+):(%-?%d+):?(%-?%d*)$')
    if x then return true, tonumber(x), tonumber(y), tonumber(z) or 0 end
  end
  return false, 0, 0, 0
end
`

/**
 * `x` as a small integer when it is one, for a state field. Integer results of float arithmetic
 * (`nd - q * L`, a credit, a count read back) are doubles to V8, and one that is zero could be -0,
 * so an optimised store into a state object boxes it in a new heap number each time. On Node 24
 * (V8 13) those boxes are young garbage held by old state objects: a GCRA check over 100k keys,
 * whose `b` is 0 at every step of a limit that divides its window, ran at 0.57x Node 20's rate.
 * An int32 is stored unboxed. -0 becomes 0 (no state field is ever -0 in the Lua script).
 */
export function compact(x: number): number {
  const i = x | 0
  return i === x ? i : x
}
