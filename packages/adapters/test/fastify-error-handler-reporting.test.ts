/**
 * The Fastify error handler (`errorHandler: true`) and `onError`, over real servers on 127.0.0.1:
 * - an error from before the kit's `onRequest` hook ran (a hook or plugin registered before the
 *   kit: the request has no Context yet) is answered with the kit's JSON shape AND reported to
 *   `onError`, with a Context built for the report (it used to go unreported);
 * - an `onError` that throws (a misconfigured Sentry) changes nothing the client sees: the JSON
 *   500 still goes out, where Fastify used to hand the reporter's error to its default handler,
 *   which answered Fastify's shape with the reporter's message (a DSN, a key).
 */
import { aikitFastify } from '@aikit/adapters/fastify'
import type { Context, Middleware } from '@aikit/core'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'

const SECRET = 'sk-live-0123456789'
const INTERNAL = { error: { code: 'INTERNAL', message: 'Internal server error' } }

const apps: FastifyInstance[] = []
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()))
})

async function start(build: (app: FastifyInstance) => Promise<void> | void): Promise<string> {
  const app = Fastify()
  apps.push(app)
  await build(app)
  return app.listen({ port: 0, host: '127.0.0.1' })
}

const pass: Middleware = async (_ctx, next) => next()

interface Report {
  message: string
  method: string
  path: string
  header: string | undefined
}

function reporter(reports: Report[]): (error: unknown, ctx: Context) => void {
  return (error, ctx) => {
    reports.push({
      message: (error as Error).message,
      method: ctx.method,
      path: ctx.path,
      header: ctx.header('x-trace'),
    })
  }
}

describe('errorHandler: true reports errors from before the kit ran', () => {
  it('an onRequest hook registered before the kit throws: JSON 500, reported with a Context', async () => {
    const reports: Report[] = []
    const url = await start(async (app) => {
      app.addHook('onRequest', async () => {
        throw new Error(`auth backend down: ${SECRET}`)
      })
      await app.register(aikitFastify, {
        use: [pass],
        errorHandler: true,
        onError: reporter(reports),
      })
      app.get('/chat', async () => 'never')
    })
    const res = await fetch(`${url}/chat?q=1`, { headers: { 'x-trace': 't-1' } })
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual(INTERNAL)
    expect(text).not.toContain(SECRET)
    expect(reports).toEqual([
      { message: `auth backend down: ${SECRET}`, method: 'GET', path: '/chat', header: 't-1' },
    ])
  })

  it('a client error from before the kit ran keeps its 4xx and is not reported', async () => {
    const reports: Report[] = []
    const url = await start(async (app) => {
      app.addHook('onRequest', async () => {
        throw Object.assign(new Error('no token'), { statusCode: 401 })
      })
      await app.register(aikitFastify, {
        use: [pass],
        errorHandler: true,
        onError: reporter(reports),
      })
      app.get('/chat', async () => 'never')
    })
    const res = await fetch(`${url}/chat`)
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Unauthorized' } })
    expect(reports).toEqual([])
  })

  it('a route error is still reported once, with the Context of the request', async () => {
    const seen: Context[] = []
    const messages: string[] = []
    const url = await start(async (app) => {
      await app.register(aikitFastify, {
        use: [
          async (ctx, next) => {
            ctx.state.subject = 'user-7'
            await next()
          },
        ],
        errorHandler: true,
        onError: (error, ctx) => {
          messages.push((error as Error).message)
          seen.push(ctx)
        },
      })
      app.get('/boom', async () => {
        throw new Error(SECRET)
      })
    })
    const res = await fetch(`${url}/boom`)
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual(INTERNAL)
    expect(messages).toEqual([SECRET])
    expect(seen[0]?.state.subject).toBe('user-7')
  })
})

describe('errorHandler: true with an onError that throws', () => {
  const throwing = (calls: string[]) => (error: unknown) => {
    calls.push((error as Error).message)
    throw new Error(`Sentry DSN invalid: https://${SECRET}@sentry.example/1`)
  }

  it('a route error: the client still gets the JSON 500, nothing of either message', async () => {
    const calls: string[] = []
    const url = await start(async (app) => {
      await app.register(aikitFastify, {
        use: [pass],
        errorHandler: true,
        onError: throwing(calls),
      })
      app.get('/boom', async () => {
        throw new Error('db password wrong')
      })
    })
    const res = await fetch(`${url}/boom`)
    expect(res.status).toBe(500)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const text = await res.text()
    expect(JSON.parse(text)).toEqual(INTERNAL)
    expect(text).not.toContain(SECRET)
    expect(calls).toEqual(['db password wrong'])
    // The server goes on answering.
    const again = await fetch(`${url}/boom`)
    expect([again.status, await again.json()]).toEqual([500, INTERNAL])
  })

  it('an error from before the kit ran: same JSON 500', async () => {
    const calls: string[] = []
    const url = await start(async (app) => {
      app.addHook('onRequest', async () => {
        throw new Error('early')
      })
      await app.register(aikitFastify, {
        use: [pass],
        errorHandler: true,
        onError: throwing(calls),
      })
      app.get('/chat', async () => 'never')
    })
    const res = await fetch(`${url}/chat`)
    const text = await res.text()
    expect([res.status, JSON.parse(text)]).toEqual([500, INTERNAL])
    expect(text).not.toContain(SECRET)
    expect(calls).toEqual(['early'])
  })
})
