import { type AikitFastifyOptions, aikitFastify } from '@aikit/adapters/fastify'
import { type Context, currentContext, type Middleware, requireAsyncContext } from '@aikit/core'
import { rejectedField } from '@aikit/testing/invalid-field'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'

// These tests read currentContext() in handlers from the first request on: declare it, as the
// kit's own readers (LLM wrappers, logger, Sentry) do when created (asyncContext 'auto').
requireAsyncContext()

const apps: FastifyInstance[] = []
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()))
})

const pass: Middleware = async (_ctx, next) => next()

/** Registers the plugin with `opts` on a new app and readies it. */
async function register(opts: unknown): Promise<void> {
  const app = Fastify()
  apps.push(app)
  await app.register(aikitFastify, opts as AikitFastifyOptions)
  await app.ready()
}

async function start(build: (app: FastifyInstance) => Promise<void> | void): Promise<string> {
  const app = Fastify()
  apps.push(app)
  await build(app)
  return app.listen({ port: 0, host: '127.0.0.1' })
}

describe('aikitFastify options', () => {
  it('names the invalid field', async () => {
    expect(await rejectedField(register({}))).toBe('use')
    expect(await rejectedField(register({ use: pass }))).toBe('use')
    expect(await rejectedField(register({ use: [pass, 'x'] }))).toBe('use[1]')
    expect(await rejectedField(register({ use: [], trustProxy: true }))).toBe('trustProxy')
    expect(await rejectedField(register({ use: [], maxBodyBytes: 'big' }))).toBe('maxBodyBytes')
    expect(await rejectedField(register({ use: [], onError: 1 }))).toBe('onError')
  })
})

describe('aikitFastify', () => {
  it('decorates request.aikit and runs handlers inside currentContext(), body parsing included', async () => {
    const url = await start(async (app) => {
      await app.register(aikitFastify, {
        use: [
          async (ctx, next) => {
            ctx.state.subject = 'tenant-9'
            await next()
          },
        ],
      })
      app.post('/chat', async (request) => {
        const ctx = request.aikit as Context
        return {
          subject: ctx.state.subject,
          same: currentContext() === ctx,
          body: request.body,
        }
      })
    })
    const res = await fetch(`${url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"q":"hi"}',
    })
    expect(await res.json()).toEqual({ subject: 'tenant-9', same: true, body: { q: 'hi' } })
  })

  it("keeps Fastify's hooks on short-circuits: onSend for JSON, onResponse for both, reply headers for streams", async () => {
    const onSend: string[] = []
    const onResponse: string[] = []
    const url = await start(async (app) => {
      app.addHook('onRequest', async (_request, reply) => {
        reply.header('x-from-hook', 'yes')
      })
      app.addHook('onSend', async (request, _reply, payload) => {
        onSend.push(request.url)
        return payload
      })
      app.addHook('onResponse', async (request) => {
        onResponse.push(request.url)
      })
      await app.register(aikitFastify, {
        use: [
          async (ctx) => {
            if (ctx.path === '/stream') {
              async function* body(): AsyncGenerator<string> {
                yield 'one\n'
                yield 'two\n'
              }
              ctx.respond(200, body(), { 'content-type': 'text/plain' })
            } else ctx.respond(403, { error: { code: 'FORBIDDEN', message: 'no' } })
          },
        ],
      })
    })
    const json = await fetch(`${url}/json`)
    expect(json.status).toBe(403)
    expect(json.headers.get('x-from-hook')).toBe('yes')
    expect(await json.json()).toEqual({ error: { code: 'FORBIDDEN', message: 'no' } })
    const stream = await fetch(`${url}/stream`)
    expect(stream.status).toBe(200)
    expect(stream.headers.get('x-from-hook')).toBe('yes')
    expect(await stream.text()).toBe('one\ntwo\n')
    await expect
      .poll(() => onResponse.slice().sort(), { timeout: 10_000 })
      .toEqual(['/json', '/stream'])
    expect(onSend).toEqual(['/json'])
  })

  it('the route header wins over the middleware one, and onHeaders sees the route status', async () => {
    let status: number | undefined
    const url = await start(async (app) => {
      await app.register(aikitFastify, {
        use: [
          async (ctx, next) => {
            ctx.setHeader('x-a', 'mw')
            ctx.setHeader('x-b', 'mw')
            ctx.onHeaders(() => {
              status = ctx.status
            })
            await next()
          },
        ],
      })
      app.get('/', async (_request, reply) => {
        reply.code(202).header('x-a', 'route')
        return 'ok'
      })
    })
    const res = await fetch(url)
    expect(res.status).toBe(202)
    expect(res.headers.get('x-a')).toBe('route')
    expect(res.headers.get('x-b')).toBe('mw')
    expect(status).toBe(202)
  })
})
