/**
 * A middleware may await `ctx.finished` after `await next()` under `withAikit` and `aikitProxy`,
 * as on every other adapter (the root README's `timing` example does): the Response is handed to
 * Next without waiting for the rest of the chain, and `finished` resolves once Next has read the
 * body. Before, withAikit awaited the whole chain before returning the Response, which the body
 * read behind `finished` needed first: the request never answered. A chain that ends at once
 * still settles before the Response is returned.
 */
import { aikitProxy, withAikit } from '@aikit/adapters/next'
import type { FinishInfo, Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'

const within = <T>(promise: Promise<T>, ms = 2000): Promise<T | 'still pending'> =>
  Promise.race([
    promise,
    new Promise<'still pending'>((r) => setTimeout(() => r('still pending'), ms)),
  ])

/** Records what the code after `await ctx.finished` saw. */
function timing(seen: { finished?: FinishInfo; status?: number | undefined }): Middleware {
  return async function timing(ctx, next) {
    ctx.setHeader('x-timing', 'on')
    await next()
    seen.status = ctx.status
    seen.finished = await ctx.finished
  }
}

const post = (body: string) =>
  new Request('http://app.test/api', {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  })

describe('withAikit: a middleware awaiting ctx.finished after next()', () => {
  it('returns the Response; finished resolves once the body was read', async () => {
    const seen: { finished?: FinishInfo; status?: number | undefined } = {}
    const POST = withAikit(async (req: Request) => Response.json(await req.json()), timing(seen))
    const res = await within(POST(post('{"a":1}'), undefined))
    if (res === 'still pending') throw new Error('withAikit did not return the Response')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-timing')).toBe('on')
    expect(seen.status).toBe(200)
    expect(seen.finished).toBeUndefined()
    expect(await res.text()).toBe('{"a":1}')
    await within(
      (async () => {
        while (seen.finished === undefined) await new Promise((r) => setTimeout(r, 5))
      })()
    )
    expect(seen.finished).toEqual({ aborted: false })
  })

  it('a body-less answer finishes when it is returned', async () => {
    const seen: { finished?: FinishInfo } = {}
    const DELETE = withAikit(async () => new Response(null, { status: 204 }), timing(seen))
    const res = await within(
      DELETE(new Request('http://app.test/x', { method: 'DELETE' }), undefined)
    )
    if (res === 'still pending') throw new Error('withAikit did not return the Response')
    expect(res.status).toBe(204)
    await within(
      (async () => {
        while (seen.finished === undefined) await new Promise((r) => setTimeout(r, 5))
      })()
    )
    expect(seen.finished).toEqual({ aborted: false })
  })

  it('an inner short-circuit is returned while the outer middleware waits', async () => {
    const seen: { finished?: FinishInfo; status?: number | undefined } = {}
    const limit: Middleware = async (ctx) => {
      ctx.respond(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } })
    }
    let handled = 0
    const POST = withAikit(
      async () => {
        handled++
        return new Response('no')
      },
      timing(seen),
      limit
    )
    const res = await within(POST(post('{}'), undefined))
    if (res === 'still pending') throw new Error('withAikit did not return the Response')
    expect(res.status).toBe(429)
    expect(seen.status).toBe(429)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED')
    expect(handled).toBe(0)
  })

  it('a chain that ends at once settles before the Response is returned', async () => {
    const order: string[] = []
    const after: Middleware = async (_ctx, next) => {
      await next()
      order.push('after next')
    }
    const GET = withAikit(async () => new Response('ok'), after)
    const res = await GET(new Request('http://app.test/'), undefined)
    order.push('returned')
    expect(order).toEqual(['after next', 'returned'])
    expect(await res.text()).toBe('ok')
  })
})

describe('aikitProxy: a middleware awaiting ctx.finished after next()', () => {
  it('returns the pass-through response with the middleware headers', async () => {
    const seen: { finished?: FinishInfo } = {}
    const proxy = aikitProxy(timing(seen))
    const res = await within(Promise.resolve(proxy(new Request('http://app.test/page'))))
    if (res === 'still pending') throw new Error('aikitProxy did not return the response')
    expect(res.headers.get('x-timing')).toBe('on')
    await within(
      (async () => {
        while (seen.finished === undefined) await new Promise((r) => setTimeout(r, 5))
      })()
    )
    expect(seen.finished).toEqual({ aborted: false })
  })
})
