/**
 * `aikitFastify` registered again inside an encapsulated plugin (Fastify's own model for scoping,
 * as @fastify/helmet or @fastify/rate-limit): an app-wide chain (logger, auth) plus per-scope
 * chains (rate limit, validation) on the chat routes, over real Fastify servers on 127.0.0.1.
 * The nested chain runs for its scope's routes only, after the enclosing chain, on the request's
 * one Context: what the enclosing chain set is the nested chain's and the handler's, one log line
 * and one metrics record per request, one lifecycle (onHeaders, next(), finished) for both.
 */
import { type AikitFastifyOptions, aikitFastify } from '@aikit/adapters/fastify'
import {
  AikitError,
  type Context,
  currentContext,
  type FinishInfo,
  InvalidOptionsError,
  type Middleware,
  onFinished,
  requireAsyncContext,
} from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { httpMetrics, requestLogger } from '../../observability/src/index.js'
import { rateLimit } from '../../ratelimit/src/index.js'
import { auth, captureLogger, denyFrames, fastifyApps, recordErrors } from './fastify-apps.js'

// The handlers read currentContext() from the first request on (as the kit's readers declare).
requireAsyncContext()

const { newApp, start } = fastifyApps()

/** A Metrics stand-in keeping the records httpMetrics makes. */
function captureMetrics(): { records: { route: string; statusCode: unknown }[]; metrics: never } {
  const records: { route: string; statusCode: unknown }[] = []
  const metrics = {
    registry: {},
    addActiveRequests() {},
    recordHttpRequest(r: { route: string; statusCode: unknown }) {
      records.push({ route: r.route, statusCode: r.statusCode })
    },
  }
  return { records, metrics: metrics as never }
}

/** A middleware that marks the response with `name: value`. */
function stamp(name: string, value: string): Middleware {
  return async (ctx, next) => {
    ctx.setHeader(name, value)
    await next()
  }
}

function post(url: string, user: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user': user },
    body: '{"q":1}',
  })
}

describe('aikitFastify registered inside an encapsulated plugin', () => {
  it('starts (no FST_ERR_DEC_ALREADY_PRESENT) and runs the nested chain on its scope only', async () => {
    const ran: string[] = []
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [stamp('x-outer', '1')] })
      await app.register(async (scope) => {
        await scope.register(aikitFastify, {
          use: [
            async (ctx, next) => {
              ran.push(ctx.path)
              ctx.setHeader('x-inner', '1')
              await next()
            },
          ],
        })
        scope.get('/chat', async () => 'chat')
      })
      app.get('/open', async () => 'open')
    })
    const chat = await fetch(`${url}/chat`)
    expect([chat.status, await chat.text()]).toEqual([200, 'chat'])
    expect([chat.headers.get('x-outer'), chat.headers.get('x-inner')]).toEqual(['1', '1'])
    const open = await fetch(`${url}/open`)
    expect([open.status, await open.text()]).toEqual([200, 'open'])
    expect([open.headers.get('x-outer'), open.headers.get('x-inner')]).toEqual(['1', null])
    // A 404 outside the scope is the root's: the enclosing chain only.
    const missing = await fetch(`${url}/nowhere`)
    expect(missing.status).toBe(404)
    expect([missing.headers.get('x-outer'), missing.headers.get('x-inner')]).toEqual(['1', null])
    expect(ran).toEqual(['/chat'])
  })

  it("the enclosing chain's state is the nested chain's and the handler's: one Context, one log line, one metrics record", async () => {
    const log = captureLogger()
    const { records, metrics } = captureMetrics()
    const contexts = new Set<Context>()
    let inner: { subject: string | undefined; requestId: string | undefined } | undefined
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [requestLogger(log), httpMetrics(metrics), auth] })
      await app.register(async (scope) => {
        await scope.register(aikitFastify, {
          use: [
            async (ctx, next) => {
              contexts.add(ctx)
              inner = { subject: ctx.state.subject, requestId: ctx.state.requestId }
              await next()
            },
          ],
        })
        // A POST with a body: Fastify resumes the handler from the body parser's stream events.
        scope.post('/chat', async (request) => {
          const ctx = request.aikit as Context
          contexts.add(ctx)
          return {
            subject: ctx.state.subject,
            requestId: ctx.state.requestId,
            same: currentContext() === ctx,
            body: request.body,
          }
        })
      })
    })
    const res = await post(`${url}/chat`, 'alice')
    const id = res.headers.get('x-request-id')
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(await res.json()).toEqual({
      subject: 'alice',
      requestId: id,
      same: true,
      body: { q: 1 },
    })
    expect(inner).toEqual({ subject: 'alice', requestId: id })
    expect(contexts.size).toBe(1)
    await expect.poll(() => records.length, { timeout: 10_000 }).toBe(1)
    await expect.poll(() => log.lines.length, { timeout: 10_000 }).toBe(1)
    expect(log.lines[0]).toMatchObject({ requestId: id, status: 200, subject: 'alice' })
    expect(records[0]?.statusCode).toBe(200)
  })

  it("a nested rateLimit's 429 is logged once, by the enclosing logger, keyed by the enclosing auth's subject", async () => {
    const log = captureLogger()
    const limited = rateLimit({ limits: [{ limit: 1, window: '1m' }] })
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [requestLogger(log), auth] })
      await app.register(async (scope) => {
        await scope.register(aikitFastify, { use: [limited] })
        scope.post('/chat', async () => ({ ok: true }))
      })
      app.post('/open', async () => ({ ok: true }))
    })
    const first = await post(`${url}/chat`, 'alice')
    const again = await post(`${url}/chat`, 'alice')
    const bob = await post(`${url}/chat`, 'bob')
    const open = await post(`${url}/open`, 'alice')
    expect([first.status, again.status, bob.status, open.status]).toEqual([200, 429, 200, 200])
    expect((await again.json()).error.code).toBe('RATE_LIMITED')
    await expect.poll(() => log.lines.length, { timeout: 10_000 }).toBe(4)
    expect(log.lines.map((l) => [l.subject, l.status])).toEqual([
      ['alice', 200],
      ['alice', 429],
      ['bob', 200],
      ['alice', 200],
    ])
    expect(log.lines.map((l) => l.requestId)).toEqual(
      [first, again, bob, open].map((r) => r.headers.get('x-request-id'))
    )
    // Three requests reached the scope's limiter; /open did not.
    expect(limited.stats()).toEqual({ checked: 3, unkeyed: 0 })
  })

  it("both chains' onHeaders, next() and finished run once on one Context, inner first as in one chain", async () => {
    const seen: unknown[] = []
    const url = await start(async (app) => {
      await app.register(aikitFastify, {
        use: [
          async (ctx, next) => {
            ctx.state.subject = 'outer-user'
            ctx.onHeaders(() => seen.push(['outer head', ctx.status]))
            onFinished(ctx, (info: FinishInfo) => seen.push(['outer finish', info.aborted]))
            await next()
            seen.push(['outer next', ctx.headersSent, ctx.status])
          },
        ],
      })
      await app.register(async (scope) => {
        await scope.register(aikitFastify, {
          use: [
            async (ctx, next) => {
              ctx.setHeader('x-inner', ctx.state.subject ?? 'none')
              ctx.onHeaders(() => seen.push(['inner head', ctx.status]))
              void ctx.finished.then((info) => seen.push(['inner finish', info.aborted]))
              await next()
              seen.push(['inner next', ctx.headersSent, ctx.status])
            },
          ],
        })
        scope.get('/r', async (_request, reply) => reply.code(201).send('made'))
      })
    })
    const res = await fetch(`${url}/r`)
    expect([res.status, await res.text()]).toEqual([201, 'made'])
    expect(res.headers.get('x-inner')).toBe('outer-user')
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(6)
    // Hooks in reverse order of registration; the nested next() resumes before the enclosing one
    // (a small body may be finished by then: finish is ordered against neither).
    const of = (kind: string) => seen.filter((e) => (e as string[])[0]!.endsWith(kind))
    expect(seen.slice(0, 2)).toEqual([
      ['inner head', 201],
      ['outer head', 201],
    ])
    expect(of('next')).toEqual([
      ['inner next', true, 201],
      ['outer next', true, 201],
    ])
    expect(of('finish').sort()).toEqual([
      ['inner finish', false],
      ['outer finish', false],
    ])
  })

  it("an error thrown in the nested chain is the request's one error response, seen by the enclosing chain and its onError", async () => {
    const { outer, reported, options } = recordErrors()
    const url = await start(async (app) => {
      await app.register(aikitFastify, options)
      await app.register(async (scope) => {
        await scope.register(aikitFastify, {
          use: [
            async () => {
              throw new Error('secret detail')
            },
          ],
        })
        scope.get('/boom', async () => 'never')
      })
    })
    const res = await fetch(`${url}/boom`)
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(JSON.parse(text).error.code).toBe('INTERNAL')
    expect(text).not.toContain('secret detail')
    expect(outer).toEqual([[500, 'secret detail']])
    expect(reported).toEqual(['secret detail'])
  })

  it('two sibling scopes each run their own chain only', async () => {
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [stamp('x-root', '1')] })
      await app.register(async (scope) => {
        await scope.register(aikitFastify, { use: [stamp('x-scope', 'a')] })
        scope.get('/a', async () => 'a')
      })
      await app.register(async (scope) => {
        await scope.register(aikitFastify, {
          use: [
            stamp('x-scope', 'b'),
            async (ctx) => {
              ctx.respond(403, { error: { code: 'FORBIDDEN', message: 'b only' } })
            },
          ],
        })
        scope.get('/b', async () => 'never')
      })
      app.get('/root', async () => 'root')
    })
    const a = await fetch(`${url}/a`)
    const b = await fetch(`${url}/b`)
    const root = await fetch(`${url}/root`)
    expect([a.status, b.status, root.status]).toEqual([200, 403, 200])
    expect([
      a.headers.get('x-scope'),
      b.headers.get('x-scope'),
      root.headers.get('x-scope'),
    ]).toEqual(['a', 'b', null])
    for (const r of [a, b, root]) expect(r.headers.get('x-root')).toBe('1')
  })

  it('a scope registered with a prefix runs its chain on its prefixed routes only', async () => {
    const ran: string[] = []
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [stamp('x-root', '1')] })
      await app.register(
        async (scope) => {
          await scope.register(aikitFastify, {
            use: [
              async (ctx, next) => {
                ran.push(ctx.path)
                ctx.setHeader('x-v1', '1')
                await next()
              },
            ],
          })
          scope.get('/chat', async () => 'v1 chat')
        },
        { prefix: '/v1' }
      )
      app.get('/chat', async () => 'root chat')
    })
    const v1 = await fetch(`${url}/v1/chat`)
    const root = await fetch(`${url}/chat`)
    expect([await v1.text(), v1.headers.get('x-v1'), v1.headers.get('x-root')]).toEqual([
      'v1 chat',
      '1',
      '1',
    ])
    expect([await root.text(), root.headers.get('x-v1'), root.headers.get('x-root')]).toEqual([
      'root chat',
      null,
      '1',
    ])
    expect(ran).toEqual(['/v1/chat'])
  })

  it("joins behind an app's async onRequest hook (auth between the two registrations), onion order kept", async () => {
    const order: string[] = []
    const url = await start(async (app) => {
      await app.register(aikitFastify, {
        use: [
          async (ctx, next) => {
            order.push('outer before')
            await next()
            order.push(`outer after ${ctx.status}`)
          },
        ],
      })
      await app.register(async (scope) => {
        // The app's own hook, between the enclosing registration and the nested one.
        scope.addHook('onRequest', async (request) => {
          await new Promise((resolve) => setTimeout(resolve, 5))
          const ctx = request.aikit as Context
          ctx.state.subject = `hook:${request.headers['x-user']}`
          order.push('app hook')
        })
        await scope.register(aikitFastify, {
          use: [
            async (ctx, next) => {
              order.push(`inner before ${ctx.state.subject}`)
              await next()
              order.push(`inner after ${ctx.status}`)
            },
          ],
        })
        scope.get('/r', async (request) => (request.aikit as Context).state.subject)
      })
    })
    const res = await fetch(`${url}/r`, { headers: { 'x-user': 'carol' } })
    expect(await res.text()).toBe('hook:carol')
    await expect.poll(() => order.length, { timeout: 10_000 }).toBe(5)
    expect(order).toEqual([
      'outer before',
      'app hook',
      'inner before hook:carol',
      'inner after 200',
      'outer after 200',
    ])
  })

  it('three levels deep, each chain runs once for the deepest routes, in order', async () => {
    const order: string[] = []
    const step = (name: string): Middleware =>
      async function step(ctx, next) {
        order.push(`${name} in`)
        ctx.appendHeader('x-chain', name)
        await next()
        order.push(`${name} out`)
      }
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [step('a')] })
      await app.register(async (s1) => {
        await s1.register(aikitFastify, { use: [step('b')] })
        await s1.register(async (s2) => {
          await s2.register(aikitFastify, { use: [step('c')] })
          s2.get('/deep', async () => 'deep')
        })
        s1.get('/mid', async () => 'mid')
      })
    })
    const deep = await fetch(`${url}/deep`)
    expect([await deep.text(), deep.headers.get('x-chain')]).toEqual(['deep', 'a, b, c'])
    await expect.poll(() => order.length, { timeout: 10_000 }).toBe(6)
    expect(order).toEqual(['a in', 'b in', 'c in', 'c out', 'b out', 'a out'])
    order.length = 0
    const mid = await fetch(`${url}/mid`)
    expect([await mid.text(), mid.headers.get('x-chain')]).toEqual(['mid', 'a, b'])
    await expect.poll(() => order.length, { timeout: 10_000 }).toBe(4)
    expect(order).toEqual(['a in', 'b in', 'b out', 'a out'])
  })

  it('a nested chain that reads the body leaves it to the route; the enclosing one may be header-only', async () => {
    const headerOnly = denyFrames()
    const url = await start(async (app) => {
      // Header-only at the root: no Context there; the nested registration builds it.
      await app.register(aikitFastify, { use: [headerOnly], asyncContext: false })
      await app.register(async (scope) => {
        await scope.register(aikitFastify, {
          use: [
            async (ctx, next) => {
              const body = await ctx.json<{ q: number }>()
              ctx.state.subject = `q=${body.q}`
              await next()
            },
          ],
        })
        scope.post('/chat', async (request) => ({
          subject: (request.aikit as Context).state.subject,
          body: request.body,
        }))
      })
      app.get('/open', async (request) => String(request.aikit))
    })
    const res = await post(`${url}/chat`, 'x')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(await res.json()).toEqual({ subject: 'q=1', body: { q: 1 } })
    const open = await fetch(`${url}/open`)
    expect([await open.text(), open.headers.get('x-frame-options')]).toEqual(['null', 'DENY'])
  })

  it('refuses adapter options on a nested registration (the enclosing ones hold for the request)', async () => {
    for (const extra of [
      { trustProxy: 1 },
      { maxBodyBytes: 10 },
      { onError: () => {} },
      { asyncContext: true },
    ]) {
      const app = newApp()
      await app.register(aikitFastify, { use: [] })
      app.register(async (scope) => {
        await scope.register(aikitFastify, { use: [], ...extra } as AikitFastifyOptions)
      })
      const error = await app.ready().then(
        () => undefined,
        (e: unknown) => e
      )
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect((error as InvalidOptionsError).field).toBe(Object.keys(extra)[0])
    }
    // A typo is still a typo there.
    const app = newApp()
    await app.register(aikitFastify, { use: [] })
    app.register(async (scope) => {
      await scope.register(aikitFastify, { use: [], trustproxy: 1 } as AikitFastifyOptions)
    })
    await expect(app.ready()).rejects.toMatchObject({ field: 'trustproxy' })
  })

  it('refuses an enclosing registration made after a plugin registered its own (its hook would run second, with a second Context)', async () => {
    const app = newApp()
    await app.register(async (scope) => {
      await scope.register(aikitFastify, { use: [stamp('x-scope', '1')] })
      scope.get('/chat', async () => 'chat')
    })
    app.register(aikitFastify, { use: [auth] })
    await expect(app.ready()).rejects.toMatchObject({ code: 'REGISTRATION_ORDER' })
  })

  it("a second registration on the same scope runs on the first one's Context, after it", async () => {
    const contexts = new Set<Context>()
    const order: string[] = []
    const track = (name: string): Middleware =>
      async function track(ctx, next) {
        contexts.add(ctx)
        order.push(name)
        await next()
      }
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [track('one'), auth] })
      await app.register(aikitFastify, { use: [track('two')] })
      app.post('/x', async (request) => {
        contexts.add(request.aikit as Context)
        return (request.aikit as Context).state.subject
      })
    })
    expect(await (await post(`${url}/x`, 'erin')).text()).toBe('erin')
    expect(order).toEqual(['one', 'two'])
    expect(contexts.size).toBe(1)
  })

  it("errorHandler on a nested registration answers its scope's route errors only", async () => {
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [auth] })
      await app.register(async (scope) => {
        await scope.register(aikitFastify, { use: [], errorHandler: true })
        scope.get('/in', async () => {
          throw new Error('secret in scope')
        })
      })
      app.get('/out', async () => {
        throw new Error('fastify default out of scope')
      })
    })
    const inside = await fetch(`${url}/in`)
    expect(inside.status).toBe(500)
    expect(await inside.json()).toEqual({
      error: { code: 'INTERNAL', message: 'Internal server error' },
    })
    const outside = await fetch(`${url}/out`)
    expect(outside.status).toBe(500)
    expect((await outside.json()).message).toBe('fastify default out of scope')
  })

  it('an AikitError from the nested chain keeps its status and code', async () => {
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [auth] })
      await app.register(async (scope) => {
        await scope.register(aikitFastify, {
          use: [
            async (ctx, next) => {
              if (ctx.state.subject === undefined) throw new AikitError('UNAUTHORIZED', 401, 'who?')
              await next()
            },
          ],
        })
        scope.post('/chat', async () => ({ ok: true }))
      })
    })
    const anonymous = await fetch(`${url}/chat`, { method: 'POST' })
    expect(anonymous.status).toBe(401)
    expect((await anonymous.json()).error.code).toBe('UNAUTHORIZED')
    expect((await post(`${url}/chat`, 'dave')).status).toBe(200)
  })
})
