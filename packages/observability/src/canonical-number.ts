/**
 * @module canonical-number
 * OpenMetrics 1.0 "Canonical Numbers", the rendering the `le` label of histogram buckets and the
 * `quantile` label of summaries must use: Go's default float64 rendering (`%g`: the shortest digits
 * that read back as the same number, exponent form when the decimal exponent is below -4 or at least
 * 6, exponent written with at least two digits) with `.0` appended when there is neither a decimal
 * point nor an exponent. So `1` → `1.0`, `0.005` → `0.005`, `100000` → `100000.0`,
 * `1048576` → `1.048576e+06`, `1e-5` → `1e-05`, `Infinity` → `+Inf`.
 */

/** Bounds seen so far; a histogram has a fixed handful, so this is computed once per bucket. */
const cache = new Map<number, string>()
/** A bound on the cache, against a caller feeding it arbitrary numbers. */
const MAX_CACHED = 4096

/** `value` rendered as an OpenMetrics canonical number (see the module comment). */
export function canonicalNumber(value: number): string {
  const cached = cache.get(value)
  if (cached !== undefined) return cached
  const text = render(value)
  // -0 and 0 are one Map key; -0 is not worth a cache entry of its own.
  if (cache.size < MAX_CACHED && !Object.is(value, -0)) cache.set(value, text)
  return text
}

function render(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0'
  // toExponential() without digits gives the shortest digits that round-trip, as Go's %g does.
  const exponential = value.toExponential()
  const e = exponential.indexOf('e')
  const exponent = Number(exponential.slice(e + 1))
  if (exponent < -4 || exponent >= 6) {
    const digits = Math.abs(exponent)
    return `${exponential.slice(0, e)}e${exponent < 0 ? '-' : '+'}${digits < 10 ? '0' : ''}${digits}`
  }
  // In this range String() is positional with the same shortest digits.
  const fixed = String(value)
  return fixed.includes('.') ? fixed : `${fixed}.0`
}
