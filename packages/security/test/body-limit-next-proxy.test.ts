/**
 * bodyLimit() in `aikitProxy` (Next's proxy.ts): the route reads Next's own copy of the body, out
 * of the kit's reach, so a body whose size the limit cannot check up front (no Content-Length:
 * chunked) is read in the proxy through the limit. Before, only a declared Content-Length was
 * checked: a chunked body of any size went through to the route (200 where Express, Fastify,
 * node:http and withAikit answer 413).
 */
import { aikitProxy } from '@aikit/adapters/next'
import { describe, expect, it } from 'vitest'
import { bodyLimit } from '../src/body-limit.js'

/** A POST whose body is a stream of `size` bytes in 100-byte chunks, with no Content-Length. */
function chunked(size: number, headers: Record<string, string> = {}): Request {
  let sent = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) {
        controller.close()
        return
      }
      const n = Math.min(100, size - sent)
      sent += n
      controller.enqueue(new Uint8Array(n).fill(97))
    },
  })
  return new Request('http://app.test/api/notes', {
    method: 'POST',
    body,
    headers: { 'content-type': 'text/plain', ...headers },
    duplex: 'half',
  } as RequestInit)
}

describe('bodyLimit in aikitProxy', () => {
  const proxy = aikitProxy(bodyLimit({ maxBytes: 1024 }))

  it('answers a chunked body past maxBytes with the JSON 413 (the route does not get it)', async () => {
    const res = await proxy(chunked(5000))
    expect(res.status).toBe(413)
    expect(res.headers.get('x-middleware-next')).toBeNull()
    expect(await res.json()).toEqual({
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: 'Request body exceeds 1024 bytes',
        details: { limitBytes: 1024 },
      },
    })
  })

  it('passes a chunked body within maxBytes on to the route', async () => {
    const res = await proxy(chunked(1000))
    expect(res.headers.get('x-middleware-next')).toBe('1')
  })

  it('passes a body with a Content-Length within maxBytes on without reading it', async () => {
    const request = new Request('http://app.test/api/notes', {
      method: 'POST',
      body: 'a'.repeat(1000),
      // As Next hands the proxy a request that declared one (a Request built here has none).
      headers: { 'content-type': 'text/plain', 'content-length': '1000' },
    })
    const res = await proxy(request)
    expect(res.headers.get('x-middleware-next')).toBe('1')
    expect(request.bodyUsed).toBe(false)
  })
})
