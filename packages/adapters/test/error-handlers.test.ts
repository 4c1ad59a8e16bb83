import { createServer } from 'node:http'
import { aikitErrorHandler, toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { InvalidOptionsError, InvalidRequestError, type Middleware } from '@aikit/core'
import express from 'express'
import express4 from 'express4'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

const SECRET = 'db-password-hunter2'
const servers: ConformanceServer[] = []
const apps: FastifyInstance[] = []
afterAll(async () => {
  await Promise.all([...servers.map((s) => s.close()), ...apps.map((a) => a.close())])
})
const pass: Middleware = async (_ctx, next) => next()

async function post(url: string, body: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
}

describe.each([
  ['Express 5', express as unknown as typeof express],
  ['Express 4', express4 as unknown as typeof express],
])('aikitErrorHandler on %s', (_name, factory) => {
  const reported: unknown[] = []
  let base = ''

  it('starts', async () => {
    const app = factory()
    app.use(toExpress(pass))
    app.get('/boom', () => {
      throw new Error(SECRET)
    })
    app.get('/kit', () => {
      throw new InvalidRequestError('`q` is required')
    })
    app.post('/parsed', express.json({ limit: 64 }), (req, res) => {
      res.json(req.body)
    })
    app.get('/exposed', () => {
      throw Object.assign(new Error('No such conversation'), { status: 404, expose: true })
    })
    app.use(aikitErrorHandler({ onError: (e) => reported.push(e) }))
    const server = await listen(createServer(app))
    servers.push(server)
    base = server.url
  })

  it('answers a route throw with 500 INTERNAL JSON, no message, no stack', async () => {
    const res = await fetch(`${base}/boom`)
    expect(res.status).toBe(500)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({
      error: { code: 'INTERNAL', message: 'Internal server error' },
    })
    expect(text).not.toContain(SECRET)
    expect(reported.some((e) => (e as Error).message === SECRET)).toBe(true)
  })

  it('keeps a kit error code and message', async () => {
    const res = await fetch(`${base}/kit`)
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      error: { code: 'INVALID_REQUEST', message: '`q` is required' },
    })
  })

  it('maps body-parser errors (malformed 400, oversized 413)', async () => {
    const bad = await post(`${base}/parsed`, '{"a":')
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.text).error.code).toBe('INVALID_REQUEST')
    const big = await post(`${base}/parsed`, JSON.stringify({ a: 'x'.repeat(200) }))
    expect(big.status).toBe(413)
    expect(JSON.parse(big.text).error.code).toBe('PAYLOAD_TOO_LARGE')
  })

  it('never echoes the body: a parse error gets the fixed message, as on Fastify', async () => {
    // V8's SyntaxError quotes the start of the input (`"password=d"... is not valid JSON`), and
    // http-errors marks body-parser's error `expose`.
    const bad = await post(`${base}/parsed`, `password=${SECRET}`)
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.text)).toEqual({
      error: { code: 'INVALID_REQUEST', message: 'Invalid request' },
    })
    expect(bad.text).not.toContain('password')
    // Other body-parser errors quote request headers (`unsupported charset "X-…"`): fixed too.
    const res = await fetch(`${base}/parsed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=x-hunter2' },
      body: '{}',
    })
    const text = await res.text()
    expect(res.status).toBe(415)
    expect(JSON.parse(text)).toEqual({
      error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported media type' },
    })
    expect(text.toLowerCase()).not.toContain('hunter2')
  })

  it('still shows the message of an exposed http error that is not a parser error', async () => {
    const res = await fetch(`${base}/exposed`)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'No such conversation' },
    })
  })

  it('validates its options', () => {
    expect(() => aikitErrorHandler({ onError: 'x' as never })).toThrow(InvalidOptionsError)
  })
})

describe('aikitFastify errorHandler option', () => {
  async function start(errorHandler: boolean | undefined): Promise<FastifyInstance> {
    const app = Fastify({ logger: false })
    await app.register(aikitFastify, {
      use: [pass],
      ...(errorHandler === undefined ? {} : { errorHandler }),
    })
    app.get('/boom', async () => {
      throw new Error(SECRET)
    })
    app.post(
      '/validated',
      {
        schema: {
          body: { type: 'object', required: ['q'], properties: { q: { type: 'string' } } },
        },
      },
      async (request) => request.body
    )
    await app.ready()
    apps.push(app)
    return app
  }

  it('answers throws and validation failures with the kit shape when enabled', async () => {
    const app = await start(true)
    const boom = await app.inject({ method: 'GET', url: '/boom' })
    expect(boom.statusCode).toBe(500)
    expect(boom.body).not.toContain(SECRET)
    expect(boom.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal server error' } })
    const invalid = await app.inject({
      method: 'POST',
      url: '/validated',
      payload: { other: true },
    })
    expect(invalid.statusCode).toBe(400)
    expect(invalid.json().error.code).toBe('INVALID_REQUEST')
    expect(invalid.json().error.message).toContain('q')
  })

  it('never echoes a malformed body (same answer as aikitErrorHandler on Express)', async () => {
    const app = await start(true)
    const res = await app.inject({
      method: 'POST',
      url: '/validated',
      headers: { 'content-type': 'application/json' },
      payload: `password=${SECRET}`,
    })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ error: { code: 'INVALID_REQUEST', message: 'Invalid request' } })
    expect(res.body).not.toContain('password')
  })

  it('leaves the app error handler alone by default', async () => {
    const app = await start(undefined)
    const boom = await app.inject({ method: 'GET', url: '/boom' })
    expect(boom.statusCode).toBe(500)
    expect(boom.json().error).toBe('Internal Server Error') // Fastify's own shape
  })

  it('refuses a non-boolean errorHandler, naming the field', async () => {
    const app = Fastify({ logger: false })
    await expect(
      app.register(aikitFastify, { use: [pass], errorHandler: 'yes' as never }).ready()
    ).rejects.toMatchObject({ code: 'INVALID_OPTIONS', field: 'errorHandler' })
    await app.close()
  })
})
