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

  describe('pass-through middleware (`return next()`) before a route whose promise settles', () => {
    const passThrough: Middleware = (_ctx, next) => next()

    it('adds no promise: the chain returns the route head promise itself', async () => {
      const ctx = new TestContext()
      const chain = ctx.run(compose(passThrough, passThrough, passThrough), true)
      expect(chain).toBe(ctx.routeHead)
      await chain
      expect(ctx.written?.status).toBe(200)
      // Without the promise from the adapter, every level keeps its own settling step.
      const other = new TestContext()
      const wrapped = other.run(compose(passThrough, passThrough), false)
      expect(wrapped).not.toBe(other.routeHead)
      await wrapped
      expect(other.written?.status).toBe(200)
    })

    it('still writes a response set before next() (the route does not run)', async () => {
      const deny: Middleware = (ctx, next) => {
        ctx.respond(403, 'no')
        return next()
      }
      const ctx = new TestContext()
      await ctx.run(compose(passThrough, deny, passThrough), true)
      expect(ctx.downstreamCalls).toBe(0)
      expect(ctx.written?.status).toBe(403)
      expect(ctx.written?.text).toBe('no')
    })

    it('an inner throw is still the 500 an outer middleware sees after next()', async () => {
      let seen: number | undefined
      const outer: Middleware = async (ctx, next) => {
        await next()
        seen = ctx.status
      }
      const boom: Middleware = () => {
        throw new Error('inner failure')
      }
      const ctx = new TestContext()
      await ctx.run(compose(outer, passThrough, boom), true)
      expect(seen).toBe(500)
      expect(ctx.written?.status).toBe(500)
      expect(ctx.downstreamCalls).toBe(0)
    })

    it('returning the rejected second next() is settled, not handed on', async () => {
      const twice: Middleware = (_ctx, next) => {
        void next()
        return next()
      }
      const ctx = new TestContext()
      await expect(ctx.run(compose(passThrough, twice), true)).resolves.toBeUndefined()
      expect(ctx.downstreamCalls).toBe(1)
      expect((ctx.error as Error).message).toBe('next() called multiple times')
    })
  })
})
