import { compose, InvalidOptionsError, type Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

describe('compose', () => {
  it('runs middleware as an onion', async () => {
    const order: string[] = []
    const mw = (name: string): Middleware =>
      async function step(_ctx, next) {
        order.push(`${name}:before`)
        await next()
        order.push(`${name}:after`)
      }
    const ctx = new TestContext()
    await ctx.run(compose(mw('a'), mw('b'), mw('c')))
    expect(order).toEqual(['a:before', 'b:before', 'c:before', 'c:after', 'b:after', 'a:after'])
    expect(ctx.written?.status).toBe(200)
  })

  it('rejects a second call to next() in one middleware', async () => {
    let second: unknown
    const twice: Middleware = async (_ctx, next) => {
      await next()
      try {
        await next()
      } catch (error) {
        second = error
      }
    }
    const ctx = new TestContext()
    await ctx.run(compose(twice))
    expect(second).toBeInstanceOf(Error)
    expect((second as Error).message).toBe('next() called multiple times')
  })

  it('refuses a non-function at construction, naming its index', () => {
    const bad = 'nope' as unknown as Middleware
    expect(() => compose(async (_c, n) => n(), bad)).toThrow(InvalidOptionsError)
    try {
      compose(async (_c, n) => n(), bad)
    } catch (error) {
      expect((error as InvalidOptionsError).field).toBe('middleware[1]')
    }
  })

  it('turns a throw into a 500 that outer middleware observe after next()', async () => {
    let seen: number | undefined
    const outer: Middleware = async (ctx, next) => {
      await next()
      seen = ctx.status
    }
    const boom: Middleware = async () => {
      throw new Error('secret database password in message')
    }
    const ctx = new TestContext()
    await ctx.run(compose(outer, boom))
    expect(seen).toBe(500)
    expect(ctx.written?.status).toBe(500)
    expect(ctx.written?.text).toBe(
      '{"error":{"code":"INTERNAL","message":"Internal server error"}}'
    )
    expect(ctx.error).toBeInstanceOf(Error)
  })

  it('writes a short-circuit head before the outer next() resolves', async () => {
    let writtenWhenNextResolved: number | undefined
    const outer: Middleware = async (ctx, next) => {
      await next()
      writtenWhenNextResolved = (ctx as TestContext).written?.status
    }
    const deny: Middleware = async (ctx) => {
      ctx.respond(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } })
    }
    const ctx = new TestContext()
    await ctx.run(compose(outer, deny))
    expect(writtenWhenNextResolved).toBe(429)
    expect(ctx.downstreamCalls).toBe(0)
  })

  it('does not run the route when a middleware responded and still called next()', async () => {
    const sloppy: Middleware = async (ctx, next) => {
      ctx.respond(403, 'no')
      await next()
    }
    const ctx = new TestContext()
    await ctx.run(compose(sloppy))
    expect(ctx.downstreamCalls).toBe(0)
    expect(ctx.written?.status).toBe(403)
  })

  it('answers 500 NO_RESPONSE when the chain neither responds nor calls next()', async () => {
    const ctx = new TestContext()
    await ctx.run(compose(async () => {}))
    expect(ctx.written?.status).toBe(500)
    expect(JSON.parse(ctx.written?.text ?? '{}').error.code).toBe('NO_RESPONSE')
  })
})
