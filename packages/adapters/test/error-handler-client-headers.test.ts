/**
 * The framework error handlers (`aikitErrorHandler` on Express 5 and 4, `errorHandler: true` on
 * Fastify) and two errors a route may throw:
 * - an http-errors client error (the README's way to send a 4xx of your own) carrying the headers
 *   its status calls for (`Retry-After` on a 429, `Allow` on a 405, `WWW-Authenticate` on a 401):
 *   they are sent, as Express's and Fastify's default handlers send them; before, they were
 *   dropped, so a client could not back off or authenticate. Only those names: the error's framing
 *   or cookie headers are not the JSON body's.
 * - axios's error for a provider's 401 (called through axios rather than an SDK): it passes the
 *   shape test for another copy's `AikitError` (string `code`, `status`, `name`, `toJSON`), and was
 *   answered 401 `ERR_BAD_REQUEST`, unreported. It is the server's failure: 500 INTERNAL, reported.
 */

import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { aikitErrorHandler, toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import type { Middleware } from '@aikit/core'
import express from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

// The http-errors Express itself depends on (body-parser's errors are made with it).
const requireFromExpress = createRequire(createRequire(import.meta.url).resolve('express'))
const createError = requireFromExpress('http-errors') as (
  status: number,
  ...args: (string | Record<string, unknown>)[]
) => Error

/** axios 1.x's AxiosError for an upstream 401, as axios builds it (lib/core/AxiosError.js). */
class AxiosError extends Error {
  readonly code = 'ERR_BAD_REQUEST'
  readonly config = { headers: { Authorization: 'Bearer sk-live-secret' } }
  readonly response = { status: 401, headers: { 'www-authenticate': 'Bearer realm="api"' } }
  readonly status = 401
  constructor() {
    super('Request failed with status code 401')
    this.name = 'AxiosError'
  }
  toJSON(): object {
    return { message: this.message, name: this.name, config: this.config, status: this.status }
  }
}

const servers: ConformanceServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})
const pass: Middleware = async (_ctx, next) => next()

/** The routes, each throwing one error. */
const errors: Record<string, () => Error> = {
  '/slow-down': () => createError(429, 'Slow down', { headers: { 'Retry-After': '30' } }),
  '/method': () => createError(405, { headers: { Allow: 'GET, HEAD' } }),
  '/login': () =>
    createError(401, {
      headers: {
        'WWW-Authenticate': 'Bearer realm="app"',
        'Set-Cookie': 'session=stolen',
        'Content-Length': '9999',
        'X-Bad': 'a\r\nInjected: 1',
      },
    }),
  '/axios': () => new AxiosError(),
}

type Start = (reported: unknown[]) => Promise<string>

const startExpress =
  (factory: typeof express): Start =>
  async (reported) => {
    const app = factory()
    app.use(toExpress(pass))
    for (const [path, make] of Object.entries(errors)) {
      app.get(path, () => {
        throw make()
      })
    }
    app.use(aikitErrorHandler({ onError: (error) => reported.push(error) }))
    const server = await listen(createServer(app))
    servers.push(server)
    return server.url
  }

const startFastify: Start = async (reported) => {
  const app = Fastify()
  await app.register(aikitFastify, {
    use: [pass],
    errorHandler: true,
    onError: (error) => reported.push(error),
  })
  for (const [path, make] of Object.entries(errors)) {
    app.get(path, async () => {
      throw make()
    })
  }
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  servers.push({ url, close: () => app.close() })
  return url
}

describe.each([
  ['Express 5', startExpress(express)],
  ['Express 4', startExpress(express4 as unknown as typeof express)],
  ['Fastify', startFastify],
])('the %s error handler', (_name, start) => {
  const reported: unknown[] = []
  let base = ''

  it('starts', async () => {
    base = await start(reported)
  })

  it("sends an http-errors 429's Retry-After", async () => {
    const res = await fetch(`${base}/slow-down`)
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('30')
    expect(await res.json()).toEqual({ error: { code: 'RATE_LIMITED', message: 'Slow down' } })
  })

  it("sends an http-errors 405's Allow", async () => {
    const res = await fetch(`${base}/method`)
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, HEAD')
  })

  it("sends a 401's WWW-Authenticate, not the error's cookie, length or a bad value", async () => {
    const res = await fetch(`${base}/login`)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="app"')
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(res.headers.get('x-bad')).toBeNull()
    expect(res.headers.get('injected')).toBeNull()
    expect(await res.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Unauthorized' } })
    expect(reported).toEqual([])
  })

  it("answers axios's error for a provider 401 as a reported 500, none of it sent", async () => {
    const res = await fetch(`${base}/axios`)
    expect(res.status).toBe(500)
    expect(res.headers.get('www-authenticate')).toBeNull()
    const text = await res.text()
    expect(text).not.toMatch(/sk-live|ERR_BAD_REQUEST|status code/)
    expect(JSON.parse(text)).toEqual({
      error: { code: 'INTERNAL', message: 'Internal server error' },
    })
    expect(reported).toHaveLength(1)
    expect(reported[0]).toBeInstanceOf(AxiosError)
  })
})
