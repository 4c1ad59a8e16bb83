/**
 * The body policy on an Edge-runtime App Router route handler (fixtures/next-app/edge, route
 * app/edge-body): the handler's own `req.text()` reads a counting, decoding stream; past the
 * limit, or for a coding the runtime cannot decode, the adapter answers with the kit's JSON error.
 * (The 408 on a stalled body is not shown here: in Next's local Edge sandbox a stalled request
 * never reached the route handler. It is covered on the Node runtime, body-limit.next.test.ts in
 * @aikit/security, and by core's request-body.test.ts.)
 */
import { request as httpRequest } from 'node:http'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildFixture,
  EDGE_FIXTURE_DIR,
  type FixtureServer,
  loadNext,
  serve,
} from './fixtures/next-app/harness.js'

let next: Awaited<ReturnType<typeof loadNext>> | undefined
let server: FixtureServer | undefined

beforeAll(async () => {
  await buildFixture(EDGE_FIXTURE_DIR)
  next = await loadNext(EDGE_FIXTURE_DIR)
  server = await serve(next.handle)
}, 300_000)

afterAll(async () => {
  await server?.close()
  await next?.close()
})

function base(): URL {
  if (server === undefined) throw new Error('server did not start')
  return new URL(server.url)
}

/** Streams `total` bytes chunked to the route; resolves with the first answer. */
function sendChunked(total: number): Promise<{ status: number; body: string }> {
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  return new Promise((resolve, reject) => {
    let sent = 0
    let done = false
    const req = httpRequest({
      host: '127.0.0.1',
      port: Number(base().port),
      path: '/edge-body',
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' },
    })
    req.on('response', (res) => {
      done = true
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => {
        body += d
      })
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body })
        req.destroy()
      })
    })
    req.on('error', (e) => (done ? undefined : reject(e)))
    const pump = (): void => {
      while (!done && sent < total) {
        sent += chunk.length
        if (!req.write(chunk)) {
          req.once('drain', pump)
          return
        }
      }
      if (!done) req.end()
    }
    pump()
  })
}

describe('a body policy on an Edge route handler', () => {
  it('a 5 MB chunked body read by the handler → 413 with the JSON error', async () => {
    const res = await sendChunked(5 * 1024 * 1024)
    expect(res.status).toBe(413)
    expect(JSON.parse(res.body)).toEqual({
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: 'Request body exceeds 1024 bytes',
        details: { limitBytes: 1024 },
      },
    })
  })

  it('a body within the limit reaches the handler', async () => {
    const res = await fetch(new URL('/edge-body', base()), { method: 'POST', body: 'hello' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ length: 5, head: 'hello' })
  })

  it('gzip is decoded where the runtime has DecompressionStream (a bomb stops at 413), else 415', async () => {
    const { decompression } = (await (await fetch(new URL('/edge-body', base()))).json()) as {
      decompression: boolean
    }
    const ok = await fetch(new URL('/edge-body', base()), {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync('hello, edge'),
    })
    const bomb = await fetch(new URL('/edge-body', base()), {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20)),
    })
    if (decompression) {
      expect(ok.status).toBe(200)
      expect(await ok.json()).toEqual({ length: 11, head: 'hello, edge' })
      expect(bomb.status).toBe(413)
      expect((await bomb.json()).error.code).toBe('PAYLOAD_TOO_LARGE')
    } else {
      // Next's local Edge sandbox has no DecompressionStream: refused, never read undecoded.
      expect(ok.status).toBe(415)
      expect((await ok.json()).error.code).toBe('UNSUPPORTED_MEDIA_TYPE')
      expect(bomb.status).toBe(415)
      await bomb.arrayBuffer()
    }
  })
})
