import { createServer, request as httpRequest, type Server } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { gzipSync } from 'node:zlib'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { withAikit } from '@aikit/adapters/next'
import { toNodeHandler } from '@aikit/adapters/node'
import { InvalidOptionsError, type Middleware } from '@aikit/core'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { bodyLimit, parseByteSize, parseContentLength } from '../src/body-limit.js'

const servers: Server[] = []
const apps: FastifyInstance[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all([
    ...servers.map((s) => new Promise((resolve) => s.close(resolve))),
    ...apps.map((a) => a.close()),
  ])
})

/** A route middleware that echoes the parsed JSON body. */
function echoJson(calls: { n: number }): Middleware {
  return async (ctx) => {
    calls.n++
    ctx.respond(200, { got: await ctx.json() })
  }
}

async function nodeServer(...mw: Middleware[]): Promise<number> {
  const server = createServer(toNodeHandler(...mw))
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/** Sends raw bytes and resolves with the raw response text once the server answers. */
function raw(port: number, head: string, body = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.on('data', (d) => {
      text += d.toString('latin1')
      if (text.includes('\r\n\r\n') && /\}\s*$/.test(text)) {
        socket.destroy()
        resolve(text)
      }
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(text))
    socket.write(head + body)
  })
}

describe('bodyLimit through node:http', () => {
  it('answers 413 at once from a huge Content-Length, with Connection: close, body unread', async () => {
    const calls = { n: 0 }
    const port = await nodeServer(bodyLimit({ maxBytes: '1mb' }), echoJson(calls))
    const res = await raw(
      port,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n',
      '{"a":'
    )
    expect(res).toMatch(/^HTTP\/1\.1 413/)
    expect(res.toLowerCase()).toContain('connection: close')
    expect(res).toContain('"code":"PAYLOAD_TOO_LARGE"')
    expect(calls.n).toBe(0)
  })

  it('stops a chunked body as soon as it passes the limit (413 before the client is done)', async () => {
    const calls = { n: 0 }
    const port = await nodeServer(bodyLimit({ maxBytes: 64 * 1024 }), echoJson(calls))
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    const result = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      let sent = 0
      let done = false
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      })
      req.on('response', (res) => {
        done = true
        res.resume()
        resolve({ status: res.statusCode ?? 0, sent })
        req.destroy()
      })
      req.on('error', (e) => (done ? undefined : reject(e)))
      req.write('[')
      const pump = (): void => {
        while (!done && sent < 50 * 1024 * 1024) {
          sent += chunk.length
          if (!req.write(chunk)) {
            req.once('drain', pump)
            return
          }
        }
      }
      pump()
    })
    expect(result.status).toBe(413)
    expect(result.sent).toBeLessThan(50 * 1024 * 1024)
    expect(calls.n).toBe(1)
  })

  it('caps ctx.json() downstream even when the adapter default is larger', async () => {
    const calls = { n: 0 }
    const port = await nodeServer(bodyLimit({ maxBytes: 16 }), echoJson(calls))
    const body = JSON.stringify({ text: 'x'.repeat(40) })
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob([body]).stream(),
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: 'Request body exceeds 16 bytes',
        details: { limitBytes: 16 },
      },
    })
  })

  it('passes a body within the limit', async () => {
    const calls = { n: 0 }
    const port = await nodeServer(bodyLimit({ maxBytes: 1024 }), echoJson(calls))
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"q":"hi"}',
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ got: { q: 'hi' } })
  })

  it('refuses a compressed body by default (decompress: false) with 415', async () => {
    const calls = { n: 0 }
    const port = await nodeServer(bodyLimit(), echoJson(calls))
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: 'not really gzip',
    })
    expect(res.status).toBe(415)
    expect(calls.n).toBe(0)
  })

  it('decompress: decodes 5 stacked codings, refuses 6 or more with 415 unread', async () => {
    const calls = { n: 0 }
    const port = await nodeServer(bodyLimit({ decompress: true }), echoJson(calls))
    const send = (layers: number) => {
      let body = Buffer.from('{"q":"hi"}')
      for (let i = 0; i < layers; i++) body = gzipSync(body)
      return fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-encoding': Array<string>(layers).fill('gzip').join(', '),
        },
        body,
      })
    }
    const five = await send(5)
    expect(five.status).toBe(200)
    expect(await five.json()).toEqual({ got: { q: 'hi' } })
    // 1000 layers (a 5 KB header, a 23 KB body) took 1 s to decode before the cap, 2000 took 20 s.
    for (const layers of [6, 1000]) {
      const res = await send(layers)
      expect(res.status).toBe(415)
      expect((await res.json()).error.code).toBe('UNSUPPORTED_MEDIA_TYPE')
    }
    expect(calls.n).toBe(1)
  })

  it('requireJson: a JSON body sent as text/plain or a form is 415', async () => {
    const calls = { n: 0 }
    const port = await nodeServer(bodyLimit({ requireJson: true }), echoJson(calls))
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=utf-16',
    ]) {
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: '{"a":1}',
      })
      expect(res.status).toBe(415)
      expect((await res.json()).error.code).toBe('UNSUPPORTED_MEDIA_TYPE')
    }
    expect(calls.n).toBe(0)
  })
})

describe('bodyLimit through Express and Fastify', () => {
  it('Express: 413 from Content-Length, route not called', async () => {
    let called = 0
    const app = express()
    app.use(toExpress(bodyLimit({ maxBytes: 10 })))
    app.post('/', (_req, res) => {
      called++
      res.json({ ok: true })
    })
    const server = createServer(app)
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"long":"enough to pass ten bytes"}',
    })
    expect(res.status).toBe(413)
    expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE')
    expect(called).toBe(0)
  })

  it('Fastify: 413 from Content-Length, route not called', async () => {
    let called = 0
    const app = Fastify({ logger: false })
    await app.register(aikitFastify, { use: [bodyLimit({ maxBytes: 10 })] })
    app.post('/', async () => {
      called++
      return { ok: true }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    apps.push(app)
    const port = (app.server.address() as AddressInfo).port
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"long":"enough to pass ten bytes"}',
    })
    expect(res.status).toBe(413)
    expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE')
    expect(called).toBe(0)
  })
})

describe('bodyLimit on the Web path (Next route handler)', () => {
  const route = (mw: Middleware) =>
    withAikit(async (req: Request) => Response.json({ got: await req.text() }), mw)

  it.each([
    ['a malformed Content-Length', { 'content-length': '1e3' }, 400],
    ['differing repeated lengths', { 'content-length': '5, 6' }, 400],
    [
      'Content-Length with Transfer-Encoding',
      { 'content-length': '7', 'transfer-encoding': 'chunked' },
      400,
    ],
    ['a Content-Length over the limit', { 'content-length': '10737418240' }, 413],
  ])('%s → %i', async (_name, headers, status) => {
    const res = await route(bodyLimit({ maxBytes: 1024 }))(
      new Request('http://app.test/api', { method: 'POST', headers, body: '{"a":1}' }),
      {}
    )
    expect(res.status).toBe(status)
    const body = await res.json()
    expect(body.error.code).toBe(status === 413 ? 'PAYLOAD_TOO_LARGE' : 'INVALID_REQUEST')
    expect(JSON.stringify(body)).not.toContain('1e3')
  })
})

describe('bodyLimit helpers and options', () => {
  it('parses Content-Length strictly', () => {
    expect(parseContentLength(undefined)).toBeUndefined()
    expect(parseContentLength('0')).toBe(0)
    expect(parseContentLength('42')).toBe(42)
    expect(parseContentLength('42, 42')).toBe(42)
    for (const bad of [
      '',
      '-1',
      '+1',
      '1e3',
      '0x10',
      '4 2',
      '42, 43',
      '1.5',
      '99999999999999999',
    ]) {
      expect(parseContentLength(bad)).toBeNull()
    }
  })

  it('parses sizes', () => {
    expect(parseByteSize('100kb', 'maxBytes')).toBe(102_400)
    expect(parseByteSize('1MB', 'maxBytes')).toBe(1_048_576)
    expect(parseByteSize(5, 'maxBytes')).toBe(5)
  })

  it.each([
    [{ maxBytes: 0 }, 'maxBytes'],
    [{ maxBytes: '1 lightyear' }, 'maxBytes'],
    [{ maxDepth: -1 }, 'maxDepth'],
    [{ allowEncodings: 'gzip' }, 'allowEncodings'],
    [{ requireJson: 1 }, 'requireJson'],
    [{ decompress: 'yes' }, 'decompress'],
    [{ timeoutMs: -1 }, 'timeoutMs'],
    [{ timeoutMs: 1.5 }, 'timeoutMs'],
  ])('%o throws InvalidOptionsError(%s)', (options, field) => {
    expect(() => bodyLimit(options as never)).toThrow(InvalidOptionsError)
    try {
      bodyLimit(options as never)
    } catch (e) {
      expect((e as InvalidOptionsError).field).toBe(field)
    }
  })
})
