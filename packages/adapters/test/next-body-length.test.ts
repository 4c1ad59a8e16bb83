/**
 * On the Web path a `Request` built on a stream with a `Content-Length` header does not hold the
 * body to it (undici hands over whatever the stream yields): a body that ends short of it is an
 * incomplete message (RFC 9112 §6.3), one that runs past it is malformed. Both get the kit's JSON
 * 400 `INVALID_REQUEST`, whether `ctx.json()` or the route read the body, under `withAikit` and
 * `aikitProxy`, instead of parsing a truncated body as if whole. (Node's HTTP parser already does
 * this for node:http, so Next's own server cannot produce such a Request; other hosts of the
 * same route handler can.)
 */
import type { Middleware } from '@aikit/core'
import { BODY_POLICY } from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'
import { aikitProxy, withAikit } from '../src/next/index.js'

const URL_BASE = 'http://127.0.0.1:3000'
const encoder = new TextEncoder()

/** A POST whose body stream yields `chunks` then ends, declaring `declared` bytes. */
function post(chunks: string[], declared: number): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c))
      controller.close()
    },
  })
  return new Request(`${URL_BASE}/chat`, {
    method: 'POST',
    body,
    duplex: 'half',
    headers: { 'content-type': 'application/json', 'content-length': String(declared) },
  } as RequestInit)
}

const echo: Middleware = async function echo(ctx) {
  ctx.respond(200, { echo: await ctx.json() })
}

/** Makes the adapter hold the route's own reads to a body policy, as security's bodyLimit() does. */
const policy: Middleware = async function policy(ctx, next) {
  ;(ctx as unknown as Record<symbol, (p: unknown) => void>)[BODY_POLICY]!({
    maxBytes: 1000,
    decompress: false,
    timeoutMs: 0,
  })
  return next()
}

const route = async (req: Request) => Response.json({ route: JSON.parse(await req.text()) })

async function expectInvalid(res: Response, message: string): Promise<void> {
  expect(res.status).toBe(400)
  expect(res.headers.get('content-type')).toContain('application/json')
  expect(await res.json()).toMatchObject({ error: { code: 'INVALID_REQUEST', message } })
}

const SHORT = 'The request body ended before its declared Content-Length'
const LONG = 'The request body is longer than its declared Content-Length'

describe('withAikit: a body that does not match its Content-Length', () => {
  it('answers 400 when the body read by ctx.json() ends short, and closes the connection', async () => {
    // `{"a":1}` parses on its own: without the check it would pass as the whole body.
    const res = await withAikit(route, echo)(post(['{"a":', '1}'], 40), {})
    expect(res.headers.get('connection')).toBe('close')
    await expectInvalid(res, SHORT)
  })

  it("answers 400 when the route's own read ends short", async () => {
    const res = await withAikit(route, policy)(post(['{"a":1}'], 40), {})
    expect(res.headers.get('connection')).toBe('close')
    await expectInvalid(res, SHORT)
  })

  it('answers 400 when the body runs past its Content-Length', async () => {
    await expectInvalid(await withAikit(route, echo)(post(['{"a":1}', '   '], 7), {}), LONG)
    await expectInvalid(await withAikit(route, policy)(post(['{"a":1}  '], 7), {}), LONG)
  })

  it('passes a streamed body of exactly its Content-Length', async () => {
    const res = await withAikit(route, echo)(post(['{"a":', '1}'], 7), {})
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ echo: { a: 1 } })
    const routed = await withAikit(route, policy)(post(['{"a":', '1}'], 7), {})
    expect(await routed.json()).toEqual({ route: { a: 1 } })
  })
})

describe('aikitProxy: a body that does not match its Content-Length', () => {
  it('answers 400 when the body read by ctx.json() ends short', async () => {
    await expectInvalid(await aikitProxy(echo)(post(['{"a":1}'], 40)), SHORT)
  })
})
