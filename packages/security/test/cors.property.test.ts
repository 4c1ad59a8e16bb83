/**
 * Property tests for origin matching: no input crashes or hangs the matcher; `null` and anything
 * that is not a serialised origin never match; an allowed origin with any suffix, prefix or other
 * scheme does not match.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileOrigin, normalizeOrigin } from '../src/cors-origin.js'

const matcher = compileOrigin(
  [
    'https://app.example.com',
    'http://localhost:3000',
    'https://*.example.org',
    /https:\/\/[a-z]+\.example\.net/,
  ],
  true
)
const test = (o: string): boolean => (matcher.kind === 'list' ? matcher.test(o) : false)

describe('origin matching properties', () => {
  it('never throws, never matches null-ish or path-carrying values', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 64 }),
          fc.string({ unit: 'binary', maxLength: 64 }),
          fc.webUrl()
        ),
        (s) => {
          const allowed = test(s)
          if (allowed) {
            expect(normalizeOrigin(s)).toBeDefined()
            expect(s).not.toMatch(/[/?#]\w*$|\s/)
          }
          expect(test('null')).toBe(false)
        }
      ),
      { numRuns: 1000 }
    )
  })

  it('rejects any suffix, prefix, or scheme change of an allowed origin', () => {
    const base = fc.constantFrom(
      'https://app.example.com',
      'https://a.example.org',
      'https://api.example.net'
    )
    fc.assert(
      fc.property(base, fc.string({ minLength: 1, maxLength: 20 }), (origin, junk) => {
        expect(test(origin)).toBe(true)
        const suffixed = origin + junk
        if (test(suffixed)) {
          // Only a longer host label that is itself a valid subdomain may match (patterns).
          expect(suffixed).toMatch(/^https:\/\/[a-z0-9.-]+\.example\.(org|net)$/)
        }
        expect(test(junk + origin)).toBe(false)
        expect(test(origin.replace('https://', 'http://'))).toBe(false)
      }),
      { numRuns: 1000 }
    )
  })

  it('handles very long inputs in linear time (no ReDoS)', () => {
    const long = `https://${'a.'.repeat(20_000)}example.org`
    expect(test(long)).toBe(false)
    expect(test(`https://${'a'.repeat(100_000)}`)).toBe(false)
  })
})
