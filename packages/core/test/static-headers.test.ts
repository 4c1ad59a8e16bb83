import { compose, type Middleware } from '@aikit/core'
import {
  markStaticHeaders,
  STATIC_HEADERS,
  type StaticHeaderList,
  splitStaticHeaders,
} from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'

// compose's run-first mark (a registered symbol; securityHeaders() sets it the same way).
const RUNS_FIRST = Symbol.for('@aikit/core.runs-first')

const list = (pairs: [string, string][], removePoweredBy = false): StaticHeaderList => ({
  names: pairs.map((p) => p[0]),
  lowerNames: pairs.map((p) => p[0].toLowerCase()),
  values: pairs.map((p) => p[1]),
  removePoweredBy,
})

/** A header-only middleware as securityHeaders() builds it: marked to run first and static. */
function headerOnly(pairs: [string, string][], removePoweredBy = false): Middleware {
  const fn: Middleware = (ctx, next) => {
    for (const [n, v] of pairs) ctx.setHeader(n, v)
    return next()
  }
  Object.defineProperty(fn, RUNS_FIRST, { value: true })
  return markStaticHeaders(fn, list(pairs, removePoweredBy))
}

const plain = (name: string): Middleware =>
  Object.defineProperty(async (_ctx, next) => next(), 'name', { value: name }) as Middleware

describe('splitStaticHeaders', () => {
  it('takes the header-only middleware that run first and leaves the rest in run order', () => {
    const a = plain('a')
    const b = plain('b')
    const h = headerOnly([['X-One', '1']])
    // compose runs `h` first wherever it is listed; the split follows compose's order.
    const { headers, rest } = splitStaticHeaders([a, h, b])
    expect(headers?.names).toEqual(['X-One'])
    expect(rest).toEqual([a, b])
  })

  it('merges several lists in order (a later one overwrites a header, as when run) and ORs X-Powered-By', () => {
    const h1 = headerOnly([['X-Frame-Options', 'SAMEORIGIN']])
    const h2 = headerOnly(
      [
        ['X-Frame-Options', 'DENY'],
        ['X-Two', '2'],
      ],
      true
    )
    const { headers, rest } = splitStaticHeaders([h1, h2])
    expect(rest).toEqual([])
    expect(headers).toEqual({
      names: ['X-Frame-Options', 'X-Frame-Options', 'X-Two'],
      lowerNames: ['x-frame-options', 'x-frame-options', 'x-two'],
      values: ['SAMEORIGIN', 'DENY', '2'],
      removePoweredBy: true,
    })
  })

  it('keeps a header-only middleware in place when a run-first middleware with other effects comes before it', () => {
    const dynamic: Middleware = (_ctx, next) => next()
    Object.defineProperty(dynamic, RUNS_FIRST, { value: true })
    const h = headerOnly([['X-One', '1']])
    const { headers, rest } = splitStaticHeaders([dynamic, h])
    expect(headers).toBeUndefined()
    expect(rest).toEqual([dynamic, h])
  })

  it('finds a header-only middleware inside a nested compose()', () => {
    const a = plain('a')
    const h = headerOnly([['X-One', '1']])
    const { headers, rest } = splitStaticHeaders([compose(a, h)])
    expect(headers?.values).toEqual(['1'])
    expect(rest).toEqual([a])
  })

  it('ignores a malformed mark (lengths that differ, not arrays)', () => {
    const bad = plain('bad')
    Object.defineProperty(bad, STATIC_HEADERS, {
      value: { names: ['X-A'], lowerNames: ['x-a'], values: [], removePoweredBy: false },
    })
    const worse = plain('worse')
    Object.defineProperty(worse, STATIC_HEADERS, { value: 'X-A: 1' })
    expect(splitStaticHeaders([bad, worse]).headers).toBeUndefined()
  })

  it('returns no headers for a chain without header-only middleware', () => {
    const a = plain('a')
    expect(splitStaticHeaders([a])).toEqual({ headers: undefined, rest: [a] })
    expect(splitStaticHeaders([])).toEqual({ headers: undefined, rest: [] })
  })
})
