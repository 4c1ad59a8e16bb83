/**
 * ctx.respond(...) written as a Web Response by WebContext.writeResponse: a 205 carries no body
 * (`new Response` refuses one: the client got a 500), and a HEAD answer has the Content-Length the
 * GET answer has.
 */
import type { Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { withAikit } from '../src/next/index.js'

const U = 'http://127.0.0.1:3000/x'

describe('ctx.respond edge cases under withAikit', () => {
  it('respond(205, text) answers 205, not 500', async () => {
    const errors: unknown[] = []
    const route = withAikit(
      () => new Response('route'),
      async (ctx) => {
        ctx.respond(205, 'reset')
      },
      { onError: (e) => errors.push(e) }
    )
    const res = await route(new Request(U, { method: 'POST' }), {})
    expect({ status: res.status, errors: errors.map(String) }).toEqual({ status: 205, errors: [] })
  })

  it('a HEAD short-circuit carries the Content-Length of the GET one', async () => {
    const mw: Middleware = async (ctx) => ctx.respond(200, 'hello')
    const get = await withAikit(() => new Response('x'), mw)(new Request(U), {})
    const head = await withAikit(() => new Response('x'), mw)(
      new Request(U, { method: 'HEAD' }),
      {}
    )
    expect(get.headers.get('content-length')).toBe('5')
    expect(head.headers.get('content-length')).toBe('5')
  })
})
