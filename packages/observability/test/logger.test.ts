import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import { currentContext, type Middleware } from '@aikit/core'
import { createLogger, isSafeRequestId, requestLogger } from '@aikit/observability'
import { redact } from '@aikit/security'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import winston from 'winston'

type FastLineFn = (level: string, message: string, fields: Record<string, unknown>) => boolean

const ANTHROPIC_KEY = 'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij-XYZ'
const OPENAI_KEY = 'sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0PpOoNnMmLlKkJjIiHh'
const COOKIE_VALUE = 'sess-7f3c9a1be2d44c0f8a6b5e4d3c2b1a09'

function sink() {
  const lines: Record<string, unknown>[] = []
  const raw: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      const text = String(chunk)
      raw.push(text)
      for (const l of text.split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l))
      cb()
    },
  })
  return { lines, raw, stream }
}

const servers: Server[] = []
const apps: FastifyInstance[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all([
    ...servers.map((s) => new Promise((r) => s.close(r))),
    ...apps.map((a) => a.close()),
  ])
})
const savedLevel = process.env.LOG_LEVEL
afterEach(() => {
  if (savedLevel === undefined) delete process.env.LOG_LEVEL
  else process.env.LOG_LEVEL = savedLevel
})

type Logger = ReturnType<typeof createLogger>

async function expressChat(logger: Logger): Promise<string> {
  const app = express()
  app.use(toExpress(requestLogger(logger)))
  app.use(express.json())
  app.post('/chat/:id', (req, res) => {
    // A careless app logs everything it got: the logger must still keep the secrets out.
    logger.info('chat request', { headers: req.headers, body: req.body })
    res.json({ ok: true })
  })
  const server = createServer(app)
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function fastifyChat(logger: Logger): Promise<string> {
  const app = Fastify({ logger: false })
  await app.register(aikitFastify, { use: [requestLogger(logger)] })
  app.post('/chat/:id', async (request) => {
    logger.info('chat request', { headers: request.headers, body: request.body })
    return { ok: true }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  apps.push(app)
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

/** Until `cond()` holds, at most 10 s (a loaded runner takes longer than any fixed bound). */
const waitFor = async (cond: () => boolean) => {
  for (let end = Date.now() + 10_000; Date.now() < end && !cond(); ) {
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe.each([
  ['Express', expressChat],
  ['Fastify', fastifyChat],
])('requestLogger + createLogger on %s', (_name, start) => {
  it('a request with Authorization, a provider key in the body and a cookie logs none of them', async () => {
    const { lines, raw, stream } = sink()
    const logger = createLogger({ stream, level: 'info' })
    const base = await start(logger)
    const res = await fetch(`${base}/chat/42`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ANTHROPIC_KEY}`,
        cookie: `session=${COOKIE_VALUE}`,
        'content-type': 'application/json',
        'x-request-id': 'client-id_1.2',
      },
      body: JSON.stringify({
        apiKey: OPENAI_KEY,
        note: `my key is ${OPENAI_KEY}`,
        prompt: 'hello',
      }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toBe('client-id_1.2')
    await res.text()
    await waitFor(() => lines.length >= 2)
    const all = raw.join('')
    for (const secret of [
      ANTHROPIC_KEY,
      OPENAI_KEY,
      COOKIE_VALUE,
      'AbCdEfGhIjKlMnOp',
      'Zz9Yy8Xx7Ww6',
    ]) {
      expect(all).not.toContain(secret)
    }
    const chat = lines.find((l) => l.message === 'chat request')!
    expect(chat.requestId).toBe('client-id_1.2')
    expect(chat.route).toBe('/chat/:id')
    const request = lines.find((l) => l.message === 'request')!
    expect(request).toMatchObject({
      level: 'info',
      requestId: 'client-id_1.2',
      method: 'POST',
      path: '/chat/42',
      route: '/chat/:id',
      status: 200,
      aborted: false,
    })
    expect(typeof request.durationMs).toBe('number')
    expect(typeof request.timestamp).toBe('string')
  })

  it('an unsafe X-Request-Id is replaced by a new one, echoed in the response', async () => {
    const { lines, stream } = sink()
    const base = await start(createLogger({ stream }))
    const res = await fetch(`${base}/chat/1`, {
      method: 'POST',
      headers: { 'x-request-id': 'bad id\twith spaces', 'content-type': 'application/json' },
      body: '{}',
    })
    await res.text()
    const id = res.headers.get('x-request-id')
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    await waitFor(() => lines.some((l) => l.message === 'request'))
    expect(lines.find((l) => l.message === 'request')?.requestId).toBe(id)
  })

  it('a credential in a query percent-encoded inside the path (a proxied URL) is not logged', async () => {
    const { lines, raw, stream } = sink()
    const logger = createLogger({ stream, level: 'info' })
    const base = await start(logger)
    const secret = 'Qv8Tz3Wn5Rb7Lk2M'
    // A URL carried in the path holds its query encoded: `?token=` arrives as `%3Ftoken%3D`.
    const path = `/chat/https%3A%2F%2Fapi.example%2Fv1%3Fuser%3Dann%26token%3D${secret}`
    const res = await fetch(`${base}${path}`, { method: 'POST' })
    await res.text()
    await waitFor(() => lines.some((l) => l.message === 'request'))
    expect(raw.join('')).not.toContain(secret)
    const request = lines.find((l) => l.message === 'request')!
    expect(request.path).toMatch(
      /^\/chat\/https%3A%2F%2Fapi\.example%2Fv1%3Fuser%3Dann%26token%3D\S/
    )
    expect(request.route).toBe('/chat/:id')
  })
})

describe('createLogger', () => {
  it('takes its level from LOG_LEVEL, and an explicit level wins', () => {
    process.env.LOG_LEVEL = 'warn'
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    logger.info('dropped')
    logger.warn('kept')
    expect(lines.map((l) => l.message)).toEqual(['kept'])
    expect(createLogger({ stream, level: 'debug' }).level).toBe('debug')
  })

  it('redacts every line, also outside a request, with a custom redactor when given', () => {
    const { lines, stream } = sink()
    createLogger({ stream }).info(`calling with ${ANTHROPIC_KEY}`, { password: 'hunter2' })
    expect(JSON.stringify(lines)).not.toContain('hunter2')
    expect(JSON.stringify(lines)).not.toContain(ANTHROPIC_KEY)
    const custom = sink()
    createLogger({ stream: custom.stream, redact: () => ({ message: 'x', level: 'info' }) }).info(
      'y'
    )
    expect(custom.lines[0]?.message).toBe('x')
  })

  it('carries the request id into lines written deep in the request (AsyncLocalStorage)', async () => {
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    const app = express()
    app.use(toExpress(requestLogger(logger)))
    app.get('/deep', async (_req, res) => {
      await new Promise((r) => setTimeout(r, 5))
      expect(currentContext()?.state.requestId).toBe('deep-1')
      logger.warn('deep line')
      res.end('ok')
    })
    const server = createServer(app)
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    await (await fetch(`${base}/deep`, { headers: { 'x-request-id': 'deep-1' } })).text()
    expect(lines.find((l) => l.message === 'deep line')).toMatchObject({
      requestId: 'deep-1',
      route: '/deep',
    })
  })

  it('logs the route template of a router mounted on a path with a parameter', async () => {
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    const app = express()
    app.use(toExpress(requestLogger(logger)))
    const posts = express.Router({ mergeParams: true })
    posts.get('/:postId', (_req, res) => {
      logger.info('in the handler')
      res.end('ok')
    })
    app.use('/users/:userId/posts', posts)
    const server = createServer(app)
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    for (const user of ['1', '2']) await (await fetch(`${base}/users/${user}/posts/9`)).text()
    await waitFor(() => lines.length >= 4)
    expect(lines.map((l) => [l.message, l.route])).toEqual([
      ['in the handler', '/users/:userId/posts/:postId'],
      ['request', '/users/:userId/posts/:postId'],
      ['in the handler', '/users/:userId/posts/:postId'],
      ['request', '/users/:userId/posts/:postId'],
    ])
  })

  it('a child logger keeps its fields and gets the request fields, on every line and the request line', async () => {
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    const child = logger.child({ component: 'chat' })
    const grandchild = child.child({ step: 'answer' })
    const base = await (async () => {
      const app = express()
      app.use(toExpress(requestLogger(child)))
      app.get('/chat/:id', (_req, res) => {
        child.info('from the child')
        grandchild.warn('from the grandchild')
        res.end('ok')
      })
      const server = createServer(app)
      servers.push(server)
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    })()
    await (await fetch(`${base}/chat/1`, { headers: { 'x-request-id': 'child-1' } })).text()
    await waitFor(() => lines.length >= 3)
    const fields = { component: 'chat', requestId: 'child-1', route: '/chat/:id' }
    expect(lines.find((l) => l.message === 'from the child')).toMatchObject(fields)
    expect(lines.find((l) => l.message === 'from the grandchild')).toMatchObject({
      ...fields,
      step: 'answer',
    })
    // requestLogger's own line through the child: the parent's fast writers know nothing of
    // the child's fields, so the child does not offer them.
    expect(lines.find((l) => l.message === 'request')).toMatchObject({ ...fields, status: 200 })
  })

  it.each([
    ['Express', 'express'],
    ['Fastify', 'fastify'],
  ] as const)(
    'puts request id, route and subject in every line of that request (%s)',
    async (_name, kind) => {
      const { lines, stream } = sink()
      const logger = createLogger({ stream })
      // What an auth middleware does once it knows who is calling.
      const authenticate: Middleware = (ctx, next) => {
        ctx.state.subject = ctx.header('x-user') ?? 'anonymous'
        return next()
      }
      const handle = async () => {
        logger.info('before await')
        await new Promise((r) => setTimeout(r, 5))
        logger.warn('after await', { step: 2 })
        await Promise.resolve().then(() => logger.error('in a continuation'))
      }
      let base: string
      if (kind === 'express') {
        const app = express()
        app.use(toExpress(requestLogger(logger), authenticate))
        app.get('/users/:id/chat', async (_req, res) => {
          await handle()
          res.end('ok')
        })
        const server = createServer(app)
        servers.push(server)
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      } else {
        const app = Fastify({ logger: false })
        await app.register(aikitFastify, { use: [requestLogger(logger), authenticate] })
        app.get('/users/:id/chat', async () => {
          await handle()
          return 'ok'
        })
        await app.listen({ port: 0, host: '127.0.0.1' })
        apps.push(app)
        base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
      }
      // Two requests at once: each line must carry its own request's fields, not the other's.
      await Promise.all(
        ['alice', 'bob'].map(async (user) => {
          const res = await fetch(`${base}/users/7/chat`, {
            headers: { 'x-request-id': `${kind}-${user}`, 'x-user': user },
          })
          await res.text()
        })
      )
      await waitFor(() => lines.length >= 8)
      for (const user of ['alice', 'bob']) {
        const mine = lines.filter((l) => l.requestId === `${kind}-${user}`)
        // The three app lines and requestLogger's own request line.
        expect(mine.map((l) => l.message).sort()).toEqual([
          'after await',
          'before await',
          'in a continuation',
          'request',
        ])
        for (const line of mine) {
          expect(line).toMatchObject({ route: '/users/:id/chat', subject: user })
        }
      }
      expect(lines.every((l) => typeof l.requestId === 'string')).toBe(true)
    }
  )

  it.each([
    [{ level: 'loud' }, 'level'],
    [{ redact: 'yes' }, 'redact'],
    [{ stream: {} }, 'stream'],
  ])('rejects invalid options %j naming %s', (options, field) => {
    expect(() => createLogger(options as never)).toThrow(expect.objectContaining({ field }))
  })

  it('names LOG_LEVEL when the environment holds a bad level', () => {
    process.env.LOG_LEVEL = 'verbose!'
    expect(() => createLogger()).toThrow(expect.objectContaining({ field: 'LOG_LEVEL' }))
  })
})

describe('requestLogger line writing', () => {
  it('writes the same fields through the fast path as through winston, and falls back when transports change', async () => {
    const fast = sink()
    const fastLogger = createLogger({ stream: fast.stream, defaultMeta: { service: 'chat' } })
    const FAST = Symbol.for('@aikit/observability.fast-line.v1')
    // The fast path exists on a default logger (and not with custom transports), so the comparison
    // below really compares the two paths.
    expect(typeof (fastLogger as unknown as Record<symbol, unknown>)[FAST]).toBe('function')
    expect(
      (createLogger({ transports: [] }) as unknown as Record<symbol, unknown>)[FAST]
    ).toBeUndefined()
    const base1 = await expressChat(fastLogger)
    await (
      await fetch(`${base1}/chat/7?token=abc`, {
        method: 'POST',
        headers: { 'x-request-id': 'r1' },
      })
    ).text()
    await waitFor(() => fast.lines.some((l) => l.message === 'request'))

    const slow = sink()
    const extra = sink()
    const slowLogger = createLogger({ stream: slow.stream, defaultMeta: { service: 'chat' } })
    slowLogger.add(new winston.transports.Stream({ stream: extra.stream }))
    const base2 = await expressChat(slowLogger)
    await (
      await fetch(`${base2}/chat/7?token=abc`, {
        method: 'POST',
        headers: { 'x-request-id': 'r1' },
      })
    ).text()
    await waitFor(() => extra.lines.some((l) => l.message === 'request'))

    const a = fast.lines.find((l) => l.message === 'request')!
    const b = slow.lines.find((l) => l.message === 'request')!
    expect(extra.lines.find((l) => l.message === 'request')).toBeDefined()
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort())
    const stable = (l: Record<string, unknown>) => ({ ...l, durationMs: 0, timestamp: '' })
    expect(stable(a)).toEqual(stable(b))
    expect(a).toMatchObject({
      service: 'chat',
      requestId: 'r1',
      route: '/chat/:id',
      path: '/chat/7',
    })
  })

  it('logs aborted: true when the client leaves in the middle of a streamed answer', async () => {
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    const server = createServer(
      toNodeHandler(requestLogger(logger, { route: () => '/stream' }), async (ctx) => {
        ctx.respond(
          200,
          (async function* () {
            yield 'data: first\n\n'
            await new Promise(() => {}) // never ends: only the client can end it
          })(),
          { 'content-type': 'text/event-stream' }
        )
      })
    )
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const controller = new AbortController()
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
      signal: controller.signal,
    })
    await res.body!.getReader().read()
    controller.abort()
    await waitFor(() => lines.some((l) => l.message === 'request'))
    expect(lines.find((l) => l.message === 'request')).toMatchObject({
      aborted: true,
      status: 200,
      route: '/stream',
    })
  })

  it('batches fast lines into one write per event-loop turn and keeps order with winston lines', async () => {
    const { raw, stream } = sink()
    const logger = createLogger({ stream })
    const fast = (logger as unknown as Record<symbol, FastLineFn>)[
      Symbol.for('@aikit/observability.fast-line.v1')
    ]!
    expect(fast('info', 'request', { n: 1 })).toBe(true)
    expect(fast('info', 'request', { n: 2 })).toBe(true)
    expect(raw).toEqual([]) // nothing written yet: batched
    logger.info('after') // a winston line flushes the batch first
    await new Promise((r) => setImmediate(r))
    expect(raw).toHaveLength(2)
    expect(
      raw[0]!
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).n)
    ).toEqual([1, 2])
    expect(JSON.parse(raw[1]!).message).toBe('after')
    fast('info', 'request', { n: 3 })
    await new Promise((r) => setImmediate(r))
    expect(JSON.parse(raw[2]!).n).toBe(3)
  })

  it('respects the logger level on the fast path', async () => {
    const { lines, stream } = sink()
    const base = await expressChat(createLogger({ stream, level: 'warn' }))
    await (await fetch(`${base}/chat/1`, { method: 'POST' })).text()
    await new Promise((r) => setTimeout(r, 30))
    expect(lines.filter((l) => l.message === 'request')).toEqual([])
  })
})

describe('requestLogger fast request line', () => {
  type RequestLineFn = (
    level: string,
    requestId: string,
    method: string,
    path: string,
    status: number | null,
    durationMs: number,
    aborted: boolean,
    route: string | undefined,
    subject: string | undefined,
    generatedId?: boolean
  ) => boolean
  const fastOf = (logger: Logger) => {
    const l = logger as unknown as Record<symbol, unknown>
    return {
      line: l[Symbol.for('@aikit/observability.fast-line.v1')] as FastLineFn,
      request: l[Symbol.for('@aikit/observability.fast-request-line.v1')] as
        | RequestLineFn
        | undefined,
    }
  }
  const cases: Parameters<RequestLineFn>[] = [
    ['info', 'r1', 'GET', '/items/1', 200, 0.125, false, '/items/:id', undefined],
    ['error', ANTHROPIC_KEY, 'POST', `/keys/${OPENAI_KEY}`, 500, 12.5, false, undefined, 'user 7'],
    [
      'info',
      'a.b_c-d',
      'GET',
      '/q"uo\\te/\u00e9\u2028/\n',
      null,
      0,
      true,
      '/x/:y',
      `sk ${OPENAI_KEY}`,
    ],
    ['info', crypto.randomUUID(), 'DELETE', '/', 204, 1e-3, false, '/', 'Bearer abcdefghijklmnop'],
    ['warn', 'x'.repeat(128), 'GET', `/${'p'.repeat(5000)}`, 302, 3, false, undefined, undefined],
    // An id requestLogger generated itself (not redacted: a UUID holds no secret).
    ['info', crypto.randomUUID(), 'GET', '/items/1', 200, 0.1, false, '/items/:id', 'u', true],
    [
      'info',
      crypto.randomUUID(),
      'GET',
      '/items/2',
      201,
      100.01,
      false,
      undefined,
      undefined,
      true,
    ],
    ['info', 'r2', 'GET', '/items/1', 200, 0.1 + 0.2, false, '/items/:id', 'u'],
    ['info', 'r3', 'GET', '/items/1', 200, 123456.789, false, '/items/:id', 'u'],
    ['info', 'r4', 'GET', '/items/1', 200, 2e15 + 0.5, false, '/items/:id', 'u'],
    ['info', 'r5', 'GET', '/items/1', 200, Number.NaN, false, '/items/:id', 'u'],
  ]

  it('prints every duration exactly as JSON.stringify does', async () => {
    const out = sink()
    const fast = fastOf(createLogger({ stream: out.stream })).request!
    const durations: number[] = [0, 1, 0.001, 0.01, 0.1, 0.12, 0.102, 1.05, 9.999, 10, 1e6 + 0.5]
    for (let i = 0; i < 3000; i++) {
      const scale = 10 ** ((i % 9) - 2)
      durations.push(Math.round(Math.random() * scale * 1000) / 1000)
    }
    for (const d of durations) {
      expect(fast('info', 'r', 'GET', '/', 200, d, false, undefined, undefined)).toBe(true)
    }
    await new Promise((r) => setImmediate(r))
    const printed = out.raw
      .join('')
      .trim()
      .split('\n')
      .map((l) => /"durationMs":([^,]+),/.exec(l)?.[1])
    expect(printed).toEqual(durations.map((d) => JSON.stringify(d)))
  })

  it('writes exactly the text of the generic fast line, and the fields winston writes', async () => {
    for (const defaultMeta of [
      {},
      { service: 'chat', token: 'abc', region: `eu ${OPENAI_KEY}`, n: 1 },
    ]) {
      const viaRequest = sink()
      const viaLine = sink()
      const viaWinston = sink()
      const requestLogger1 = createLogger({
        stream: viaRequest.stream,
        defaultMeta,
        level: 'debug',
      })
      const lineLogger = createLogger({ stream: viaLine.stream, defaultMeta, level: 'debug' })
      const winstonLogger = createLogger({ stream: viaWinston.stream, defaultMeta, level: 'debug' })
      winstonLogger.add(
        new winston.transports.Stream({ stream: new Writable({ write: (_c, _e, cb) => cb() }) })
      )
      const fast = fastOf(requestLogger1).request
      expect(fast).toBeTypeOf('function')
      for (const c of cases) {
        const [level, requestId, method, path, status, durationMs, aborted, route, subject] = c
        // A generated id is exactly what the redactor leaves alone.
        if (c[9] === true) expect(redact(requestId)).toBe(requestId)
        const meta: Record<string, unknown> = {
          requestId,
          method,
          path,
          status,
          durationMs,
          aborted,
        }
        if (route !== undefined) meta.route = route
        if (subject !== undefined) meta.subject = subject
        expect(fast!(...c)).toBe(true)
        expect(fastOf(lineLogger).line(level, 'request', meta)).toBe(true)
        winstonLogger.log(level, 'request', meta)
      }
      await new Promise((r) => setImmediate(r))
      await waitFor(() => viaWinston.lines.length === cases.length)
      const noTime = (text: string) => text.replace(/"timestamp":"[^"]+"/g, '"timestamp":""')
      expect(noTime(viaRequest.raw.join(''))).toBe(noTime(viaLine.raw.join('')))
      const stable = (l: Record<string, unknown>) => ({ ...l, timestamp: '' })
      expect(viaRequest.lines.map(stable)).toEqual(viaWinston.lines.map(stable))
      const text = viaRequest.raw.join('')
      for (const secret of [ANTHROPIC_KEY, OPENAI_KEY]) {
        expect(text).not.toContain(secret)
      }
      expect(viaRequest.lines).toHaveLength(cases.length)
    }
  })

  it('follows defaultMeta edited in place or replaced from one line to the next, redacted each time', async () => {
    const viaRequest = sink()
    const viaLine = sink()
    const meta: Record<string, unknown> = { service: 'chat', region: 'eu' }
    const logger = createLogger({ stream: viaRequest.stream, defaultMeta: meta })
    const lineLogger = createLogger({ stream: viaLine.stream, defaultMeta: meta })
    const fast = fastOf(logger).request!
    const edits: (() => void)[] = [
      () => {},
      () => {
        meta.region = `us ${OPENAI_KEY}` // a secret appears in place
      },
      () => {
        meta.extra = 7 // a key added
      },
      () => {
        delete meta.service // a key removed
      },
      () => {
        delete meta.region
        meta.region = 'ap' // same keys, another order
        meta.service = 'chat'
      },
      () => {
        meta.n = Number.NaN // never equal to itself: recomputed every time
      },

      () => {
        Object.setPrototypeOf(meta, { inherited: 'x' }) // no longer a plain object: fall back
      },
      () => {
        Object.setPrototypeOf(meta, Object.prototype)
      },
    ]
    const replaced = [{ token: 'abc', service: 'other' }, {}, undefined]
    let fellBack = 0
    // As requestLogger does: the request line, else the generic fast line.
    const line = (id: string) => {
      const fields = { requestId: id, method: 'GET', path: '/', status: 200, durationMs: 1 }
      if (!fast('info', id, 'GET', '/', 200, 1, false, undefined, undefined)) {
        fellBack++
        expect(fastOf(logger).line('info', 'request', { ...fields, aborted: false })).toBe(true)
      }
      expect(fastOf(lineLogger).line('info', 'request', { ...fields, aborted: false })).toBe(true)
    }
    for (const [i, edit] of edits.entries()) {
      edit()
      line(`e${i}`)
      line(`e${i}b`) // the same meta twice: the cached text
    }
    for (const [i, next] of replaced.entries()) {
      logger.defaultMeta = next
      lineLogger.defaultMeta = next
      line(`r${i}`)
      line(`r${i}b`)
    }
    expect(fellBack).toBe(2) // the two lines with a prototype that is not Object.prototype
    await new Promise((r) => setImmediate(r))
    const noTime = (text: string) => text.replace(/"timestamp":"[^"]+"/g, '"timestamp":""')
    expect(noTime(viaRequest.raw.join(''))).toBe(noTime(viaLine.raw.join('')))
    expect(viaRequest.raw.join('')).not.toContain(OPENAI_KEY)
    expect(viaRequest.lines.map((l) => l.region)).toContain('us sk-proj-[redacted]')
    expect(viaRequest.lines.at(-1)).not.toHaveProperty('service')
  })

  it('declines (the caller falls back) when the line could differ from the generic one', () => {
    const { stream } = sink()
    const nested = createLogger({ stream, defaultMeta: { deploy: { region: 'eu' } } })
    expect(fastOf(nested).request!('info', 'r1', 'GET', '/', 200, 1, false, '/', undefined)).toBe(
      false
    )
    const clash = createLogger({ stream, defaultMeta: { route: 'fixed' } })
    expect(fastOf(clash).request!('info', 'r1', 'GET', '/', 200, 1, false, '/', undefined)).toBe(
      false
    )
    const quiet = createLogger({ stream, level: 'warn' })
    expect(fastOf(quiet).request!('info', 'r1', 'GET', '/', 200, 1, false, '/', undefined)).toBe(
      false
    )
    quiet.silent = true
    expect(fastOf(quiet).request!('error', 'r1', 'GET', '/', 500, 1, false, '/', undefined)).toBe(
      false
    )
    // Only for the default redactor, whose per-string behaviour the fast line relies on.
    const custom = createLogger({ stream, redact: (v) => v })
    expect(fastOf(custom).request).toBeUndefined()
  })
})

describe('requestLogger options and ids', () => {
  it('accepts only short ids of [A-Za-z0-9._-]', () => {
    expect(isSafeRequestId('abc-DEF_1.2')).toBe(true)
    expect(isSafeRequestId('a'.repeat(128))).toBe(true)
    expect(isSafeRequestId('a'.repeat(129))).toBe(false)
    expect(isSafeRequestId('a b')).toBe(false)
    expect(isSafeRequestId('a\r\nb')).toBe(false)
    expect(isSafeRequestId('')).toBe(false)
    expect(isSafeRequestId(undefined)).toBe(false)
  })

  it.each([
    [{ header: 'bad header' }, 'header'],
    [{ trustIncoming: 1 }, 'trustIncoming'],
    [{ generate: 'x' }, 'generate'],
    [{ level: 'nope' }, 'level'],
    [{ level: '' }, 'level'],
  ])('rejects invalid options %j naming %s', (options, field) => {
    expect(() => requestLogger(createLogger(), options as never)).toThrow(
      expect.objectContaining({ field })
    )
    expect(() => requestLogger({} as never)).toThrow(expect.objectContaining({ field: 'logger' }))
  })

  it("checks the level against the logger's own levels when it has them", () => {
    const custom = winston.createLogger({ levels: { fatal: 0, info: 1, trace: 2 } })
    expect(() => requestLogger(custom, { level: 'trace' })).not.toThrow()
    expect(() => requestLogger(custom, { level: 'http' })).toThrow(
      expect.objectContaining({ field: 'level', code: 'INVALID_OPTIONS' })
    )
    // A logger without a level table: any name.
    expect(() => requestLogger({ log() {} }, { level: 'custom' })).not.toThrow()
  })
})
