// A store error or a rate limit thrown by a route (outside the kit's chain, so it reaches the
// framework's error handler) gets the same Retry-After as one thrown inside a chain: before, the
// Express and Fastify handlers answered 503 / 429 without it, so clients could not back off.
import { createServer } from 'node:http'
import { aikitErrorHandler, toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { AikitError, type Middleware, StoreUnavailableError } from '@aikit/core'
import express from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

const servers: ConformanceServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})
const pass: Middleware = async (_ctx, next) => next()
/** A 429 kit error with its wait, as `@aikit/ratelimit`'s RateLimitedError is. */
class Limited extends AikitError {
  readonly retryAfterMs = 4200
  constructor() {
    super('RATE_LIMITED', 429, 'Too many requests')
  }
}

describe.each([
  ['Express 5', express as unknown as typeof express],
  ['Express 4', express4 as unknown as typeof express],
])('aikitErrorHandler on %s: Retry-After of a kit error thrown by a route', (_name, factory) => {
  let base = ''

  it('starts', async () => {
    const app = factory()
    app.use(toExpress(pass))
    app.get('/store', () => {
      throw new StoreUnavailableError('circuit open: store is unavailable', {
        reason: 'circuit-open',
        retryAfterMs: 2500,
      })
    })
    app.get('/limited', () => {
      throw new Limited()
    })
    app.use(aikitErrorHandler())
    const server = await listen(createServer(app))
    servers.push(server)
    base = server.url
  })

  it('a store outage: 503 with Retry-After rounded up, and the generic message', async () => {
    const res = await fetch(`${base}/store`)
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('3')
    expect(await res.json()).toEqual({
      error: { code: 'STORE_UNAVAILABLE', message: 'Service temporarily unavailable' },
    })
  })

  it('a rate limit: 429 with Retry-After', async () => {
    const res = await fetch(`${base}/limited`)
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('5')
  })
})

describe('the Fastify error handler (errorHandler: true): Retry-After of a kit error thrown by a route', () => {
  let base = ''

  it('starts', async () => {
    const app = Fastify()
    await app.register(aikitFastify, { use: [pass], errorHandler: true })
    app.get('/store', async () => {
      throw new StoreUnavailableError('redis GET failed: connect ECONNREFUSED 10.0.0.5:6379', {
        reason: 'connection',
        retryAfterMs: 2500,
      })
    })
    app.get('/limited', async () => {
      throw new Limited()
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
    servers.push({ url: base, close: () => app.close() })
  })

  it('a store outage: 503 with Retry-After and no host or port in the body', async () => {
    const res = await fetch(`${base}/store`)
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('3')
    const text = await res.text()
    expect(text).not.toMatch(/10\.0\.0\.5|ECONNREFUSED/)
    expect(JSON.parse(text)).toEqual({
      error: { code: 'STORE_UNAVAILABLE', message: 'Service temporarily unavailable' },
    })
  })

  it('a rate limit: 429 with Retry-After', async () => {
    const res = await fetch(`${base}/limited`)
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('5')
  })
})
