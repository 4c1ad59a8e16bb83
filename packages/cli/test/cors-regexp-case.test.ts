/**
 * The `cors` item judges a RegExp origin as `cors()` compiles it: anchored, without `g`/`y`, and
 * case-insensitive (cors() compares origins in lower case and adds the `i` flag). So a pattern
 * written in capitals that lets in any site, with credentials, FAILs, and one that matches `null`
 * in any case (cors() refuses it at startup) FAILs. The doctor's compilation is pinned to
 * `@aikit/security`'s own (`compileOrigin`) on a set of patterns and origins.
 */
import { describe, expect, it } from 'vitest'
import { compileOrigin } from '../../security/src/cors-origin.js'
import { cors } from '../../security/src/index.js'
import { asCorsCompilesIt } from '../src/checks/http.js'
import { runDoctor } from '../src/index.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

const corsItem = (config: Record<string, unknown>) =>
  runDoctor({ env: GOOD_ENV, config }).items.find((i) => i.id === 'cors')

describe('cors: RegExp origins read case-insensitively, as cors() reads them', () => {
  it('FAILs an upper-case RegExp that cors() matches against any site, with credentials', () => {
    const origin = /HTTPS:\/\/[A-Z0-9.-]+/
    // cors() accepts it and lets any https site in.
    expect(cors({ origin, credentials: true })).toBeTypeOf('function')
    const matcher = compileOrigin(origin, true)
    expect(matcher.kind === 'list' && matcher.test('https://evil.invalid')).toBe(true)
    const found = corsItem({ ...GOOD_CONFIG, cors: { origin, credentials: true } })
    expect(found?.status).toBe('FAIL')
    expect(found?.detail).toContain('matches any site')
  })

  it('FAILs a RegExp matching `NULL` in capitals, which cors() refuses at startup', () => {
    const origin = /NULL|https:\/\/app\.example\.com/
    expect(() => cors({ origin })).toThrow(/null/)
    const found = corsItem({ ...GOOD_CONFIG, cors: { origin } })
    expect(found?.status).toBe('FAIL')
    expect(found?.detail).toContain("matches the origin 'null'")
  })

  it('still PASSes an upper-case RegExp naming the app only', () => {
    const origin = /HTTPS:\/\/(?:APP|ADMIN)\.EXAMPLE\.COM/
    expect(cors({ origin, credentials: true })).toBeTypeOf('function')
    expect(corsItem({ ...GOOD_CONFIG, cors: { origin, credentials: true } })?.status).toBe('PASS')
  })
})

describe('cors: the doctor compiles a RegExp exactly as cors() does', () => {
  const patterns = [
    /https:\/\/app\.example\.com/,
    /HTTPS:\/\/APP\.EXAMPLE\.COM/,
    /https:\/\/[A-Z]+\.example\.com/,
    /https:\/\/[a-z]+\.example\.com/gi,
    /https:\/\/app\.example\.com/y,
    /https:\/\/(?:a|b)\.example\.com(?::\d+)?/u,
    /Null/,
    /^https:\/\/x\.example\.com$/s,
  ]
  const origins = [
    'https://app.example.com',
    'https://admin.example.com',
    'https://a.example.com',
    'https://app.example.com:8443',
    'https://evil.invalid',
    'http://app.example.com',
    'https://x.example.com',
    'null',
  ]

  it.each(patterns.map((p) => [String(p), p] as const))('%s', (_, pattern) => {
    const compiled = asCorsCompilesIt(pattern)
    // cors() refuses a pattern that matches `null`: the doctor's compiled form matches it too.
    let matcher: ReturnType<typeof compileOrigin>
    try {
      matcher = compileOrigin(pattern, false)
    } catch (error) {
      expect(String(error)).toMatch(/null/)
      expect(compiled.test('null')).toBe(true)
      return
    }
    expect(compiled.test('null')).toBe(false)
    for (const origin of origins.filter((o) => o !== 'null')) {
      expect(compiled.test(origin), origin).toBe(matcher.kind === 'list' && matcher.test(origin))
      // Twice in a row: no `lastIndex` left over from `g` or `y`.
      expect(compiled.test(origin), origin).toBe(matcher.kind === 'list' && matcher.test(origin))
    }
  })
})
