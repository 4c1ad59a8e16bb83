/**
 * `app.inject()` (light-my-request), which many apps test with. Its response ends by emitting
 * 'finish' itself and destroying itself, so 'close' comes with `writableFinished` false: the
 * Fastify adapter read that as a client gone (every injected request finished `aborted: true`,
 * `ctx.signal` aborted after a complete response, the log line said `aborted: true`). And its
 * `end(data)` writes through `this.write`, which a body transform patches: the transformed bytes
 * went back into the ended transform and were dropped (compress() answered an empty gzip body,
 * cacheResponse an empty MISS).
 */
import { gunzipSync } from 'node:zlib'
import { aikitFastify } from '@aikit/adapters/fastify'
import type { FinishInfo, Middleware } from '@aikit/core'
import { compress } from '@aikit/core/compress'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { cacheResponse, createCache } from '../../cache/src/index.js'
import { requestLogger } from '../../observability/src/index.js'

const apps: FastifyInstance[] = []
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()))
})

interface Seen {
  path: string
  finished: FinishInfo
  signalAborted: boolean
}

/** Records each request's `finished` and whether `ctx.signal` was aborted by then. */
function watch(seen: Seen[]): Middleware {
  return async (ctx, next) => {
    const signal = ctx.signal
    void ctx.finished.then((finished) =>
      seen.push({ path: ctx.path, finished, signalAborted: signal.aborted })
    )
    await next()
  }
}

function capture(): { lines: { aborted?: boolean; status?: number }[]; logger: Middleware } {
  const lines: { aborted?: boolean; status?: number }[] = []
  const logger = requestLogger({
    log: (_level: string, _message: string, meta: object) => lines.push(meta),
  })
  return { lines, logger }
}

function app(): FastifyInstance {
  const a = Fastify()
  apps.push(a)
  return a
}

const stream = (text: string): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode(text))
      c.close()
    },
  })

describe('aikitFastify under app.inject()', () => {
  it('a complete injected response finishes not aborted: signal untouched, logged aborted: false', async () => {
    const seen: Seen[] = []
    const { lines, logger } = capture()
    const a = app()
    await a.register(aikitFastify, {
      use: [
        logger,
        watch(seen),
        async (ctx, next) => {
          if (ctx.path === '/stream') ctx.respond(200, stream('streamed'))
          else await next()
        },
      ],
    })
    a.get('/text', async () => 'text')
    a.post('/json', async (request) => request.body)
    a.get('/stream', async () => 'never')

    expect((await a.inject('/text')).body).toBe('text')
    expect((await a.inject({ method: 'POST', url: '/json', payload: { q: 1 } })).json()).toEqual({
      q: 1,
    })
    expect((await a.inject('/stream')).body).toBe('streamed')
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(3)
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(3)
    for (const s of seen)
      expect(s).toMatchObject({ finished: { aborted: false }, signalAborted: false })
    expect(lines.map((l) => [l.status, l.aborted])).toEqual([
      [200, false],
      [200, false],
      [200, false],
    ])
  })

  it('a nested registration: both chains see one finish, not aborted', async () => {
    const seen: Seen[] = []
    const { lines, logger } = capture()
    const a = app()
    await a.register(aikitFastify, { use: [logger, watch(seen)] })
    await a.register(async (scope) => {
      await scope.register(aikitFastify, {
        use: [
          watch(seen),
          async (ctx) => {
            ctx.respond(200, stream(`inner ${ctx.path}`), { 'content-type': 'text/event-stream' })
          },
        ],
      })
      scope.get('/sse', async () => 'never')
    })
    const res = await a.inject('/sse')
    expect([res.statusCode, res.body]).toEqual([200, 'inner /sse'])
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(2)
    for (const s of seen)
      expect(s).toMatchObject({ finished: { aborted: false }, signalAborted: false })
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(1)
    expect(lines[0]).toMatchObject({ status: 200, aborted: false })
  })

  it('an injected response destroyed before its end still finishes aborted', async () => {
    const seen: Seen[] = []
    const a = app()
    await a.register(aikitFastify, {
      use: [
        watch(seen),
        async (ctx) => {
          ctx.respond(
            200,
            new ReadableStream({
              pull(c) {
                c.error(new Error('source failed'))
              },
            })
          )
        },
      ],
    })
    a.get('/broken', async () => 'never')
    await a.inject('/broken').catch(() => undefined)
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(1)
    expect(seen[0]).toMatchObject({ finished: { aborted: true }, signalAborted: true })
  })

  it('compress() answers the whole gzip body (a route reply, a respond() stream), uncompressed too', async () => {
    const text = 'the same sentence again. '.repeat(200)
    const a = app()
    await a.register(aikitFastify, {
      use: [
        compress(),
        async (ctx, next) => {
          if (ctx.path !== '/stream') return next()
          ctx.respond(
            200,
            (async function* () {
              yield text.slice(0, 1000)
              yield text.slice(1000)
            })(),
            { 'content-type': 'text/plain; charset=utf-8' }
          )
        },
      ],
    })
    a.get('/reply', async (_request, reply) => reply.type('text/plain').send(text))
    a.get('/stream', async () => 'never')
    for (const url of ['/reply', '/stream']) {
      const gzip = await a.inject({ url, headers: { 'accept-encoding': 'gzip' } })
      expect(gzip.headers['content-encoding']).toBe('gzip')
      expect(gunzipSync(gzip.rawPayload).toString()).toBe(text)
      const plain = await a.inject({ url })
      expect(plain.body).toBe(text)
    }
  })

  it('cacheResponse answers the MISS with its body, then the HIT', async () => {
    const a = app()
    let reads = 0
    await a.register(aikitFastify, {
      use: [
        async (ctx, next) => {
          ctx.state.subject = 'alice'
          await next()
        },
        cacheResponse({ cache: createCache() }),
      ],
    })
    a.get('/profile', async () => ({ name: 'alice', reads: ++reads }))
    const miss = await a.inject('/profile')
    expect([miss.headers['x-cache'], miss.json()]).toEqual(['MISS', { name: 'alice', reads: 1 }])
    const hit = await a.inject('/profile')
    expect([hit.headers['x-cache'], hit.json()]).toEqual(['HIT', { name: 'alice', reads: 1 }])
  })
})
