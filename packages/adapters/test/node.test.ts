import { once } from 'node:events'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { toNodeHandler } from '@aikit/adapters/node'
import {
  AikitError,
  type Context,
  currentContext,
  InvalidOptionsError,
  type Middleware,
  onFinished,
  requireAsyncContext,
} from '@aikit/core'
import { afterAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

// These tests read currentContext() in handlers from the first request on: declare it, as the
// kit's own readers (LLM wrappers, logger, Sentry) do when created (asyncContext 'auto').
requireAsyncContext()

const servers: ConformanceServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

async function start(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = await listen(createServer(handler) as Server)
  servers.push(server)
  return server.url
}

function invalid(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected InvalidOptionsError')
}

const pass: Middleware = async (_ctx, next) => next()

describe('toNodeHandler options', () => {
  it('names the invalid field', () => {
    expect(invalid(() => toNodeHandler(pass, { trustProxy: true as never })).field).toBe(
      'trustProxy'
    )
    expect(invalid(() => toNodeHandler(pass, { maxBodyBytes: 0 })).field).toBe('maxBodyBytes')
    expect(invalid(() => toNodeHandler(pass, { maxJsonDepth: 1.5 })).field).toBe('maxJsonDepth')
    expect(invalid(() => toNodeHandler(pass, { onError: 'log' as never })).field).toBe('onError')
    expect(invalid(() => toNodeHandler(pass, { handler: 42 as never })).field).toBe('handler')
    expect(invalid(() => toNodeHandler(pass, 'nope' as never)).field).toBe('middleware[1]')
    expect(invalid(() => toNodeHandler(pass, 'nope' as never, pass)).field).toBe('middleware[1]')
  })

  it('accepts no middleware and no options', () => {
    expect(typeof toNodeHandler()).toBe('function')
    expect(typeof toNodeHandler({})).toBe('function')
  })
})

describe('toNodeHandler', () => {
  it('answers 404 NOT_FOUND JSON when no handler is given', async () => {
    let seen: number | undefined
    const url = await start(
      toNodeHandler(async (ctx, next) => {
        await next()
        seen = ctx.status
      })
    )
    const res = await fetch(`${url}/anything?x=1`)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'Not found' } })
    expect(seen).toBe(404)
  })

  it('exposes method, path and query, and runs the handler inside currentContext()', async () => {
    let inner: Context | undefined
    let outer: Context | undefined
    const url = await start(
      toNodeHandler(
        async (ctx, next) => {
          outer = ctx
          ctx.setHeader('x-path', `${ctx.method} ${ctx.path} ${ctx.query}`)
          await next()
        },
        {
          handler: (_req, res) => {
            inner = currentContext()
            res.end('ok')
          },
        }
      )
    )
    const res = await fetch(`${url}/a/b?c=d&e`)
    expect(res.headers.get('x-path')).toBe('GET /a/b c=d&e')
    expect(await res.text()).toBe('ok')
    expect(inner).toBeDefined()
    expect(inner).toBe(outer)
  })

  it('a handler that throws before the head becomes the 500 JSON error and reaches onError', async () => {
    const errors: unknown[] = []
    let statusAfterNext: number | undefined
    let errorAfterNext: unknown
    const url = await start(
      toNodeHandler(
        async (ctx, next) => {
          await next()
          statusAfterNext = ctx.status
          errorAfterNext = ctx.error
        },
        pass, // the handler's error surfaces from this one's next(); outer middleware see the 500
        {
          onError: (e) => errors.push(e),
          handler: async () => {
            await new Promise((r) => setTimeout(r, 5))
            throw new Error('handler secret')
          },
        }
      )
    )
    const res = await fetch(url)
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({
      error: { code: 'INTERNAL', message: 'Internal server error' },
    })
    expect(text).not.toContain('handler secret')
    expect(statusAfterNext).toBe(500)
    expect((errorAfterNext as Error).message).toBe('handler secret')
    expect(errors).toHaveLength(1)
  })

  it('a handler that rejects after the head reports to onError and ends the response', async () => {
    const errors: unknown[] = []
    const url = await start(
      toNodeHandler(pass, {
        onError: (e) => errors.push(e),
        handler: async (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' })
          res.write('partial')
          await new Promise((r) => setTimeout(r, 5))
          throw new Error('late failure')
        },
      })
    )
    const res = await fetch(url)
    expect(res.status).toBe(200)
    await expect(res.text()).rejects.toThrow()
    expect(errors.map((e) => (e as Error).message)).toEqual(['late failure'])
  })

  it('the handler writing with writeHead(headers) keeps its own header over the middleware one', async () => {
    const url = await start(
      toNodeHandler(
        async (ctx, next) => {
          ctx.setHeader('x-a', 'mw')
          ctx.setHeader('x-b', 'mw')
          await next()
        },
        { handler: (_req, res) => res.writeHead(201, { 'x-a': 'route' }).end() }
      )
    )
    const res = await fetch(url)
    expect(res.status).toBe(201)
    expect(res.headers.get('x-a')).toBe('route')
    expect(res.headers.get('x-b')).toBe('mw')
  })

  it('rejects a content-encoded JSON body with 415 without reading it', async () => {
    const url = await start(
      toNodeHandler(async (ctx) => {
        ctx.respond(200, await ctx.json())
      })
    )
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: '{}',
    })
    expect(res.status).toBe(415)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'UNSUPPORTED_MEDIA_TYPE'
    )
  })

  it('a stream answer to HEAD has no body and cancels the source', async () => {
    let pulled = 0
    let cancelled = false
    const url = await start(
      toNodeHandler(async (ctx) => {
        const source = new ReadableStream<string>({
          pull(controller) {
            pulled++
            controller.enqueue('data\n')
          },
          cancel() {
            cancelled = true
          },
        })
        ctx.respond(200, source, { 'content-type': 'text/plain' })
      })
    )
    const res = await fetch(url, { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain')
    expect(await res.text()).toBe('')
    await expect.poll(() => cancelled, { timeout: 10_000 }).toBe(true)
    expect(pulled).toBeLessThanOrEqual(1) // a ReadableStream pulls once on its own to fill its queue
  })

  it('an error in a stream source destroys the response and reaches onError', async () => {
    const errors: unknown[] = []
    let finished: unknown
    const url = await start(
      toNodeHandler(
        async (ctx) => {
          void ctx.finished.then((f) => {
            finished = f
          })
          async function* source(): AsyncGenerator<Uint8Array> {
            yield new TextEncoder().encode('first\n')
            await new Promise((r) => setTimeout(r, 10))
            throw new Error('source broke')
          }
          ctx.respond(200, source())
        },
        { onError: (e) => errors.push(e) }
      )
    )
    const res = await fetch(url)
    expect(res.status).toBe(200)
    await expect(res.text()).rejects.toThrow()
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBe(1)
    expect((errors[0] as Error).message).toBe('source broke')
    await expect.poll(() => finished, { timeout: 10_000 }).toEqual({ aborted: true })
  })

  it('onFinished calls back once per listener, late ones in a microtask, and a throwing one reaches onError', async () => {
    const calls: string[] = []
    const errors: unknown[] = []
    let late: Promise<void> | undefined
    const url = await start(
      toNodeHandler(
        (ctx) => {
          onFinished(ctx, (info) => calls.push(`first:${info.aborted}`))
          onFinished(ctx, () => {
            throw new Error('listener broke')
          })
          onFinished(ctx, (info) => {
            calls.push(`third:${info.aborted}`)
            // Registered after the end: called back asynchronously, not from inside this call.
            late = new Promise((resolve) => {
              onFinished(ctx, (again) => {
                calls.push(`late:${again.aborted}`)
                resolve()
              })
              calls.push('registered late')
            })
          })
          ctx.respond(200, 'ok')
          return Promise.resolve()
        },
        { onError: (e) => errors.push(e) }
      )
    )
    const res = await fetch(url)
    expect(await res.text()).toBe('ok')
    await expect.poll(() => calls.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
    await late
    expect(calls).toEqual(['first:false', 'third:false', 'registered late', 'late:false'])
    expect(errors).toHaveLength(1)
    expect((errors[0] as Error).message).toBe('listener broke')
  })

  it('keeps backpressure: a client that stops reading stops the source', async () => {
    let produced = 0
    let cancelled = false
    const chunk = new Uint8Array(64 * 1024)
    const url = await start(
      toNodeHandler(async (ctx) => {
        async function* source(): AsyncGenerator<Uint8Array> {
          try {
            for (let i = 0; i < 2000; i++) {
              produced++
              yield chunk
            }
          } finally {
            cancelled = true
          }
        }
        ctx.respond(200, source())
      })
    )
    const { hostname, port } = new URL(url)
    const req = httpRequest({ host: hostname, port, agent: false })
    req.on('error', () => {})
    req.end()
    const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage]
    res.pause() // read nothing
    await new Promise((r) => setTimeout(r, 300))
    // 2000 chunks is 128 MiB; without backpressure the generator would have run to the end.
    expect(produced).toBeLessThan(200)
    req.destroy()
    await expect.poll(() => cancelled, { timeout: 10_000 }).toBe(true)
  })
})

describe('headers and errors Node would refuse at head time', () => {
  async function statusOf(url: string): Promise<number> {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
    await res.arrayBuffer()
    return res.status
  }
  const route = (_req: unknown, res: { end(body: string): void }) => res.end('route')

  it('a header value Node refuses, set inside onHeaders, leaves the request answered', async () => {
    let refused: unknown
    const url = await start(
      toNodeHandler(
        async (ctx, next) => {
          ctx.onHeaders(() => {
            try {
              ctx.setHeader('x-user', '张伟')
            } catch (error) {
              refused = error
            }
          })
          await next()
        },
        { handler: route }
      )
    )
    expect(await statusOf(url)).toBe(200)
    expect((refused as { code?: string } | undefined)?.code).toBe('INVALID_HEADER')
  })

  it('an AikitError with status 0 answers 500 with its code', async () => {
    const url = await start(
      toNodeHandler(
        async () => {
          throw new AikitError('OOPS', 0, 'zero')
        },
        { handler: route }
      )
    )
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
    expect(res.status).toBe(500)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('OOPS')
  })
})
