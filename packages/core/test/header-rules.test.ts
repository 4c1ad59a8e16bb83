/**
 * Header names and values are checked as Node and the Web `Headers` check them, when a middleware
 * sets them (a value refused later, while the head is written, would leave the request with no
 * response); the framing and connection headers are the adapter's and refused; onHeaders hooks registered by a hook still run; an AikitError's status is used only
 * when it is an error status.
 */
import { AikitError, compose, errorStatus } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    return (error as AikitError).code
  }
  return undefined
}

describe('header rules', () => {
  it.each([
    ['a control character', 'x-a', 'a\u0001b'],
    ['DEL', 'x-a', 'a\u007fb'],
    ['a character above U+00FF', 'x-user', '张伟'],
    ['CR LF', 'x-a', 'a\r\nSet-Cookie: x=1'],
    ['a name with a space and a colon', 'X Bad:Name', 'v'],
    ['an empty name', '', 'v'],
  ])('setHeader refuses %s with INVALID_HEADER', (_what, name, value) => {
    const ctx = new TestContext()
    expect(codeOf(() => ctx.setHeader(name, value))).toBe('INVALID_HEADER')
    expect(codeOf(() => ctx.appendHeader(name, value))).toBe('INVALID_HEADER')
  })

  it.each([
    'Content-Length',
    'transfer-encoding',
    'Trailer',
    'Connection',
    'Keep-Alive',
    'Proxy-Connection',
    'TE',
    'Upgrade',
  ])('setHeader and appendHeader refuse the framing header %s with INVALID_HEADER', (name) => {
    const ctx = new TestContext()
    expect(codeOf(() => ctx.setHeader(name, '5'))).toBe('INVALID_HEADER')
    expect(codeOf(() => ctx.appendHeader(name, '5'))).toBe('INVALID_HEADER')
  })

  it('setHeader takes Connection: close (closing the connection after the response)', () => {
    const ctx = new TestContext()
    expect(codeOf(() => ctx.setHeader('Connection', 'close'))).toBeUndefined()
    expect(codeOf(() => ctx.setHeader('connection', ' Close '))).toBeUndefined()
    expect(codeOf(() => ctx.setHeader('Connection', 'keep-alive'))).toBe('INVALID_HEADER')
    expect(codeOf(() => ctx.setHeader('Connection', 'close, Upgrade'))).toBe('INVALID_HEADER')
  })

  it('appendHeader holds a pending Connection: close to the same rule (only close can join it)', async () => {
    const ctx = new TestContext()
    ctx.setHeader('Connection', 'close')
    expect(codeOf(() => ctx.appendHeader('Connection', 'Content-Length'))).toBe('INVALID_HEADER')
    expect(codeOf(() => ctx.appendHeader('connection', 'Upgrade'))).toBe('INVALID_HEADER')
    expect(codeOf(() => ctx.appendHeader('Connection', 'keep-alive'))).toBe('INVALID_HEADER')
    expect(codeOf(() => ctx.appendHeader('Connection', 'close'))).toBeUndefined()
    await ctx.run(async (_c, next) => next())
    expect(ctx.written?.headers.connection).toBe('close')
  })

  it('respond() still takes a Content-Length and Connection: close in its own headers', () => {
    const ctx = new TestContext()
    expect(
      codeOf(() =>
        ctx.respond(200, new ReadableStream(), { 'Content-Length': '5', Connection: 'close' })
      )
    ).toBeUndefined()
  })

  it('accepts what Node accepts: tabs, visible ASCII and Latin-1 values, token names', () => {
    const ctx = new TestContext()
    expect(codeOf(() => ctx.setHeader("X-Odd!#$%&'*+.^_`|~9", 'a\tb ~ café'))).toBeUndefined()
  })

  it('a hook registered from inside an onHeaders hook runs before the head is written', async () => {
    const ctx = new TestContext()
    await ctx.run(
      compose(async (c, next) => {
        c.onHeaders(() => {
          c.onHeaders(() => c.setHeader('x-late-hook', 'ran'))
        })
        await next()
      })
    )
    expect(ctx.written?.headers['x-late-hook']).toBe('ran')
  })

  it('a hook that always registers one more stops after a few rounds; the head goes out', async () => {
    const ctx = new TestContext()
    let rounds = 0
    await ctx.run(
      compose(async (c, next) => {
        const stamp = (): void => {
          rounds++
          c.setHeader('x-stamp', String(rounds))
          c.onHeaders(stamp)
        }
        c.onHeaders(stamp)
        await next()
      })
    )
    expect(rounds).toBe(16)
    expect(ctx.written?.headers['x-stamp']).toBe('16')
  })
})

describe('error status', () => {
  it.each([
    [0, 500],
    [302, 500],
    [200, 500],
    [429.5, 500],
    [600, 500],
    [429, 429],
    [503, 503],
  ])('an AikitError with status %s answers %s', async (status, expected) => {
    const error = new AikitError('X', status, 'x')
    expect(errorStatus(error)).toBe(expected)
    const ctx = new TestContext()
    await ctx.run(async () => {
      throw error
    })
    expect(ctx.written?.status).toBe(expected)
  })
})
