/**
 * withAikit / aikitProxy called directly with Web Requests (no Next server): option validation,
 * the lifecycle on a Web Response, body hand-over, IP modes, request headers, edge-safety.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  AikitError,
  type Context,
  currentContext,
  type Middleware,
  requireAsyncContext,
} from '@aikit/core'
import { invalidField } from '@aikit/testing/invalid-field'
import { describe, expect, it } from 'vitest'
import { aikitProxy, setRequestHeader, withAikit } from '../src/next/index.js'

// These tests read currentContext() in handlers from the first request on: declare it, as the
// kit's own readers (LLM wrappers, logger, Sentry) do when created (asyncContext 'auto').
requireAsyncContext()

const URL_BASE = 'http://127.0.0.1:3000'

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** A middleware that hands its ctx out, for inspection after the request. */
function capture(): { mw: Middleware; ctx: Promise<Context> } {
  const d = deferred<Context>()
  return {
    ctx: d.promise,
    mw: async (ctx, next) => {
      d.resolve(ctx)
      await next()
    },
  }
}

const ok = () => new Response('ok')
const pass: Middleware = (_ctx, next) => next()

describe('options are validated at construction', () => {
  it('names the bad field', () => {
    expect(invalidField(() => withAikit('nope' as never, pass))).toBe('handler')
    expect(invalidField(() => withAikit(ok, pass, { trustProxy: true as never }))).toBe(
      'trustProxy'
    )
    expect(invalidField(() => withAikit(ok, { maxBodyBytes: 0 }))).toBe('maxBodyBytes')
    expect(invalidField(() => withAikit(ok, { maxJsonDepth: 1.5 }))).toBe('maxJsonDepth')
    expect(invalidField(() => withAikit(ok, pass, 42 as never))).toBe('middleware[1]')
    expect(invalidField(() => withAikit(ok, 'x' as never, pass))).toBe('middleware[0]')
    expect(invalidField(() => aikitProxy(pass, { onError: 'log' as never }))).toBe('onError')
    expect(invalidField(() => aikitProxy(pass, { trustProxy: ['not-a-cidr'] }))).toBe(
      'trustProxy[0]'
    )
    expect(invalidField(() => withAikit(ok, pass, { trustProxy: 1, maxBodyBytes: 10 }))).toBe(
      undefined
    )
  })
})

describe('withAikit', () => {
  it('runs the chain around the handler and passes the route context through', async () => {
    const order: string[] = []
    const seen = deferred<unknown>()
    const route = withAikit(
      async (req: Request, routeCtx: { params: Promise<{ id: string }> }) => {
        order.push('handler')
        seen.resolve(currentContext())
        return Response.json({ id: (await routeCtx.params).id, url: req.url })
      },
      async (ctx, next) => {
        order.push('before')
        ctx.setHeader('x-mw', '1')
        ctx.onHeaders(() => {
          order.push(`onHeaders ${ctx.status}`)
          ctx.setHeader('x-status', String(ctx.status))
        })
        await next()
        order.push(`after ${ctx.status} ${ctx.headersSent}`)
      }
    )
    const res = await route(new Request(`${URL_BASE}/a?b=1`), {
      params: Promise.resolve({ id: '7' }),
    })
    expect(order).toEqual(['before', 'handler', 'onHeaders 200', 'after 200 true'])
    expect(res.headers.get('x-mw')).toBe('1')
    expect(res.headers.get('x-status')).toBe('200')
    expect(await res.json()).toEqual({ id: '7', url: `${URL_BASE}/a?b=1` })
    expect(await seen.promise).toBeDefined()
  })

  it('exposes method, path, query and headers of the Request', async () => {
    const c = capture()
    await withAikit(ok, c.mw)(
      new Request(`${URL_BASE}/p/q%20r?x=1&y=2`, { method: 'PATCH', headers: { 'X-A': 'b' } }),
      undefined
    )
    const ctx = await c.ctx
    expect([ctx.method, ctx.path, ctx.query, ctx.header('x-a')]).toEqual([
      'PATCH',
      '/p/q%20r',
      'x=1&y=2',
      'b',
    ])
  })

  it("keeps the route's own header and rebuilds responses with immutable headers", async () => {
    const mw: Middleware = async (ctx, next) => {
      ctx.setHeader('cache-control', 'no-store')
      ctx.setHeader('x-mw', 'yes')
      await next()
    }
    const own = await withAikit(
      () => new Response('x', { headers: { 'cache-control': 'public, max-age=5' } }),
      mw
    )(new Request(`${URL_BASE}/`), undefined)
    expect(own.headers.get('cache-control')).toBe('public, max-age=5')
    expect(own.headers.get('x-mw')).toBe('yes')

    const redirect = await withAikit(() => Response.redirect(`${URL_BASE}/elsewhere`, 302), mw)(
      new Request(`${URL_BASE}/`),
      undefined
    )
    expect(redirect.status).toBe(302)
    expect(redirect.headers.get('location')).toBe(`${URL_BASE}/elsewhere`)
    expect(redirect.headers.get('x-mw')).toBe('yes')
  })

  it('finishes after the last chunk is read, not when the Response is returned', async () => {
    const c = capture()
    let finished: unknown
    const route = withAikit(
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('a'))
              controller.enqueue(new TextEncoder().encode('b'))
              controller.close()
            },
          })
        ),
      c.mw
    )
    const res = await route(new Request(`${URL_BASE}/`), undefined)
    const ctx = await c.ctx
    void ctx.finished.then((f) => {
      finished = f
    })
    await new Promise((r) => setTimeout(r, 10))
    expect(finished).toBeUndefined()
    expect(await res.text()).toBe('ab')
    expect(await ctx.finished).toEqual({ aborted: false })
  })

  it('finishes aborted and aborts ctx.signal when the body is cancelled', async () => {
    const c = capture()
    let sourceCancelled = false
    const route = withAikit(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(new TextEncoder().encode('x'))
            },
            cancel() {
              sourceCancelled = true
            },
          })
        ),
      c.mw
    )
    const res = await route(new Request(`${URL_BASE}/`), undefined)
    const ctx = await c.ctx
    const reader = res.body!.getReader()
    await reader.read()
    await reader.cancel()
    expect(await ctx.finished).toEqual({ aborted: true })
    expect(ctx.signal.aborted).toBe(true)
    expect(sourceCancelled).toBe(true)
  })

  it('aborts ctx.signal when request.signal aborts (client gone before the Response)', async () => {
    const client = new AbortController()
    const gone = deferred<{ aborted: boolean; signal: boolean }>()
    const route = withAikit(async () => {
      const ctx = currentContext()!
      client.abort()
      const f = await ctx.finished
      gone.resolve({ aborted: f.aborted, signal: ctx.signal.aborted })
      return new Response('late')
    }, pass)
    await route(new Request(`${URL_BASE}/`, { signal: client.signal }), undefined)
    expect(await gone.promise).toEqual({ aborted: true, signal: true })
  })

  it('finishes a body-less response when it is returned', async () => {
    const c = capture()
    const res = await withAikit(() => new Response(null, { status: 204 }), c.mw)(
      new Request(`${URL_BASE}/`),
      undefined
    )
    expect(res.status).toBe(204)
    expect(await (await c.ctx).finished).toEqual({ aborted: false })
  })

  it('hands a body read by ctx.json() on to the handler', async () => {
    const route = withAikit(
      async (req: Request) => Response.json({ route: await req.json() }),
      async (ctx, next) => {
        expect(await ctx.json()).toEqual({ a: 1 })
        await next()
      }
    )
    const res = await route(
      new Request(`${URL_BASE}/`, {
        method: 'POST',
        body: '{"a":1}',
        headers: { 'content-type': 'application/json' },
      }),
      undefined
    )
    expect(await res.json()).toEqual({ route: { a: 1 } })
  })

  it('answers 413 from content-length without reading the body', async () => {
    let pulled = false
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulled = true
          controller.enqueue(new Uint8Array(10))
          controller.close()
        },
      },
      { highWaterMark: 0 }
    )
    const route = withAikit(
      ok,
      async (ctx, next) => {
        await ctx.json()
        await next()
      },
      { maxBodyBytes: 5 }
    )
    const res = await route(
      new Request(`${URL_BASE}/`, {
        method: 'POST',
        body,
        duplex: 'half',
        headers: { 'content-type': 'application/json', 'content-length': '10' },
      } as RequestInit),
      undefined
    )
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } })
    expect(pulled).toBe(false)
  })

  it('stops reading a streamed body at the limit', async () => {
    let chunks = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        chunks++
        controller.enqueue(new Uint8Array(4).fill(32))
        if (chunks === 100) controller.close()
      },
    })
    const res = await withAikit(
      ok,
      async (ctx, next) => {
        await ctx.json()
        await next()
      },
      { maxBodyBytes: 10 }
    )(
      new Request(`${URL_BASE}/`, {
        method: 'POST',
        body,
        duplex: 'half',
        headers: { 'content-type': 'application/json' },
      } as RequestInit),
      undefined
    )
    expect(res.status).toBe(413)
    expect(chunks).toBeLessThan(10)
  })

  it('streams a short-circuit async iterable on demand (backpressure)', async () => {
    let produced = 0
    async function* gen(): AsyncGenerator<string> {
      for (let i = 0; i < 100; i++) {
        produced++
        yield `e${i};`
      }
    }
    const c = capture()
    const res = await withAikit(ok, c.mw, async (ctx) => {
      ctx.respond(200, gen(), { 'content-type': 'text/event-stream' })
    })(new Request(`${URL_BASE}/`), undefined)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toBe('e0;')
    await new Promise((r) => setTimeout(r, 10))
    expect(produced).toBeLessThanOrEqual(2)
    await reader.cancel()
    expect(await (await c.ctx).finished).toEqual({ aborted: true })
  })

  it('sends no body for HEAD and finishes at once', async () => {
    const c = capture()
    const res = await withAikit(ok, c.mw, async (ctx) => {
      ctx.respond(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } })
    })(new Request(`${URL_BASE}/`, { method: 'HEAD' }), undefined)
    expect(res.status).toBe(429)
    expect(res.body).toBeNull()
    expect(await (await c.ctx).finished).toEqual({ aborted: false })
  })

  it('turns a thrown error into the JSON error shape', async () => {
    const reported: unknown[] = []
    const res = await withAikit(
      () => {
        throw new Error('secret detail')
      },
      pass,
      { onError: (e) => reported.push(e) }
    )(new Request(`${URL_BASE}/`), undefined)
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({
      error: { code: 'INTERNAL', message: 'Internal server error' },
    })
    expect(text).not.toContain('secret')
    expect(reported).toHaveLength(1)

    const kit = await withAikit(() => {
      throw new AikitError('NOPE', 403, 'not yours')
    })(new Request(`${URL_BASE}/`), undefined)
    expect(kit.status).toBe(403)
    expect(await kit.json()).toEqual({ error: { code: 'NOPE', message: 'not yours' } })
  })

  it("converts Next's redirect()/notFound() signals instead of answering 500", async () => {
    const notFound = Object.assign(new Error('NEXT_HTTP_ERROR_FALLBACK;404'), {
      digest: 'NEXT_HTTP_ERROR_FALLBACK;404',
    })
    const redirect = Object.assign(new Error('NEXT_REDIRECT'), {
      digest: 'NEXT_REDIRECT;replace;/a;b;307;',
    })
    const mw: Middleware = async (ctx, next) => {
      ctx.setHeader('x-mw', 'yes')
      await next()
    }
    const nf = await withAikit(() => {
      throw notFound
    }, mw)(new Request(`${URL_BASE}/`), undefined)
    expect([nf.status, nf.headers.get('x-mw')]).toEqual([404, 'yes'])
    const rd = await withAikit(() => {
      throw redirect
    }, mw)(new Request(`${URL_BASE}/`), undefined)
    expect([rd.status, rd.headers.get('location'), rd.headers.get('x-mw')]).toEqual([
      307,
      '/a;b',
      'yes',
    ])
    const dynamic = Object.assign(new Error('dyn'), { digest: 'DYNAMIC_SERVER_USAGE' })
    await expect(
      withAikit(() => {
        throw dynamic
      }, mw)(new Request(`${URL_BASE}/`), undefined)
    ).rejects.toBe(dynamic)
  })

  it('resolves ctx.ip by the trustProxy mode (no socket address on a Request)', async () => {
    const ipOf = async (options: Parameters<typeof withAikit>[1], xff?: string) => {
      const c = capture()
      await withAikit(
        ok,
        c.mw,
        options as never
      )(
        new Request(
          `${URL_BASE}/`,
          xff === undefined ? {} : { headers: { 'x-forwarded-for': xff } }
        ),
        undefined
      )
      return (await c.ctx).ip
    }
    // Default: X-Forwarded-For may come from the client itself (Next does not append to it).
    expect(await ipOf({}, '203.0.113.9')).toBeUndefined()
    expect(await ipOf({ trustProxy: false }, '203.0.113.9')).toBeUndefined()
    // One proxy in front: it appended the client's address as the last hop.
    expect(await ipOf({ trustProxy: 1 }, '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9')
    expect(await ipOf({ trustProxy: 2 }, '198.51.100.1, 203.0.113.9')).toBe('198.51.100.1')
    expect(await ipOf({ trustProxy: 1 })).toBeUndefined()
    expect(await ipOf({ trustProxy: ['10.0.0.0/8'] }, '198.51.100.1, 203.0.113.9, 10.0.0.2')).toBe(
      '203.0.113.9'
    )
  })

  it('passes request headers set with setRequestHeader to the handler', async () => {
    const route = withAikit(
      (req: Request) =>
        Response.json({ nonce: req.headers.get('x-nonce'), a: req.headers.get('a') }),
      async (ctx, next) => {
        setRequestHeader(ctx, 'x-nonce', 'n1')
        await next()
        expect(() => setRequestHeader(ctx, 'x-late', '1')).toThrow(AikitError)
      }
    )
    const res = await route(new Request(`${URL_BASE}/`, { headers: { a: 'b' } }), undefined)
    expect(await res.json()).toEqual({ nonce: 'n1', a: 'b' })
    expect(() => setRequestHeader({} as Context, 'x', 'y')).toThrow(/only under/)
  })
})

describe('aikitProxy', () => {
  it('passes through with NextResponse.next(), middleware headers and request headers', async () => {
    const statuses: (number | undefined)[] = []
    const proxy = aikitProxy(async (ctx, next) => {
      ctx.setHeader('x-proxy', 'yes')
      ctx.onHeaders(() => statuses.push(ctx.status))
      setRequestHeader(ctx, 'x-nonce', 'abc')
      await next()
      statuses.push(ctx.status)
    })
    const res = await proxy(new Request(`${URL_BASE}/page`, { headers: { keep: 'me' } }))
    expect(res.headers.get('x-middleware-next')).toBe('1')
    expect(res.headers.get('x-proxy')).toBe('yes')
    expect(res.headers.get('x-middleware-request-x-nonce')).toBe('abc')
    expect(res.headers.get('x-middleware-request-keep')).toBe('me')
    expect(res.headers.get('x-middleware-override-headers')?.split(',')).toContain('x-nonce')
    expect(statuses).toEqual([200, 200])
  })

  it('short-circuits with the JSON body and status', async () => {
    const proxy = aikitProxy(async (ctx) => {
      ctx.setHeader('retry-after', '3')
      ctx.respond(429, { error: { code: 'RATE_LIMITED', message: 'Too many requests' } })
    })
    const res = await proxy(new Request(`${URL_BASE}/api`))
    expect(res.status).toBe(429)
    expect(res.headers.get('x-middleware-next')).toBeNull()
    expect(res.headers.get('retry-after')).toBe('3')
    expect(await res.json()).toEqual({
      error: { code: 'RATE_LIMITED', message: 'Too many requests' },
    })
  })
})

describe('public API', () => {
  it('pins the export names of @aikit/adapters/next', async () => {
    const mod = await import('../src/next/index.js')
    expect(Object.keys(mod).sort()).toEqual([
      'aikitProxy',
      'canSetRequestHeader',
      'setRequestHeader',
      'withAikit',
    ])
  })
})

describe('edge-safety', () => {
  it('imports no node: module from the next subpath (transitively within the package)', () => {
    const srcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src')
    const seen = new Set<string>()
    const visit = (file: string): void => {
      if (seen.has(file)) return
      seen.add(file)
      const text = readFileSync(file, 'utf8')
      expect(text, file).not.toMatch(/from ['"]node:|require\(['"]node:|import\(['"]node:/)
      for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
        visit(path.resolve(path.dirname(file), `${m[1]}.ts`))
      }
    }
    visit(path.join(srcDir, 'next/index.ts'))
    expect(seen.size).toBeGreaterThan(5)
  })
})
