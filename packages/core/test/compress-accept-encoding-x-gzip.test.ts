/**
 * `Accept-Encoding: x-gzip` is taken as gzip (RFC 9110 §8.4.1.3: "a recipient SHOULD consider
 * x-gzip to be equivalent to gzip"), with its weight.
 */
import { negotiateEncoding, parseAcceptEncoding } from '@aikit/core/compress'
import { describe, expect, it } from 'vitest'

describe('Accept-Encoding x-gzip', () => {
  it('negotiates gzip for x-gzip', () => {
    expect(negotiateEncoding('x-gzip', ['br', 'gzip'])).toBe('gzip')
    expect(negotiateEncoding('X-GZIP;q=0.5, identity;q=0.1', ['br', 'gzip'])).toBe('gzip')
  })

  it('weighs x-gzip as gzip (the higher weight when both are named)', () => {
    expect(parseAcceptEncoding('x-gzip;q=0.4')).toEqual(new Map([['gzip', 0.4]]))
    expect(parseAcceptEncoding('gzip;q=0.2, x-gzip;q=0.7').get('gzip')).toBe(0.7)
    expect(negotiateEncoding('x-gzip;q=0.5, br;q=0.4', ['br', 'gzip'])).toBe('gzip')
  })
})
