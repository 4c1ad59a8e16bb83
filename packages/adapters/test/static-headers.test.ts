/**
 * Header-only middleware (marked with `markStaticHeaders`, as `securityHeaders()` is) on the
 * Express and Fastify adapters, which set their list straight on the native response: a later
 * middleware's `ctx.setHeader` of one of those names still replaces it (last writer wins, as on
 * the Web path), and a value the route sets itself still wins over both.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import type { Middleware } from '@aikit/core'
import { markStaticHeaders } from '@aikit/core/adapter'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { listen } from './conformance/listen.js'

const closers: (() => Promise<void>)[] = []
afterAll(async () => {
  await Promise.all(closers.map((close) => close()))
})

/** Two fixed headers, set natively by the adapters (the names as sent, then in lower case). */
function frameHeaders(): Middleware {
  return markStaticHeaders((_ctx, next) => next(), {
    names: ['X-Frame-Options', 'X-Content-Type-Options'],
    lowerNames: ['x-frame-options', 'x-content-type-options'],
    values: ['DENY', 'nosniff'],
    removePoweredBy: false,
  })
}

const laterFrame: Middleware = (ctx, next) => {
  ctx.setHeader('X-Frame-Options', 'SAMEORIGIN')
  return next()
}

/** Sets X-Request-Id on the native response and notes it, as requestLogger() does. */
const nativeId: Middleware = (ctx, next) => {
  const native = ctx as unknown as {
    res: { setHeader(name: string, value: string): void }
    noteNativeHeader(lowerName: string, value: string): void
  }
  native.res.setHeader('x-request-id', 'native-1')
  native.noteNativeHeader('x-request-id', 'native-1')
  return next()
}

const laterId: Middleware = (ctx, next) => {
  ctx.setHeader('X-Request-Id', 'later-1')
  return next()
}

const tooMany: Middleware = (ctx, next) => {
  if (ctx.path !== '/limited') return next()
  ctx.respond(429, { error: { code: 'RATE_LIMITED', message: 'Too many requests' } })
  return Promise.resolve()
}

async function expressApp(use: Middleware[]): Promise<string> {
  const app = express()
  app.use(toExpress(...use))
  app.get('/', (_req, res) => {
    res.json({ ok: true })
  })
  app.get('/own', (_req, res) => {
    res.setHeader('X-Frame-Options', 'ALLOW-FROM https://example.com')
    res.json({ ok: true })
  })
  const server = await listen(createServer(app))
  closers.push(() => server.close())
  return server.url
}

async function fastifyApp(use: Middleware[]): Promise<string> {
  const app = Fastify()
  closers.push(() => app.close())
  await app.register(aikitFastify, { use })
  app.get('/', async () => ({ ok: true }))
  app.get('/own', async (_request, reply) => {
    reply.header('x-frame-options', 'ALLOW-FROM https://example.com')
    return { ok: true }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

describe.each([
  ['express', expressApp],
  ['fastify', fastifyApp],
])('static headers on %s', (_name, start) => {
  it('are replaced by a later middleware’s ctx.setHeader, on the route’s answer and the kit’s own', async () => {
    const url = await start([frameHeaders(), laterFrame, tooMany])
    for (const path of ['/', '/limited']) {
      const res = await fetch(`${url}${path}`)
      expect(res.status, path).toBe(path === '/' ? 200 : 429)
      expect(res.headers.get('x-frame-options'), path).toBe('SAMEORIGIN')
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
    }
  })

  it('and single headers noted by another middleware are replaced alike, each by name', async () => {
    const url = await start([frameHeaders(), nativeId, laterId, tooMany])
    for (const path of ['/', '/limited']) {
      const res = await fetch(`${url}${path}`)
      expect(res.headers.get('x-request-id'), path).toBe('later-1')
      expect(res.headers.get('x-frame-options'), path).toBe('DENY')
    }
    const both = await start([frameHeaders(), nativeId, laterFrame, laterId])
    const res = await fetch(`${both}/`)
    expect(res.headers.get('x-request-id')).toBe('later-1')
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
  })

  it('stay as set when no middleware changes them', async () => {
    const url = await start([frameHeaders(), tooMany])
    const res = await fetch(`${url}/`)
    expect(res.headers.get('x-frame-options')).toBe('DENY')
  })

  it('give way to the route’s own value, which also wins over the later middleware', async () => {
    const url = await start([frameHeaders(), laterFrame])
    const res = await fetch(`${url}/own`)
    expect(res.headers.get('x-frame-options')).toBe('ALLOW-FROM https://example.com')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  })
})
