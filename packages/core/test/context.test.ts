import { compose, currentContext, type Middleware, requireAsyncContext } from '@aikit/core'
import { REPLACE_BODY } from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

// These tests read currentContext() in handlers from the first request on: declare it, as the
// kit's own readers (LLM wrappers, logger, Sentry) do when created (asyncContext 'auto').
requireAsyncContext()

describe('Context lifecycle', () => {
  it('adds headers set before next() to the route response; the route header wins', async () => {
    const ctx = new TestContext()
    await ctx.run(async (c, next) => {
      c.setHeader('X-Early', 'yes')
      c.appendHeader('Vary', 'Origin')
      c.appendHeader('Vary', 'Accept-Encoding')
      await next()
    })
    expect(ctx.written?.headers['x-early']).toBe('yes')
    expect(ctx.written?.headers.vary).toBe('Origin, Accept-Encoding')
  })

  it('runs onHeaders with the final status, last registered first, before the head', async () => {
    const order: string[] = []
    const ctx = new TestContext()
    ctx.routeStatus = 404
    await ctx.run(
      compose(
        async (c, next) => {
          c.onHeaders(() => {
            order.push('outer')
            c.setHeader('x-final-status', String(c.status))
          })
          await next()
        },
        async (c, next) => {
          c.onHeaders(() => order.push('inner'))
          await next()
        }
      )
    )
    expect(ctx.written?.headers['x-final-status']).toBe('404')
    expect(order).toEqual(['inner', 'outer'])
  })

  it('refuses headers after the head is written', async () => {
    const ctx = new TestContext()
    let err: unknown
    await ctx.run(async (c, next) => {
      await next()
      try {
        c.setHeader('x-late', '1')
      } catch (e) {
        err = e
      }
    })
    expect((err as { code?: string }).code).toBe('HEADERS_SENT')
    expect(ctx.headersSent).toBe(true)
  })

  it('refuses header values with CR/LF (response splitting)', async () => {
    const ctx = new TestContext()
    await ctx.run(async (c, next) => {
      c.setHeader('x-evil', 'a\r\nSet-Cookie: x=1')
      await next()
    })
    expect(ctx.written?.status).toBe(500)
    expect(ctx.written?.headers['x-evil']).toBeUndefined()
  })

  it('serialises respond() bodies with a content type', async () => {
    const cases: [object | string, string, string][] = [
      [{ a: 1 }, 'application/json; charset=utf-8', '{"a":1}'],
      ['hi', 'text/plain; charset=utf-8', 'hi'],
    ]
    for (const [body, type, text] of cases) {
      const ctx = new TestContext()
      await ctx.run(async (c) => c.respond(201, body))
      expect(ctx.written?.status).toBe(201)
      expect(ctx.written?.headers['content-type']).toBe(type)
      expect(ctx.written?.text).toBe(text)
    }
  })

  it('rejects an invalid status given to respond()', async () => {
    const ctx = new TestContext()
    await ctx.run(async (c) => c.respond(99, 'x'))
    expect(ctx.written?.status).toBe(500)
  })

  it('resolves finished once, and aborts signal when the client goes away', async () => {
    const ctx = new TestContext()
    const signal = ctx.signal
    expect(signal.aborted).toBe(false)
    ctx.markFinished(true)
    ctx.markFinished(false)
    expect(await ctx.finished).toEqual({ aborted: true })
    expect(signal.aborted).toBe(true)
    expect((signal.reason as Error).name).toBe('AbortError')
  })

  it('gives an already-aborted signal when read after the client left', () => {
    const ctx = new TestContext()
    ctx.markClientGone()
    expect(ctx.signal.aborted).toBe(true)
  })

  it('exposes the running context through currentContext()', async () => {
    const ctx = new TestContext()
    let inside: unknown
    const mw: Middleware = async (_c, next) => {
      await Promise.resolve()
      inside = currentContext()
      await next()
    }
    await ctx.run(mw)
    expect(inside).toBe(ctx)
    expect(currentContext()).toBeUndefined()
  })

  it('runs outside AsyncLocalStorage with asyncContext: false', async () => {
    const ctx = new TestContext({ options: { asyncContext: false } })
    let inside: unknown = 'unset'
    await ctx.run(async (_c, next) => {
      inside = currentContext()
      await next()
    })
    expect(inside).toBeUndefined()
    expect(ctx.written?.status).toBe(200)
  })

  it('refuses a non-boolean asyncContext, naming the field', () => {
    expect(() => new TestContext({ options: { asyncContext: 'yes' as never } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field: 'asyncContext' })
    )
  })

  it('reports non-kit errors to onError, never to the client', async () => {
    const reported: unknown[] = []
    const ctx = new TestContext({ options: { onError: (e) => reported.push(e) } })
    await ctx.run(async () => {
      throw new Error('token sk-ant-123')
    })
    expect(reported).toHaveLength(1)
    expect(ctx.written?.text).not.toContain('sk-ant')
  })
})

describe('ctx.json()', () => {
  const json = { 'content-type': 'application/json' }

  it('parses once and returns the same value', async () => {
    const ctx = new TestContext({ method: 'POST', headers: json, body: '{"q":"hi"}' })
    const a = await ctx.json<{ q: string }>()
    expect(a.q).toBe('hi')
    expect(await ctx.json()).toBe(a)
  })

  it.each([
    ['malformed', '{"q":', 400, 'INVALID_REQUEST'],
    ['empty', '', 400, 'INVALID_REQUEST'],
    ['too deep', `${'['.repeat(65)}${']'.repeat(65)}`, 400, 'INVALID_REQUEST'],
  ])('answers %s bodies with %i %s', async (_name, body, status, code) => {
    const ctx = new TestContext({ method: 'POST', headers: json, body })
    await ctx.run(async (c, next) => {
      await c.json()
      await next()
    })
    expect(ctx.written?.status).toBe(status)
    expect(JSON.parse(ctx.written?.text ?? '{}').error.code).toBe(code)
  })

  it('accepts depth up to the limit and counts brackets inside strings as text', async () => {
    const body = `{"s":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[","a":${'['.repeat(63)}${']'.repeat(63)}}`
    const ctx = new TestContext({ method: 'POST', headers: json, body })
    await expect(ctx.json()).resolves.toBeTypeOf('object')
  })

  it('REPLACE_BODY: later reads get the replaced value (adapters hand the bytes to the route)', async () => {
    const ctx = new TestContext({ method: 'POST', headers: json, body: '{"q":"secret"}' })
    const first = await ctx.json<{ q: string }>()
    const replaced = { q: '[redacted]' }
    ctx[REPLACE_BODY](replaced, new TextEncoder().encode(JSON.stringify(replaced)))
    expect(first.q).toBe('secret')
    expect(await ctx.json()).toBe(replaced)
  })

  it('requires a JSON content type (415)', async () => {
    const ctx = new TestContext({
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    })
    await expect(ctx.json()).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 })
  })

  it('accepts +json types and charset parameters', async () => {
    const ctx = new TestContext({
      method: 'POST',
      headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' },
      body: '[1]',
    })
    expect(await ctx.json()).toEqual([1])
  })

  it('rejects invalid UTF-8', async () => {
    const ctx = new TestContext({
      method: 'POST',
      headers: json,
      body: new Uint8Array([0x22, 0xff, 0x22]),
    })
    await expect(ctx.json()).rejects.toMatchObject({ code: 'INVALID_REQUEST' })
  })
})
