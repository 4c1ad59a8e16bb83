import { combineHeader, mergeVary, splitCookies } from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

describe('merging middleware headers with the route’s own', () => {
  it('Vary: union of tokens, case-insensitive, order kept; * absorbs everything', () => {
    expect(mergeVary('Accept-Encoding', 'Origin')).toBe('Accept-Encoding, Origin')
    expect(mergeVary('accept-encoding, origin', 'Origin, Cookie')).toBe(
      'accept-encoding, origin, Cookie'
    )
    expect(mergeVary('Origin', '*')).toBe('*')
    expect(mergeVary('', 'Origin')).toBe('Origin')
  })

  it('Set-Cookie: every cookie of both sides, as separate values, the route’s last (it wins)', () => {
    expect(combineHeader('set-cookie', ['a=1'], 'b=2\nc=3')).toEqual(['b=2', 'c=3', 'a=1'])
    expect(combineHeader('set-cookie', 'a=1', 'b=2')).toEqual(['b=2', 'a=1'])
    // A browser keeps the last of two cookies of one name: the route's.
    expect(combineHeader('set-cookie', 'session=new', 'session=old')).toEqual([
      'session=old',
      'session=new',
    ])
    expect(combineHeader('set-cookie', undefined, 'b=2')).toEqual(['b=2'])
  })

  it('any other header: the route’s value wins, ours fills a gap', () => {
    expect(combineHeader('x-frame-options', 'SAMEORIGIN', 'DENY')).toBeUndefined()
    expect(combineHeader('x-frame-options', undefined, 'DENY')).toBe('DENY')
  })

  it('appendHeader keeps cookies apart and joins other lists with a comma', () => {
    const ctx = new TestContext({})
    ctx.appendHeader('Set-Cookie', 'a=1')
    ctx.appendHeader('Set-Cookie', 'b=2')
    ctx.appendHeader('Vary', 'Origin')
    ctx.appendHeader('Vary', 'Cookie')
    const pending = new Map(ctx.beforeHead(200) ?? [])
    expect(splitCookies(pending.get('Set-Cookie') ?? '')).toEqual(['a=1', 'b=2'])
    expect(pending.get('Vary')).toBe('Origin, Cookie')
  })

  it('appendHeader refuses a value with a newline (header injection)', () => {
    const ctx = new TestContext({})
    ctx.appendHeader('Set-Cookie', 'a=1')
    expect(() => ctx.appendHeader('Set-Cookie', 'b=2\nx-evil: 1')).toThrow(/Invalid value/)
  })
})
