/**
 * compose() runs middleware marked with the registered symbol `@aikit/core.runs-first` before the
 * others of the chain, once at construction, so a header middleware listed last still decorates a
 * short-circuit answered by a middleware listed before it.
 */
import { compose, type Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

const RUNS_FIRST = Symbol.for('@aikit/core.runs-first')

function traced(name: string, order: string[], marked = false): Middleware {
  const mw: Middleware = async (_ctx, next) => {
    order.push(name)
    await next()
  }
  if (marked) Object.defineProperty(mw, RUNS_FIRST, { value: true })
  return mw
}

describe('compose run order', () => {
  it('runs marked middleware first, each group in its given order', async () => {
    const order: string[] = []
    const chain = compose(
      traced('a', order),
      traced('H1', order, true),
      traced('b', order),
      traced('H2', order, true)
    )
    const ctx = new TestContext()
    await ctx.run(chain)
    expect(order).toEqual(['H1', 'H2', 'a', 'b'])
    expect(ctx.downstreamCalls).toBe(1)
  })

  it('decorates a short-circuit answered by a middleware listed before the marked one', async () => {
    const reject: Middleware = async (ctx) => {
      ctx.respond(413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'too large' } })
    }
    const headers: Middleware = (ctx, next) => {
      ctx.setHeader('X-Frame-Options', 'SAMEORIGIN')
      return next()
    }
    Object.defineProperty(headers, RUNS_FIRST, { value: true })
    const ctx = new TestContext()
    await ctx.run(compose(reject, headers))
    expect(ctx.written?.status).toBe(413)
    expect(ctx.written?.headers['x-frame-options']).toBe('SAMEORIGIN')
    expect(ctx.downstreamCalls).toBe(0)
  })

  it('lifts a marked middleware out of a nested compose; an unmarked nest is left as is', async () => {
    const order: string[] = []
    const chain = compose(
      traced('a', order),
      compose(traced('b', order), traced('H', order, true)),
      compose(traced('c', order), traced('d', order))
    )
    await new TestContext().run(chain)
    expect(order).toEqual(['H', 'a', 'b', 'c', 'd'])
  })

  it("runs middleware marked 'early' after those marked true, before the unmarked", async () => {
    const order: string[] = []
    const early = (name: string): Middleware => {
      const mw = traced(name, order)
      Object.defineProperty(mw, RUNS_FIRST, { value: 'early' })
      return mw
    }
    const chain = compose(
      traced('a', order),
      early('E1'),
      traced('H1', order, true),
      compose(traced('b', order), early('E2')),
      traced('H2', order, true)
    )
    await new TestContext().run(chain)
    expect(order).toEqual(['H1', 'H2', 'E1', 'E2', 'a', 'b'])
  })

  it("decorates an 'early' middleware's own rejection with the headers of a true-marked one", async () => {
    const rejectEarly: Middleware = async (ctx) => {
      ctx.respond(403, { error: { code: 'CORS_REJECTED', message: 'origin not allowed' } })
    }
    Object.defineProperty(rejectEarly, RUNS_FIRST, { value: 'early' })
    const headers: Middleware = (ctx, next) => {
      ctx.setHeader('X-Frame-Options', 'SAMEORIGIN')
      return next()
    }
    Object.defineProperty(headers, RUNS_FIRST, { value: true })
    const ctx = new TestContext()
    await ctx.run(compose(rejectEarly, headers))
    expect(ctx.written?.status).toBe(403)
    expect(ctx.written?.headers['x-frame-options']).toBe('SAMEORIGIN')
  })

  it('ignores a mark that is not exactly true, and keeps the order of an unmarked chain', async () => {
    const order: string[] = []
    const odd = traced('x', order)
    Object.defineProperty(odd, RUNS_FIRST, { value: 'yes' })
    await new TestContext().run(compose(traced('a', order), odd))
    expect(order).toEqual(['a', 'x'])
  })
})
