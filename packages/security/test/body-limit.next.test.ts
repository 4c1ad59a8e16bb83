/**
 * bodyLimit() on a route handler that reads its own body, inside a real Next 16 server (the
 * security fixture, route app/raw/body-limit: `withAikit(req => req.text(), bodyLimit({ maxBytes:
 * 1024, decompress: true, timeoutMs: 300 }))`). Before, the handler received the original
 * Request and read a 5 MB chunked body whole (200).
 */
import { gzipSync } from 'node:zlib'
import { rawRequest } from '@aikit/testing/raw-http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendChunked, stall } from './body-wire.js'
import { buildFixture, type FixtureServer, loadNext, serve } from './fixtures/next-app/harness.js'

let next: Awaited<ReturnType<typeof loadNext>> | undefined
let server: FixtureServer | undefined

beforeAll(async () => {
  await buildFixture()
  next = await loadNext()
  server = await serve(next.handle)
}, 300_000)

afterAll(async () => {
  await server?.close()
  await next?.close()
})

function port(): number {
  if (server === undefined) throw new Error('server did not start')
  return Number(new URL(server.url).port)
}

async function counts(): Promise<{ reads: number; failed: number }> {
  return (await fetch(`${server?.url}/raw/body-limit`)).json()
}

describe('bodyLimit on an App Router route handler that reads the body itself', () => {
  it('a 5 MB chunked body read with req.text() → 413 with the JSON error, the read failed', async () => {
    const before = await counts()
    const res = await sendChunked(
      port(),
      5 * 1024 * 1024,
      { 'content-type': 'text/plain' },
      '/raw/body-limit'
    )
    expect(res.status).toBe(413)
    expect(JSON.parse(res.body)).toEqual({
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: 'Request body exceeds 1024 bytes',
        details: { limitBytes: 1024 },
      },
    })
    const after = await counts()
    expect(after.reads).toBe(before.reads + 1)
    expect(after.failed).toBe(before.failed + 1)
  })

  it('bodyLimit in proxy.ts: a chunked body past the limit → 413, the route never runs', async () => {
    const reads = async (): Promise<number> =>
      ((await (await fetch(`${server?.url}/api/proxied-body`)).json()) as { reads: number }).reads
    const before = await reads()
    // Before, the proxy checked a declared Content-Length only: the route read the whole body.
    const res = await sendChunked(
      port(),
      5000,
      { 'content-type': 'text/plain' },
      '/api/proxied-body'
    )
    expect(res.status).toBe(413)
    expect(JSON.parse(res.body).error.code).toBe('PAYLOAD_TOO_LARGE')
    expect(await reads()).toBe(before)
    // A stream body: fetch sends it chunked.
    const small = await fetch(`${server?.url}/api/proxied-body`, {
      method: 'POST',
      body: new Blob(['a'.repeat(500)]).stream(),
      duplex: 'half',
    } as RequestInit)
    expect(small.status).toBe(200)
    expect(await small.json()).toEqual({ length: 500 })
    expect(await reads()).toBe(before + 1)
  })

  it('a body within the limit reaches the handler', async () => {
    const res = await fetch(`${server?.url}/raw/body-limit`, { method: 'POST', body: 'hello' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ length: 5, head: 'hello' })
  })

  it('a gzip body is decoded for the handler; a gzip bomb stops at the limit (413)', async () => {
    const ok = await fetch(`${server?.url}/raw/body-limit`, {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync('hello, gzip'),
    })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ length: 11, head: 'hello, gzip' })
    const bomb = await fetch(`${server?.url}/raw/body-limit`, {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20)),
    })
    expect(bomb.status).toBe(413)
    expect((await bomb.json()).error.code).toBe('PAYLOAD_TOO_LARGE')
  })

  it('an unknown Content-Encoding is 415', async () => {
    const res = await fetch(`${server?.url}/raw/body-limit`, {
      method: 'POST',
      headers: { 'content-encoding': 'compress' },
      body: 'x',
    })
    expect(res.status).toBe(415)
    expect((await res.json()).error.code).toBe('UNSUPPORTED_MEDIA_TYPE')
  })

  it('row 20: Content-Length 1000 (within the 1 KiB limit), 100 bytes, then a stall → 408', async () => {
    const res = await stall(
      port(),
      'POST /raw/body-limit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n',
      'a'.repeat(100)
    )
    expect(res.status).toBe(408)
    expect(JSON.parse(res.body).error.code).toBe('REQUEST_TIMEOUT')
  })

  it('row 19 behind Next’s own server: Node’s parser answers a bare 400 before any app code can', async () => {
    // The socket belongs to Next's server, not to the kit: when the client half-closes mid-body,
    // llhttp fails with HPE_INVALID_EOF_STATE and Node writes `400 Bad Request` (no body) and
    // closes. (On node:http / Express / Fastify the kit answers first, with its JSON 400.)
    const res = await rawRequest(
      port(),
      new TextEncoder().encode(
        `POST /raw/body-limit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n${'a'.repeat(100)}`
      )
    )
    expect(res.status).toBe(400)
    expect(res.headers['content-type']).toBeUndefined()
    expect(res.body).toBe('')
  })
})
