/**
 * securityHeaders() as a header-only middleware on the Node adapters: Fastify and Express set its
 * fixed list in their own hook (see core's static-headers.ts), with no Context when nothing else
 * runs. This file calls requireAsyncContext() only in its last block, so until then the adapters'
 * asyncContext is 'auto' with nobody reading currentContext(): the case where no Context is made.
 */
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { type Context, type Middleware, requireAsyncContext } from '@aikit/core'
import { scopedContext, splitStaticHeaders } from '@aikit/core/adapter'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveSecurityHeaders, securityHeaders } from '../src/headers.js'

const closers: (() => Promise<void>)[] = []
afterAll(async () => {
  await Promise.all(closers.map((c) => c()))
})

/** helmet's default set as securityHeaders() resolves it (the golden test pins it to helmet). */
function expected(): Map<string, string> {
  const { headers, csp } = resolveSecurityHeaders()
  const map = new Map(headers.map(([n, v]) => [n.toLowerCase(), v]))
  if (csp?.staticValue !== undefined) map.set(csp.headerName.toLowerCase(), csp.staticValue)
  return map
}

function expectSecurityHeaders(res: Response): void {
  for (const [name, value] of expected()) expect(res.headers.get(name), name).toBe(value)
  expect(res.headers.get('x-powered-by')).toBeNull()
}

/**
 * What the route saw: whether it had a Context, and whether it runs in its scope (read with
 * scopedContext(), which unlike currentContext() does not declare a need for the scope).
 */
type Seen = { hasContext: boolean; scoped: boolean }

async function fastifyApp(
  use: Middleware[],
  options: Record<string, unknown> = {}
): Promise<string> {
  const app: FastifyInstance = Fastify()
  closers.push(() => app.close())
  await app.register(aikitFastify, { use, ...options })
  app.get('/', async (request): Promise<Seen> => {
    const ctx = request.aikit
    return { hasContext: ctx !== null, scoped: ctx !== null && scopedContext() === ctx }
  })
  return app.listen({ port: 0, host: '127.0.0.1' })
}

async function expressApp(
  use: Middleware[],
  options: Record<string, unknown> = {}
): Promise<string> {
  const app = express()
  app.use(toExpress(...use, options))
  app.get('/', (_req, res) => {
    const ctx = res.locals.aikit as Context | undefined
    const seen: Seen = {
      hasContext: ctx !== undefined,
      scoped: ctx !== undefined && scopedContext() === ctx,
    }
    res.json(seen)
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  closers.push(() => new Promise((r) => server.close(() => r())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const tooMany: Middleware = (ctx, next) => {
  if (ctx.path === '/limited') {
    ctx.respond(429, { error: { code: 'RATE_LIMITED', message: 'Too many requests' } })
    return Promise.resolve()
  }
  return next()
}

describe('securityHeaders() is declared header-only', () => {
  it('with a static policy (the default, or CSP off), and not with a per-request nonce', () => {
    expect(splitStaticHeaders([securityHeaders()]).headers?.names).toHaveLength(expected().size)
    expect(
      splitStaticHeaders([securityHeaders({ contentSecurityPolicy: false })]).headers?.names
    ).toHaveLength(expected().size - 1)
    expect(
      splitStaticHeaders([securityHeaders({ contentSecurityPolicy: { nonce: true } })]).headers
    ).toBeUndefined()
  })
})

describe.each([
  ['Fastify', fastifyApp],
  ['Express', expressApp],
])('header-only securityHeaders() on %s', (_name, start) => {
  it('sends helmet’s headers without making a Context when nothing else needs one', async () => {
    const url = await start([securityHeaders()])
    const res = await fetch(`${url}/`)
    expect(res.status).toBe(200)
    expectSecurityHeaders(res)
    expect(await res.json()).toEqual({ hasContext: false, scoped: false })
  })

  it('still makes a scoped Context with asyncContext: true, and one with onError', async () => {
    const scoped = await start([securityHeaders()], { asyncContext: true })
    const res = await fetch(`${scoped}/`)
    expectSecurityHeaders(res)
    expect(await res.json()).toEqual({ hasContext: true, scoped: true })

    const reported = await start([securityHeaders()], { onError: () => {}, asyncContext: false })
    const res2 = await fetch(`${reported}/`)
    expectSecurityHeaders(res2)
    expect(await res2.json()).toEqual({ hasContext: true, scoped: false })
  })

  it('puts the headers on a response another middleware answers, listed before it or after', async () => {
    const url = await start([tooMany, securityHeaders()])
    const limited = await fetch(`${url}/limited`)
    expect(limited.status).toBe(429)
    expectSecurityHeaders(limited)
    const ok = await fetch(`${url}/`)
    expectSecurityHeaders(ok)
    expect(await ok.json()).toEqual({ hasContext: true, scoped: false })
  })
})

describe('header-only securityHeaders() on Express after the head is out', () => {
  it('does not throw into Express when an earlier layer answered and still called next()', async () => {
    const app = express()
    const errors: unknown[] = []
    app.use((_req, res, next) => {
      res.status(204).end()
      next()
    })
    app.use(toExpress(securityHeaders()))
    app.use((error: unknown, _req: unknown, _res: unknown, next: (e?: unknown) => void) => {
      errors.push(error)
      next(error)
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    closers.push(() => new Promise((r) => server.close(() => r())))
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    expect(res.status).toBe(204)
    expect(res.headers.get('content-security-policy')).toBeNull()
    expect(errors).toEqual([])
  })
})

describe.each([
  ['Fastify', fastifyApp],
  ['Express', expressApp],
])('header-only securityHeaders() on %s once currentContext() is in use', (_name, start) => {
  it("makes a scoped Context again under asyncContext: 'auto'", async () => {
    requireAsyncContext() // what the kit's LLM wrappers, logger and Sentry declare when created
    const url = await start([securityHeaders()])
    const res = await fetch(`${url}/`)
    expectSecurityHeaders(res)
    expect(await res.json()).toEqual({ hasContext: true, scoped: true })
  })
})
