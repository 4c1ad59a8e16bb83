/**
 * `ctx.json()` under `toExpress` keeps its guarantees when body-parser ran first (the common
 * `app.use(express.json())` before the kit), under Express 5 (body-parser 2) and 4 (body-parser 1):
 * - the parsed `req.body` it reuses passes the same checks as the kit's own parser: nesting depth
 *   (the adapter's `maxJsonDepth`), object member count, `__proto__` and `constructor.prototype`
 *   keys (400 `INVALID_REQUEST`, the route not called);
 * - a Buffer or string left by `express.raw()` / `express.text()` is parsed as JSON with the kit's
 *   parser and limits (413 past `maxBodyBytes`), while `req.body` keeps the raw form the route
 *   chose (a webhook's signature check needs the bytes);
 * - a JSON string that `express.json({ strict: false })` already parsed is returned as that string,
 *   not taken for `express.text()` output and parsed again.
 */
import { createServer } from 'node:http'
import { toExpress } from '@aikit/adapters/express'
import type { Middleware } from '@aikit/core'
import { assertJsonValue, REPLACE_BODY } from '@aikit/core/adapter'
import express from 'express'
import express4 from 'express4'
import { afterAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

declare module '@aikit/core' {
  interface AikitState {
    /** What the test chains read with `ctx.json()`. */
    reusedBody?: unknown
    reusedSeen?: unknown
  }
}

type Factory = typeof express
const servers: ConformanceServer[] = []
afterAll(() => Promise.all(servers.map((s) => s.close())))

/** An app with `parser` first, then the kit's chain, then a route that counts its calls. */
async function start(
  factory: Factory,
  parser: express.RequestHandler,
  chain: Parameters<typeof toExpress>,
  route?: express.RequestHandler
): Promise<{ url: string; calls: () => number }> {
  let calls = 0
  const app = factory()
  app.use(parser)
  app.use(toExpress(...chain))
  app.use((req, res, next) => {
    calls++
    if (route) route(req, res, next)
    else res.json({ ok: true })
  })
  const server = await listen(createServer(app))
  servers.push(server)
  return { url: server.url, calls: () => calls }
}

const readJson: Middleware = async (ctx, next) => {
  ctx.state.reusedBody = await ctx.json()
  await next()
}

async function post(url: string, body: string, type = 'application/json') {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': type }, body })
  const text = await res.text()
  return { status: res.status, text, json: () => JSON.parse(text) }
}

const members = (n: number): string =>
  `{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(',')}}`

describe.each([
  ['Express 5', express],
  ['Express 4', express4 as unknown as Factory],
])('%s: ctx.json() after an earlier express.json()', (_name, factory) => {
  it.each([
    ['a __proto__ key', '{"a":{"__proto__":{"isAdmin":true}}}'],
    ['constructor.prototype', '{"constructor":{"prototype":{"isAdmin":true}}}'],
    ['nesting deeper than maxJsonDepth (64)', `${'['.repeat(1000)}${']'.repeat(1000)}`],
    ['more than 10 000 object members', members(10_001)],
  ])(
    'refuses %s with 400 INVALID_REQUEST, as ctx.json() does without body-parser',
    async (_n, body) => {
      const app = await start(factory, factory.json({ limit: '1mb' }), [readJson])
      const res = await post(app.url, body)
      expect(res.status).toBe(400)
      expect(res.json().error.code).toBe('INVALID_REQUEST')
      expect(app.calls()).toBe(0)
    }
  )

  it("honours the adapter's maxJsonDepth on the reused body", async () => {
    const app = await start(factory, factory.json(), [readJson, { maxJsonDepth: 3 }])
    expect((await post(app.url, '{"a":{"b":[1]}}')).status).toBe(200)
    const deep = await post(app.url, '{"a":{"b":{"c":[1]}}}')
    expect(deep.status).toBe(400)
    expect(deep.json().error.details).toEqual({ maxDepth: 3 })
  })

  it('hands back the very object the route gets as req.body; 64 levels and 10 000 members pass', async () => {
    const keep: Middleware = async (ctx, next) => {
      ctx.state.reusedSeen = await ctx.json()
      await next()
    }
    const app = await start(factory, factory.json({ limit: '1mb' }), [keep], (req, res) => {
      res.json({ same: req.body === res.locals.aikit?.state.reusedSeen })
    })
    expect((await post(app.url, '{"a":1}')).json()).toEqual({ same: true })
    expect((await post(app.url, `${'['.repeat(64)}${']'.repeat(64)}`)).status).toBe(200)
    expect((await post(app.url, members(10_000))).status).toBe(200)
  })
})

describe.each([
  ['Express 5', express],
  ['Express 4', express4 as unknown as Factory],
])('%s: ctx.json() after an earlier express.raw() / express.text()', (_name, factory) => {
  const parsers = (): [string, express.RequestHandler, 'buffer' | 'string'][] => [
    ['express.raw', factory.raw({ type: 'application/json' }), 'buffer'],
    ['express.text', factory.text({ type: 'application/json' }), 'string'],
  ]

  it('returns the parsed JSON value, and req.body keeps the raw form the route chose', async () => {
    for (const [, parser, form] of parsers()) {
      const app = await start(
        factory,
        parser,
        [
          async (ctx, next) => {
            const body = await ctx.json()
            ctx.state.reusedBody = body
            await next()
          },
        ],
        (req, res) => {
          res.json({
            parsed: res.locals.aikit?.state.reusedBody,
            raw: Buffer.isBuffer(req.body) ? 'buffer' : typeof req.body,
            text: String(req.body),
          })
        }
      )
      const res = await post(app.url, '{"a":1}')
      expect(res.status).toBe(200)
      expect(res.json()).toEqual({ parsed: { a: 1 }, raw: form, text: '{"a":1}' })
    }
  })

  it('refuses a __proto__ key or invalid JSON with 400, and a body past maxBodyBytes with 413', async () => {
    for (const [, parser] of parsers()) {
      const app = await start(factory, parser, [readJson, { maxBodyBytes: 32 }])
      const proto = await post(app.url, '{"__proto__":{"x":1}}')
      expect(proto.status).toBe(400)
      expect(proto.json().error.code).toBe('INVALID_REQUEST')
      expect((await post(app.url, '{"a":')).status).toBe(400)
      const big = await post(app.url, JSON.stringify({ a: 'x'.repeat(64) }))
      expect(big.status).toBe(413)
      expect(big.json().error.code).toBe('PAYLOAD_TOO_LARGE')
      expect(app.calls()).toBe(0)
    }
  })

  it('a replaced body (REPLACE_BODY) reaches the route in its raw form', async () => {
    for (const [, parser, form] of parsers()) {
      const replace: Middleware = async (ctx, next) => {
        const body = (await ctx.json()) as { a: number }
        const value = { a: body.a + 1 }
        ;(ctx as unknown as Record<symbol, (v: unknown, b: Uint8Array) => void>)[REPLACE_BODY]!(
          value,
          new TextEncoder().encode(JSON.stringify(value))
        )
        await next()
      }
      const app = await start(factory, parser, [replace], (req, res) => {
        res.json({
          raw: Buffer.isBuffer(req.body) ? 'buffer' : typeof req.body,
          text: String(req.body),
        })
      })
      expect((await post(app.url, '{"a":1}')).json()).toEqual({ raw: form, text: '{"a":2}' })
    }
  })

  it('still answers 415 for a body-parser body that is not JSON', async () => {
    const app = await start(factory, factory.text(), [readJson])
    const res = await post(app.url, 'hello', 'text/plain')
    expect(res.status).toBe(415)
    expect(app.calls()).toBe(0)
  })
})

describe.each([
  ['Express 5', express],
  ['Express 4', express4 as unknown as Factory],
])('%s: ctx.json() after express.json({ strict: false })', (_name, factory) => {
  const echo: Middleware = async (ctx) => {
    ctx.respond(200, { value: await ctx.json() })
  }

  it('returns a JSON string body as the string, as ctx.json() does without body-parser', async () => {
    const bare = factory()
    bare.use(toExpress(echo))
    const server = await listen(createServer(bare))
    servers.push(server)
    const res = await post(server.url, '"hello"')
    expect({ status: res.status, json: res.json() }).toEqual({
      status: 200,
      json: { value: 'hello' },
    })
    const app = await start(factory, factory.json({ strict: false }), [echo])
    const reused = await post(app.url, '"hello"')
    expect({ status: reused.status, json: reused.json() }).toEqual({
      status: 200,
      json: { value: 'hello' },
    })
  })

  it('returns a JSON string holding JSON text as that string, not the value it spells', async () => {
    const app = await start(factory, factory.json({ strict: false }), [echo])
    const res = await post(app.url, '"[1,2]"')
    expect({ status: res.status, json: res.json() }).toEqual({
      status: 200,
      json: { value: '[1,2]' },
    })
  })

  it('a replaced JSON string body (REPLACE_BODY) reaches the route as the value, not JSON text', async () => {
    const replace: Middleware = async (ctx, next) => {
      const value = `${(await ctx.json()) as string}!`
      ;(ctx as unknown as Record<symbol, (v: unknown, b: Uint8Array) => void>)[REPLACE_BODY]!(
        value,
        new TextEncoder().encode(JSON.stringify(value))
      )
      await next()
    }
    const app = await start(factory, factory.json({ strict: false }), [replace], (req, res) => {
      res.json({ body: req.body })
    })
    expect((await post(app.url, '"hi"')).json()).toEqual({ body: 'hi!' })
  })

  it('still parses an express.text() body whose BOM body-parser stripped', async () => {
    const app = await start(factory, factory.text({ type: 'application/json' }), [echo])
    const res = await post(app.url, '\uFEFF[1,2]')
    expect({ status: res.status, json: res.json() }).toEqual({
      status: 200,
      json: { value: [1, 2] },
    })
  })
})

describe('assertJsonValue (the check applied to a reused body)', () => {
  it('deletes forbidden keys with protoAction remove, and ends a cyclic value at the depth limit', () => {
    const value = JSON.parse('{"a":{"__proto__":{"x":1},"constructor":{"prototype":{}}},"b":1}')
    assertJsonValue(value, 64, { protoAction: 'remove' })
    expect(Object.keys(value.a)).toEqual([])
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => assertJsonValue(cyclic, 64)).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', details: { maxDepth: 64 } })
    )
    expect(() => assertJsonValue(5, 1)).not.toThrow()
  })
})
