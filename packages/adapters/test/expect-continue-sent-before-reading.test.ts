/**
 * `Expect: 100-continue` (RFC 9110 §10.1.1) lets a client learn from the head alone that its body
 * will be refused, before uploading it. Guaranteed on node:http and Express (with the server's
 * 'checkContinue' routed to the app, as documented) and on Fastify (the plugin does it):
 *
 * - a request a middleware refuses from its head (bodyLimit()'s 413 for a declared length,
 *   csrf()'s 403, rateLimit()'s 429) gets the final status without a `100 Continue` before it;
 * - a request whose body is read gets exactly one `100 Continue`, before the final status, and its
 *   body is read as usual: by the kit (`ctx.json()`), by the route reading the request itself
 *   (Fastify: its own parser), and on Fastify by a route outside the plugin's scope;
 * - on a node:http or Express server without a 'checkContinue' listener Node still sends its own
 *   100 on receipt, and the adapters send no second one;
 * - the wait for the 100 is not a stalled body: a step slower than bodyLimit()'s `timeoutMs`
 *   before the body is read (an auth or rate-limit store call) ends in a 200, and the client gets
 *   a whole period after the 100 before a body that does not come is a 408.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import express from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { rateLimit } from '../../ratelimit/src/index.js'
import { bodyLimit, csrf } from '../../security/src/index.js'
import { collect, openSocket, type Running } from './fixtures/node-adapters.js'

/**
 * Reads the whole request body as text (what a route reading `req` itself does), or gives the
 * body a middleware's `ctx.json()` read, left on `req.body` (the stream is consumed then).
 */
function readText(req: IncomingMessage & { body?: unknown }): Promise<string> {
  if (req.body !== undefined) return Promise.resolve(JSON.stringify(req.body))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString()))
    req.on('error', reject)
  })
}

async function listen(server: Server): Promise<Running> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The route echoes `got <body>`, reading the request itself (Fastify: its JSON parser). */
type Start = (mw: Middleware[], checkContinue: boolean) => Promise<Running>

const nodeStart: Start = (mw, checkContinue) => {
  const handler = toNodeHandler(...mw, {
    handler: async (req, res) => {
      res.end(`got ${await readText(req)}`)
    },
  })
  const server = createServer(handler)
  if (checkContinue) server.on('checkContinue', handler)
  return listen(server)
}

function expressStart(factory: typeof express): Start {
  return (mw, checkContinue) => {
    const app = factory()
    app.use(toExpress(...mw) as never)
    app.use(async (req: IncomingMessage, res: { end(s: string): void }) => {
      res.end(`got ${await readText(req)}`)
    })
    const server = createServer(app)
    if (checkContinue) server.on('checkContinue', app)
    return listen(server)
  }
}

const fastifyStart: Start = async (mw) => {
  const app = Fastify()
  // Declared before the plugin: outside its scope, the kit never sees its requests.
  await app.register(async (early) => {
    early.post('/early', async (request) => `early ${JSON.stringify(request.body)}`)
  })
  await app.register(aikitFastify, { use: mw })
  app.all('/*', async (request) => `got ${JSON.stringify(request.body ?? '')}`)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    port: (app.server.address() as AddressInfo).port,
    close: () => app.close(),
  }
}

/** [name, start] with 'checkContinue' handled (node:http and Express: routed to the app). */
const ADAPTERS: [string, Start][] = [
  ['node:http', nodeStart],
  ['express 5', expressStart(express)],
  ['express 4', expressStart(express4 as unknown as typeof express)],
  ['fastify', fastifyStart],
]

/**
 * Sends `head`; once a `100 Continue` came, sends `body`. Resolves with everything received when
 * the server closed the connection (every request says `Connection: close`), or after `ms`.
 */
async function exchange(port: number, head: string, body = '', ms = 3000): Promise<string> {
  const socket = await openSocket(port)
  const read = collect(socket)
  let sent = false
  socket.on('data', () => {
    if (!sent && body !== '' && read().startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
      sent = true
      socket.write(body)
    }
  })
  const closed = new Promise((resolve) => socket.once('close', resolve))
  const timer = new Promise((resolve) => setTimeout(resolve, ms))
  socket.write(head)
  await Promise.race([closed, timer])
  socket.destroy()
  return read()
}

function post(path: string, length: number, extra = ''): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${length}\r\nExpect: 100-continue\r\nConnection: close\r\n${extra}\r\n`
  )
}

function continues(text: string): number {
  return text.split('100 Continue').length - 1
}

/** POSTs `{"a":1}` expecting a 100: exactly one 100 Continue, then the 200 echoing the body. */
async function expectBodyReadAfterOne100(server: Running, ms?: number): Promise<void> {
  try {
    const text = await exchange(server.port, post('/echo', 7), '{"a":1}', ms)
    expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ')).toBe(true)
    expect(continues(text)).toBe(1)
    expect(text).toMatch(/got \{"a":1\}$/)
  } finally {
    await server.close()
  }
}

describe('Expect: 100-continue: a request refused from its head gets no 100 Continue', () => {
  for (const [name, start] of ADAPTERS) {
    it(`${name}: bodyLimit()'s 413 for a declared length comes without a 100 before it`, async () => {
      const server = await start([bodyLimit({ maxBytes: 1024 })], true)
      try {
        const text = await exchange(server.port, post('/upload', 10485760))
        expect(text.startsWith('HTTP/1.1 413 ')).toBe(true)
        expect(continues(text)).toBe(0)
      } finally {
        await server.close()
      }
    })

    it(`${name}: csrf()'s 403 comes without a 100 before it`, async () => {
      const server = await start([csrf()], true)
      try {
        const text = await exchange(server.port, post('/form', 7, 'Sec-Fetch-Site: cross-site\r\n'))
        expect(text.startsWith('HTTP/1.1 403 ')).toBe(true)
        expect(continues(text)).toBe(0)
      } finally {
        await server.close()
      }
    })

    it(`${name}: rateLimit()'s 429 comes without a 100 before it`, async () => {
      const server = await start([rateLimit({ limits: [{ limit: 1, window: '1m' }] })], true)
      try {
        const first = await exchange(server.port, post('/chat', 7), '{"a":1}')
        expect(first).toMatch(/HTTP\/1\.1 200 /)
        const text = await exchange(server.port, post('/chat', 7), '{"a":1}')
        expect(text.startsWith('HTTP/1.1 429 ')).toBe(true)
        expect(continues(text)).toBe(0)
      } finally {
        await server.close()
      }
    })
  }
})

describe('Expect: 100-continue: a request whose body is read gets one 100 Continue first', () => {
  for (const [name, start] of ADAPTERS) {
    it(`${name}: the route reading the request gets the body after one 100`, async () => {
      const server = await start([bodyLimit({ maxBytes: 1024 })], true)
      await expectBodyReadAfterOne100(server)
    })

    it(`${name}: a middleware's ctx.json() gets the body after one 100`, async () => {
      const seen: unknown[] = []
      const readsBody: Middleware = async (ctx, next) => {
        seen.push(await ctx.json())
        await next()
      }
      const server = await start([bodyLimit({ maxBytes: 1024 }), readsBody], true)
      try {
        const text = await exchange(server.port, post('/echo', 7), '{"a":1}')
        expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ')).toBe(true)
        expect(continues(text)).toBe(1)
        expect(seen).toEqual([{ a: 1 }])
      } finally {
        await server.close()
      }
    })
  }

  it('fastify: a route outside the plugin scope still gets its 100 and its body', async () => {
    const server = await fastifyStart([bodyLimit({ maxBytes: 1024 })], true)
    try {
      const text = await exchange(server.port, post('/early', 7), '{"a":1}')
      expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ')).toBe(true)
      expect(continues(text)).toBe(1)
      expect(text).toMatch(/early \{"a":1\}$/)
    } finally {
      await server.close()
    }
  })

  for (const [name, start] of ADAPTERS.slice(0, 3)) {
    it(`${name} without a 'checkContinue' listener: Node's own 100, no second one`, async () => {
      const readsBody: Middleware = async (ctx, next) => {
        await ctx.json()
        await next()
      }
      const server = await start([bodyLimit({ maxBytes: 1024 }), readsBody], false)
      try {
        const text = await exchange(server.port, post('/echo', 7), '{"a":1}')
        expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ')).toBe(true)
        expect(continues(text)).toBe(1)
      } finally {
        await server.close()
      }
    })
  }
})

describe('Expect: 100-continue: waiting for the 100 is not a stalled body', () => {
  /** A step before the body is read that takes `ms`, longer than the body timeout. */
  const slowStep =
    (ms: number): Middleware =>
    async (_ctx, next) => {
      await new Promise((resolve) => setTimeout(resolve, ms))
      await next()
    }

  for (const [name, start] of ADAPTERS) {
    it(`${name}: a step slower than timeoutMs before the read still gets the body`, async () => {
      // 1.5 s, not less: the body sent after the 100 must arrive within it on a loaded runner.
      const server = await start(
        [bodyLimit({ maxBytes: 1024, timeoutMs: 1_500 }), slowStep(3_000)],
        true
      )
      await expectBodyReadAfterOne100(server, 10_000)
    })

    it(`${name}: a body that does not come after the 100 is still a 408`, async () => {
      const server = await start(
        [bodyLimit({ maxBytes: 1024, timeoutMs: 400 }), slowStep(1_200)],
        true
      )
      try {
        // The client never sends the body: the 100, then the 408 once a period passed without it.
        const text = await exchange(server.port, post('/echo', 7), '', 5000)
        expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 408 ')).toBe(true)
        expect(text).toContain('"code":"REQUEST_TIMEOUT"')
      } finally {
        await server.close()
      }
    })
  }
})
