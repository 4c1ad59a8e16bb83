/**
 * `ctx.respond` headers: the adapter frames the body itself, so the connection-specific fields
 * (RFC 9110 §7.6.1: Transfer-Encoding, Keep-Alive, Upgrade, Proxy-Connection, TE, and Connection
 * with the fields it names) are dropped; `Connection: close` is kept.
 */
import type { Middleware, ResponseBody } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

async function written(headers: Record<string, string>, body: ResponseBody = 'hello') {
  const mw: Middleware = async function proxy(ctx) {
    ctx.respond(200, body, headers)
  }
  const ctx = new TestContext()
  await ctx.run(mw)
  return ctx.written!.headers
}

describe('respond() connection-specific headers', () => {
  it('drops Transfer-Encoding (any case) copied from an upstream response', async () => {
    expect(await written({ 'Transfer-Encoding': 'chunked', 'x-upstream': '1' })).toEqual({
      'content-type': 'text/plain; charset=utf-8',
      'x-upstream': '1',
    })
  })

  it('drops Keep-Alive, Upgrade, Proxy-Connection and TE', async () => {
    expect(
      await written({
        'keep-alive': 'timeout=5',
        Upgrade: 'websocket',
        'proxy-connection': 'keep-alive',
        te: 'trailers',
        'content-type': 'text/plain',
      })
    ).toEqual({ 'content-type': 'text/plain' })
  })

  it('drops Connection and the fields it names, keeping its close option', async () => {
    expect(
      await written({
        Connection: 'X-Hop, close',
        'x-hop': 'this hop only',
        'x-kept': 'end to end',
      })
    ).toEqual({
      connection: 'close',
      'content-type': 'text/plain; charset=utf-8',
      'x-kept': 'end to end',
    })
    expect(await written({ connection: 'keep-alive' })).toEqual({
      'content-type': 'text/plain; charset=utf-8',
    })
  })

  it('a Content-Type named by Connection is dropped and the default one applies', async () => {
    expect(await written({ connection: 'content-type', 'Content-Type': 'text/html' })).toEqual({
      'content-type': 'text/plain; charset=utf-8',
    })
  })

  it('keeps a Content-Length given with a stream (the adapter then sends it unchunked)', async () => {
    const stream = new ReadableStream<Uint8Array>()
    expect(
      await written({ 'content-length': '10', 'transfer-encoding': 'chunked' }, stream)
    ).toEqual({ 'content-length': '10', 'content-type': 'application/octet-stream' })
  })

  it('does not change the headers object the middleware passed', async () => {
    const given = { 'transfer-encoding': 'chunked' }
    await written(given)
    expect(given).toEqual({ 'transfer-encoding': 'chunked' })
  })
})
