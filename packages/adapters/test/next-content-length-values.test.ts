/**
 * On the Web path the kit holds a body to its Content-Length, as read from the Web `Headers`, which
 * join a repeated field with ", ". A list of one value repeated ("40, 40", which RFC 9110 §8.6 lets
 * a recipient fold) is that length: a body that ends short of it is 400, not parsed as if whole.
 * Differing values ("7, 40") or a value that is not decimal digits ("abc", "-1", "") leave the
 * body's end unknown: RFC 9112 §6.3 makes that an unrecoverable error the server answers with 400
 * (Node's parser does so for node:http). A value too large to be exact (past 2^53) is still a
 * length: a body ends short of it. All were ignored before: the truncated body reached the parser.
 */
import type { Middleware } from '@aikit/core'
import { BODY_POLICY } from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'
import { aikitProxy, withAikit } from '../src/next/index.js'

const encoder = new TextEncoder()

/** A POST whose body stream yields `body` then ends, with `contentLength` as its header. */
function post(body: string, contentLength: string): Request {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(body))
      controller.close()
    },
  })
  return new Request('http://127.0.0.1:3000/chat', {
    method: 'POST',
    body: stream,
    duplex: 'half',
    headers: { 'content-type': 'application/json', 'content-length': contentLength },
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

/** The same request answered with ctx.json() reading it, and with the route reading it. */
async function bothReads(body: string, contentLength: string): Promise<Response[]> {
  return [
    await withAikit(route, echo)(post(body, contentLength), {}),
    await withAikit(route, policy)(post(body, contentLength), {}),
  ]
}

async function expectInvalid(res: Response, message: string): Promise<void> {
  expect(res.status).toBe(400)
  expect(res.headers.get('connection')).toBe('close')
  expect(res.headers.get('content-type')).toContain('application/json')
  expect(await res.json()).toMatchObject({ error: { code: 'INVALID_REQUEST', message } })
}

const SHORT = 'The request body ended before its declared Content-Length'
const NO_LENGTH = 'The request Content-Length is not a valid length'

describe('withAikit: a Content-Length repeated with one value', () => {
  it('holds the body to that value: one that ends short is 400', async () => {
    // `{"a":1}` parses on its own: without the check it would pass as the whole body.
    for (const res of await bothReads('{"a":1}', '40, 40')) await expectInvalid(res, SHORT)
  })

  it('passes a body of exactly that length', async () => {
    const [byCtx, byRoute] = await bothReads('{"a":1}', '7, 7')
    expect(await byCtx!.json()).toEqual({ echo: { a: 1 } })
    expect(await byRoute!.json()).toEqual({ route: { a: 1 } })
  })
})

describe('withAikit and aikitProxy: a Content-Length that is no length', () => {
  it.each(['7, 40', 'abc', '-1', '', '0x7', '7.0'])(
    '%j is 400, whoever reads the body',
    async (value) => {
      for (const res of await bothReads('{"a":1}', value)) await expectInvalid(res, NO_LENGTH)
      await expectInvalid(await aikitProxy(echo)(post('{"a":1}', value)), NO_LENGTH)
    }
  )
})

describe("withAikit: a Content-Length past 2^53, the route's read", () => {
  it('is 400 when the body ends short of it', async () => {
    const res = await withAikit(route, policy)(post('{"a":1}', '99999999999999999999'), {})
    await expectInvalid(res, SHORT)
  })
})
