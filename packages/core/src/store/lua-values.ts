/**
 * @module store/lua-values
 * How Redis converts Lua values, reproduced in JavaScript so the memory store returns exactly what a
 * script returns.
 */
import type { JsReply, RedisReply } from './types.js'

const INT64_MIN = -(2 ** 63)
const INT64_LIMIT = 2 ** 63

/** C `printf("%.<precision>g", n)` for a double. */
export function formatG(n: number, precision: number): string {
  if (Number.isNaN(n)) return 'nan'
  if (n === Number.POSITIVE_INFINITY) return 'inf'
  if (n === Number.NEGATIVE_INFINITY) return '-inf'
  if (n === 0) return Object.is(n, -0) ? '-0' : '0'
  const [mantissa = '', expText = '0'] = n.toExponential(precision - 1).split('e')
  const exp = Number(expText)
  if (exp < -4 || exp >= precision) {
    const m = stripZeros(mantissa)
    const sign = exp < 0 ? '-' : '+'
    const digits = String(Math.abs(exp)).padStart(2, '0')
    return `${m}e${sign}${digits}`
  }
  return stripZeros(n.toFixed(precision - 1 - exp))
}

function stripZeros(text: string): string {
  if (!text.includes('.')) return text
  return text.replace(/\.?0+$/, '')
}

/**
 * A Lua number passed as an argument to `redis.call` (e.g. `redis.call('SET', k, 0.1)` stores
 * `0.10000000000000001`): Redis formats it with `%.17g`.
 */
export function luaArg(n: number): string {
  return formatG(n, 17)
}

/** Lua's own number-to-string (`tostring(n)`, `n .. ''`): `%.14g`. */
export function luaToString(n: number): string {
  return formatG(n, 14)
}

/** A Lua number returned from a script becomes an integer reply: truncated toward zero. */
export function luaInteger(n: number): number {
  if (!Number.isFinite(n)) return INT64_MIN
  const t = Math.trunc(n)
  if (t >= INT64_LIMIT || t < INT64_MIN) return INT64_MIN
  return t === 0 ? 0 : t
}

/** Converts a value returned by an op's `js` function exactly as Redis converts a Lua return value. */
export function toRedisReply(value: JsReply): RedisReply {
  if (value === null || value === undefined || value === false) return null
  if (value === true) return 1
  if (typeof value === 'number') return luaInteger(value)
  if (typeof value === 'string') return value
  if (Array.isArray(value)) {
    const out: RedisReply[] = []
    for (const item of value as readonly JsReply[]) {
      if (item === null || item === undefined) break
      out.push(toRedisReply(item))
    }
    return out
  }
  if ('err' in value && typeof value.err === 'string') throw new Error(value.err)
  if ('ok' in value && typeof value.ok === 'string') return value.ok
  return []
}
