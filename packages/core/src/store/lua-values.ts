/**
 * @module store/lua-values
 * How Redis converts Lua values, reproduced in JavaScript so the memory store returns exactly what a
 * script returns.
 */
import type { JsReply, RedisReply } from './types.js'

const INT64_MIN = -(2 ** 63)
const INT64_LIMIT = 2 ** 63

/**
 * C `printf("%.<precision>g", n)` for a double (`precision` 1 to 17), as glibc prints it: the exact
 * binary value rounded to `precision` significant digits, a value exactly halfway between two
 * outputs to the even one. JavaScript's `toExponential` and `toFixed` round such a tie up (away
 * from zero), so their output is corrected on a tie (see `isDecimalTie`).
 */
export function formatG(n: number, precision: number): string {
  if (Number.isNaN(n)) return 'nan'
  if (n === Number.POSITIVE_INFINITY) return 'inf'
  if (n === Number.NEGATIVE_INFINITY) return '-inf'
  if (n === 0) return Object.is(n, -0) ? '-0' : '0'
  const [rounded = '', expText = '0'] = n.toExponential(precision - 1).split('e')
  const exp = Number(expText)
  // Digits kept after the decimal point, in the exponent form and the fixed form alike.
  const scale = precision - 1 - exp
  if (exp < -4 || exp >= precision) {
    const m = stripZeros(halfToEven(rounded, n, scale))
    const sign = exp < 0 ? '-' : '+'
    const digits = String(Math.abs(exp)).padStart(2, '0')
    return `${m}e${sign}${digits}`
  }
  return stripZeros(halfToEven(n.toFixed(scale), n, scale))
}

/**
 * `text`, `n` rounded half up to `scale` digits after the decimal point (negative: to a multiple
 * of 10^-scale; the digits in `text` then stop at the last one kept), rounded half to even
 * instead. On a tie the half-up result ends in an odd digit L + 1 exactly when the even neighbour
 * is L: that digit is lowered by one (an odd digit, so no borrow). A tie whose rounding carried
 * (…9.5 -> …0) ends in 0 and is left alone, rightly: the digit below, 9, was odd.
 */
function halfToEven(text: string, n: number, scale: number): string {
  const last = text.charCodeAt(text.length - 1)
  // Even last digit (half of all outputs): nothing to correct, whatever the value.
  if ((last & 1) === 0 || !isDecimalTie(n, scale)) return text
  return text.slice(0, -1) + String.fromCharCode(last - 1)
}

const BITS = new Float64Array(1)
const WORDS = new Uint32Array(BITS.buffer)
/** Index of the high word of a double in `WORDS` (the platform's byte order). */
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0
const LOW = 1 - HIGH
const TWO_32 = 2 ** 32

/**
 * Whether `n` (finite, not 0) lies exactly halfway between two multiples of 10^-scale, i.e.
 * `|n| * 10^scale` is an odd multiple of 1/2. With `|n| = m * 2^q` (m odd), that holds exactly when
 * q + scale = -1 and, for a negative scale, 5^-scale divides m (10^scale = 2^scale * 5^scale, and 5
 * is odd). Integer arithmetic on the double's bits: exact, and a few operations.
 */
function isDecimalTie(n: number, scale: number): boolean {
  BITS[0] = n
  const high = (WORDS[HIGH] as number) & 0x7fffffff
  const low = WORDS[LOW] as number
  const biased = high >>> 20
  const top = biased === 0 ? high & 0xfffff : (high & 0xfffff) | 0x100000
  // q of the significand as an integer, then made odd by its trailing zero bits.
  let q = biased === 0 ? -1074 : biased - 1075
  let trailing: number
  if (low !== 0) trailing = 31 - Math.clz32(low & -low)
  else trailing = 32 + 31 - Math.clz32(top & -top)
  q += trailing
  if (q + scale !== -1) return false
  if (scale >= 0) return true
  // m < 2^53 < 5^23: a larger power of 5 cannot divide it.
  if (-scale > 22) return false
  const m = (top * TWO_32 + low) / 2 ** trailing
  return m % 5 ** -scale === 0
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
