/**
 * Next wraps the route handler's request in a Proxy (app-route/module.js `proxyNextRequest`,
 * used for the default `dynamic = 'auto'`; `force-static` / `error` use Proxies too). Rebuilding
 * it with `new Request(proxy, init)` reads undici's private `#state` through the Proxy, which
 * throws on Node 24 (undici 7): withAikit rebuilds the request from its parts whenever a
 * middleware read the body or set a request header. (On Node 20 these pass either way: the CI's
 * Node 24 leg is the one that guards it.)
 */
import { BODY_POLICY } from '@aikit/core/adapter'
import { NextRequest } from 'next/server.js'
import { describe, expect, it } from 'vitest'
import { setRequestHeader, withAikit } from '../src/next/index.js'

/** What Next's proxyNextRequest does for every property it does not track (`default:` branch). */
function nextProxied(req: Request): Request {
  return new Proxy(req, {
    get(target, prop) {
      return Reflect.get(target, prop, target)
    },
  })
}

describe('withAikit with the request Proxy Next hands to a dynamic="auto" route', () => {
  it('hands a request header set by a middleware to the handler', async () => {
    const route = withAikit(
      (req: Request) => Response.json({ nonce: req.headers.get('x-nonce') }),
      async (ctx, next) => {
        setRequestHeader(ctx, 'x-nonce', 'n1')
        await next()
      }
    )
    const res = await route(nextProxied(new NextRequest('http://127.0.0.1:3000/api/a')), {})
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ nonce: 'n1' })
  })

  it('hands a JSON body read by a middleware to the handler', async () => {
    const route = withAikit(
      async (req: Request) => Response.json({ got: await req.json() }),
      async (ctx, next) => {
        await ctx.json()
        await next()
      }
    )
    const req = new NextRequest('http://127.0.0.1:3000/api/a', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    })
    const res = await route(nextProxied(req), {})
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ got: { a: 1 } })
  })

  it('lets the handler read its body under a body policy (bodyLimit())', async () => {
    const route = withAikit(
      async (req: Request) => new Response(await req.text()),
      async (ctx, next) => {
        ;(ctx as unknown as Record<symbol, (p: unknown) => void>)[BODY_POLICY]!({
          maxBytes: 1024,
          decompress: false,
          timeoutMs: 0,
        })
        await next()
      }
    )
    const req = new NextRequest('http://127.0.0.1:3000/api/a', { method: 'POST', body: 'hello' })
    const res = await route(nextProxied(req), {})
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('hello')
  })
})
