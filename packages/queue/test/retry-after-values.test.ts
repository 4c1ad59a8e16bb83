/**
 * `retry-after` is seconds or an HTTP-date (RFC 9110). Anything else is no wait the provider
 * asked for: the retry falls back to the exponential backoff. `Date.parse` alone read `-1` or
 * `x 1` as dates in 2001 (a wait of 0: a 1 ms retry hammering a provider that asked us to slow
 * down); two `retry-after: N` headers, joined by `Headers.get` as `N, N`, wait N seconds.
 */
import { describe, expect, it } from 'vitest'
import { retryAfterMs, retryDelay } from '../src/retry.js'

const err = (status: number, headers: Record<string, string>) =>
  Object.assign(new Error(`${status}`), { status, headers: new Headers(headers) })

describe('retry-after values', () => {
  it.each(['-1', 'x 1', '1 1', 'soon', '2001-01-01', 'Sun, 06 Nov 1994'])(
    'ignores %j (the backoff applies, not a 1 ms retry)',
    (value) => {
      expect(retryAfterMs(err(429, { 'retry-after': value }))).toBeUndefined()
      // Backoff for attempt 1 with base 1000 ms and no jitter spread: 500..1000 ms.
      expect(retryDelay(err(429, { 'retry-after': value }), 1, 1000, 300_000, () => 0)).toBe(500)
    }
  )

  it('reads seconds, and joined duplicate headers as the longer wait', () => {
    expect(retryAfterMs(err(429, { 'retry-after': '2' }))).toBe(2000)
    expect(retryAfterMs(err(429, { 'retry-after': '1.5' }))).toBe(1500)
    const joined = new Headers()
    joined.append('retry-after', '1')
    joined.append('retry-after', '3')
    expect(joined.get('retry-after')).toBe('1, 3')
    expect(retryAfterMs(Object.assign(new Error('429'), { status: 429, headers: joined }))).toBe(
      3000
    )
  })

  it('reads the three HTTP-date forms', () => {
    const now = Date.parse('Sun, 06 Nov 1994 08:49:30 GMT')
    for (const value of [
      'Sun, 06 Nov 1994 08:49:37 GMT',
      'Sunday, 06-Nov-94 08:49:37 GMT',
      'Sun Nov  6 08:49:37 1994',
    ]) {
      expect(retryAfterMs(err(429, { 'retry-after': value }), now), value).toBe(7000)
    }
  })
})
