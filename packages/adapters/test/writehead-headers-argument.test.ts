/**
 * The headers a route passes to `res.writeHead(status, headers)` (Express, node:http, a Fastify
 * route that hijacked its reply) are only read by the kit: the middleware headers go into a copy.
 * A module-level constant object (`const JSON_HEADERS = {...}`), frozen or not, stays as it was,
 * so one client's request id or `Set-Cookie` never reaches the next response as "the route's own"
 * header, and a frozen object does not make `writeHead` throw. A raw header array keeps the
 * middleware's `Set-Cookie` and `Vary`, merged with the array's own, as an object does.
 */
import { createServer, type IncomingHttpHeaders, request, type ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { listen } from './conformance/listen.js'

const closers: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await Promise.all(closers.map((c) => c()))
})

/** A request id and a session cookie of its own for every request. */
function session(): Middleware {
  let n = 0
  return async (ctx, next) => {
    n++
    ctx.setHeader('x-request-id', `req-${n}`)
    ctx.setHeader('set-cookie', `sid=user-${n}; HttpOnly`)
    await next()
  }
}

async function twoRequests(url: string): Promise<{ id: string | null; cookies: string[] }[]> {
  const out: { id: string | null; cookies: string[] }[] = []
  for (let i = 0; i < 2; i++) {
    const r = await fetch(url)
    await r.text()
    out.push({ id: r.headers.get('x-request-id'), cookies: r.headers.getSetCookie() })
  }
  return out
}

const EACH_OWN = [
  { id: 'req-1', cookies: ['sid=user-1; HttpOnly'] },
  { id: 'req-2', cookies: ['sid=user-2; HttpOnly'] },
]

/** The raw response text (status line and headers as sent), until the server closes. */
function rawGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1')
    let text = ''
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new Error(`no complete response: ${JSON.stringify(text)}`))
    }, 5000)
    sock.on('data', (d) => {
      text += d.toString('latin1')
    })
    sock.on('close', () => {
      clearTimeout(timer)
      resolve(text)
    })
    sock.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  })
}

function get(url: string): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.headers))
    })
      .on('error', reject)
      .end()
  })
}

describe('a constant headers object given to writeHead', () => {
  it('node:http: each response carries its own middleware headers; the object is left alone', async () => {
    const HEADERS: Record<string, string> = { 'content-type': 'application/json' }
    const s = await listen(
      createServer(
        toNodeHandler(session(), {
          handler: (_req, res) => {
            res.writeHead(200, HEADERS)
            res.end('{}')
          },
        })
      )
    )
    closers.push(s.close)
    expect(await twoRequests(s.url)).toEqual(EACH_OWN)
    expect(HEADERS).toEqual({ 'content-type': 'application/json' })
  })

  it('node:http: a route cookie in the object is merged on each response, the object unchanged', async () => {
    const HEADERS: Record<string, string | string[]> = { 'set-cookie': ['theme=dark'] }
    const s = await listen(
      createServer(
        toNodeHandler(session(), {
          handler: (_req, res) => {
            res.writeHead(200, 'Fine', HEADERS)
            res.end('{}')
          },
        })
      )
    )
    closers.push(s.close)
    expect((await twoRequests(s.url)).map((r) => r.cookies)).toEqual([
      ['sid=user-1; HttpOnly', 'theme=dark'],
      ['sid=user-2; HttpOnly', 'theme=dark'],
    ])
    expect(HEADERS).toEqual({ 'set-cookie': ['theme=dark'] })
  })

  it('express: each response carries its own middleware headers; the object is left alone', async () => {
    const HEADERS: Record<string, string> = { 'content-type': 'application/json' }
    const app = express()
    app.use(toExpress(session()))
    app.get('/', (_req, res) => {
      res.writeHead(200, HEADERS)
      res.end('{}')
    })
    const s = await listen(createServer(app))
    closers.push(s.close)
    expect(await twoRequests(s.url)).toEqual(EACH_OWN)
    expect(HEADERS).toEqual({ 'content-type': 'application/json' })
  })

  it('fastify: a hijacked reply writing its head with a constant object', async () => {
    const HEADERS: Record<string, string> = { 'content-type': 'application/json' }
    const app = Fastify()
    await app.register(aikitFastify, { use: [session()] })
    app.get('/', async (_req, reply) => {
      reply.hijack()
      reply.raw.writeHead(200, HEADERS)
      reply.raw.end('{}')
    })
    app.get('/plain', async () => ({ ok: true }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
    expect(await twoRequests(url)).toEqual(EACH_OWN)
    expect(HEADERS).toEqual({ 'content-type': 'application/json' })
    // Fastify's own reply headers still get them.
    expect(await twoRequests(`${url}/plain`)).toEqual([
      { id: 'req-3', cookies: ['sid=user-3; HttpOnly'] },
      { id: 'req-4', cookies: ['sid=user-4; HttpOnly'] },
    ])
  })

  it("fastify: its reply's own headers object gets the middleware headers, with no copy", async () => {
    const passed: unknown[] = []
    const app = Fastify()
    // Registered before the plugin: this hook is below the kit's, so it sees what Node is given.
    app.addHook('onRequest', async (_request, reply) => {
      const raw = reply.raw
      const prev = raw.writeHead
      raw.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
        const key = Object.getOwnPropertySymbols(reply).find(
          (s) => s.description === 'fastify.reply.headers'
        )!
        passed.push(args[1] === (reply as unknown as Record<symbol, unknown>)[key])
        return (prev as (...a: unknown[]) => ServerResponse).apply(this, args)
      } as typeof raw.writeHead
    })
    await app.register(aikitFastify, { use: [session()] })
    app.get('/', async () => ({ ok: true }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
    expect(await twoRequests(url)).toEqual(EACH_OWN)
    expect(passed).toEqual([true, true])
  })

  it('a body transform changing a header of the object changes the copy', async () => {
    const HEADERS: Record<string, string> = { 'content-type': 'text/plain', 'x-stage': 'route' }
    const mw: Middleware = async (ctx, next) => {
      ctx.transformBody?.((head) => {
        head.setHeader('x-stage', `${head.getHeader('x-stage')}+transform`)
        head.removeHeader('content-type')
        return undefined
      })
      await next()
    }
    const s = await listen(
      createServer(
        toNodeHandler(mw, {
          handler: (_req, res) => {
            res.writeHead(200, HEADERS)
            res.end('hi')
          },
        })
      )
    )
    closers.push(s.close)
    const headers = await get(s.url)
    expect(headers['x-stage']).toBe('route+transform')
    expect(headers['content-type']).toBeUndefined()
    expect(HEADERS).toEqual({ 'content-type': 'text/plain', 'x-stage': 'route' })
  })
})

describe('a frozen headers object given to writeHead', () => {
  const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json' })
  const kit: Middleware = async (ctx, next) => {
    ctx.setHeader('x-request-id', 'r1')
    await next()
  }

  it('node:http: answers 200 with the middleware header', async () => {
    const s = await listen(
      createServer(
        toNodeHandler(kit, {
          handler: (_req, res) => {
            res.writeHead(200, JSON_HEADERS)
            res.end('{"ok":true}')
          },
        })
      )
    )
    closers.push(s.close)
    const text = await rawGet(Number(new URL(s.url).port))
    expect(text).toMatch(/^HTTP\/1.1 200/)
    expect(text).toContain('x-request-id: r1')
    expect(text).toContain('{"ok":true}')
  })

  it('express: answers 200 with the middleware header', async () => {
    const app = express()
    app.use(toExpress(kit))
    app.get('/', (_req, res) => {
      res.writeHead(200, JSON_HEADERS)
      res.end('{"ok":true}')
    })
    const s = await listen(createServer(app))
    closers.push(s.close)
    const text = await rawGet(Number(new URL(s.url).port))
    expect(text).toMatch(/^HTTP\/1.1 200/)
    expect(text).toContain('x-request-id: r1')
    expect(text).toContain('{"ok":true}')
  })
})

describe('a raw header array given to writeHead', () => {
  const mw: Middleware = async (ctx, next) => {
    ctx.setHeader('set-cookie', 'kit=1')
    ctx.setHeader('vary', 'Origin')
    ctx.setHeader('x-kit', '1')
    await next()
  }

  async function serve(headers: () => unknown[] | Record<string, string>): Promise<string> {
    const s = await listen(
      createServer(
        toNodeHandler(mw, {
          handler: (_req, res) => {
            res.writeHead(200, headers() as Record<string, string>)
            res.end('ok')
          },
        })
      )
    )
    closers.push(s.close)
    return s.url
  }

  it('keeps the middleware Set-Cookie and Vary, merged as with an object; the array is left alone', async () => {
    const ARRAY = ['set-cookie', 'route=1', 'Vary', 'Accept-Encoding', 'content-type', 'text/plain']
    const fromArray = await get(await serve(() => ARRAY))
    const fromObject = await get(
      await serve(() => ({
        'set-cookie': 'route=1',
        vary: 'Accept-Encoding',
        'content-type': 'text/plain',
      }))
    )
    expect(fromObject['set-cookie']).toEqual(['kit=1', 'route=1'])
    expect(fromArray['set-cookie']).toEqual(['kit=1', 'route=1'])
    expect(fromArray.vary).toBe('Accept-Encoding, Origin')
    expect(fromArray.vary).toBe(fromObject.vary)
    expect(fromArray['x-kit']).toBe('1')
    expect(fromArray['content-type']).toBe('text/plain')
    expect(ARRAY).toEqual([
      'set-cookie',
      'route=1',
      'Vary',
      'Accept-Encoding',
      'content-type',
      'text/plain',
    ])
  })

  it("the same with [name, value] pairs; the route's own x-kit wins", async () => {
    const url = await serve(() => [
      ['Set-Cookie', 'route=1'],
      ['set-cookie', 'route=2'],
      ['x-kit', 'route'],
    ])
    const headers = await get(url)
    expect(headers['set-cookie']).toEqual(['kit=1', 'route=1', 'route=2'])
    expect(headers.vary).toBe('Origin')
    expect(headers['x-kit']).toBe('route')
  })
})
