/**
 * Property tests for the CSP builder: any input either throws InvalidOptionsError at construction
 * or yields a header with one directive per entry, no `,`, no control characters, no unquoted
 * keyword, and the nonce exactly where asked. No crash, no hang.
 */
import { InvalidOptionsError } from '@aikit/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileCsp } from '../src/csp.js'

const KEYWORDS = ['self', 'none', 'unsafe-inline', 'strict-dynamic', 'nonce-abc', 'sha256-x']
const token = fc.oneof(
  fc.constantFrom(
    ...KEYWORDS,
    ...KEYWORDS.map((k) => `'${k}'`),
    'https:',
    'data:',
    '*.example.com'
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 })
)
const name = fc.oneof(
  fc.constantFrom(
    'script-src',
    'scriptSrc',
    'img-src',
    'imgSrc',
    'default-src',
    'report-uri',
    'Bad',
    'a-'
  ),
  fc.string({ maxLength: 10 })
)
const value = fc.oneof(token, fc.array(token, { maxLength: 4 }), fc.constant(null))
const directives = fc.dictionary(name, value, { maxKeys: 6 })

function render(options: unknown): string | undefined {
  let header: string | undefined
  const ctx = {
    state: {},
    headersSent: false,
    setHeader: (_n: string, v: string) => {
      header = v
    },
  }
  compileCsp(options, 'csp').apply(ctx as never)
  return header
}

describe('CSP builder properties', () => {
  it('either refuses at construction or builds a well-formed header', () => {
    fc.assert(
      fc.property(directives, fc.boolean(), fc.boolean(), (dirs, useDefaults, nonce) => {
        let header: string | undefined
        try {
          header = render({ directives: dirs, useDefaults, nonce })
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidOptionsError)
          return
        }
        expect(typeof header).toBe('string')
        const h = header as string
        expect(
          [...h].some((c) => c === ',' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
        ).toBe(false)
        const parts = h.split(';')
        const names = parts.map((p) => p.split(' ')[0])
        expect(new Set(names).size).toBe(names.length)
        for (const p of parts) {
          for (const t of p.split(' ').slice(1)) {
            expect(['self', 'none', 'unsafe-inline', 'strict-dynamic']).not.toContain(t)
            expect(t.startsWith('nonce-')).toBe(false)
          }
        }
        const nonces = h.match(/'nonce-[A-Za-z0-9+/]{24}'/g) ?? []
        expect(nonces.length).toBe(nonce ? 1 : 0)
      }),
      { numRuns: 500 }
    )
  })

  it('builds the same static header every time (built once, no per-request state)', () => {
    fc.assert(
      fc.property(directives, (dirs) => {
        let first: string | undefined
        try {
          first = render({ directives: dirs })
        } catch {
          return
        }
        expect(render({ directives: dirs })).toBe(first)
      }),
      { numRuns: 200 }
    )
  })
})
