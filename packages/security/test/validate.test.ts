import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import { InvalidOptionsError, type Middleware } from '@aikit/core'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { bodyLimit } from '../src/body-limit.js'
import { validate } from '../src/validate.js'

const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
})

async function listen(server: Server): Promise<string> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const Chat = z.strictObject({
  model: z.enum(['small', 'large']),
  messages: z
    .array(z.strictObject({ role: z.enum(['user', 'assistant']), content: z.string().max(1000) }))
    .min(1),
  stream: z.boolean().optional(),
})
const Query = z.object({
  page: z.coerce.number().int().min(1),
  tag: z.array(z.string()).optional(),
})

describe('validate through node:http', () => {
  const calls = { n: 0 }
  const v = validate({ body: Chat, query: Query })
  const route: Middleware = async (ctx) => {
    calls.n++
    const { body, query } = v.data(ctx)
    ctx.respond(200, {
      model: body.model,
      page: query.page,
      same: ctx.state.validated?.body === body,
    })
  }
  let base = ''
  const ready = (async () => {
    base = await listen(createServer(toNodeHandler(bodyLimit({ maxBytes: '64kb' }), v, route)))
  })()

  const post = async (path: string, body: unknown) => {
    await ready
    return fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
  }

  it('puts validated, typed data on ctx.state and calls the route', async () => {
    const res = await post('/?page=2', {
      model: 'small',
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ model: 'small', page: 2, same: true })
  })

  it('answers 400 INVALID_REQUEST with paths and codes, echoing no value', async () => {
    const before = calls.n
    const secret = 'sk-ant-api03-THIS-MUST-NOT-BE-ECHOED'
    const res = await post('/?page=0', {
      model: secret,
      messages: [{ role: 'user', content: 7 }],
      [secret]: 'extra key named like a secret',
    })
    expect(res.status).toBe(400)
    const text = await res.text()
    expect(text).not.toContain(secret)
    expect(text).not.toContain('THIS-MUST-NOT')
    const body = JSON.parse(text)
    expect(body.error.code).toBe('INVALID_REQUEST')
    const issues = body.error.details.issues.map(
      (i: { in: string; path: unknown[]; code: string }) => [i.in, i.path.join('.'), i.code]
    )
    expect(issues).toEqual(
      expect.arrayContaining([
        ['query', 'page', 'too_small'],
        ['body', 'model', 'invalid_value'],
        ['body', 'messages.0.content', 'invalid_type'],
        ['body', '', 'unrecognized_keys'],
      ])
    )
    expect(calls.n).toBe(before)
  })

  it('a 5 MB string in one field is refused by the body limit (413) before validation', async () => {
    const res = await post('/?page=1', {
      model: 'small',
      messages: [{ role: 'user', content: 'x'.repeat(5 * 1024 * 1024) }],
    })
    expect(res.status).toBe(413)
  })

  it('a string over the schema maximum is 400 too_big, without the string', async () => {
    const res = await post('/?page=1', {
      model: 'small',
      messages: [{ role: 'user', content: 'y'.repeat(2000) }],
    })
    expect(res.status).toBe(400)
    const text = await res.text()
    expect(text).not.toContain('yyyy')
    expect(JSON.parse(text).error.details.issues[0]).toMatchObject({
      in: 'body',
      path: ['messages', 0, 'content'],
      code: 'too_big',
    })
  })

  it('body errors from the reader keep their status: 415 for text/plain, 400 for bad JSON', async () => {
    await ready
    const plain = await fetch(`${base}/?page=1`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"model":"small"}',
    })
    expect(plain.status).toBe(415)
    const broken = await post('/?page=1', '{"model":')
    expect(broken.status).toBe(400)
    expect((await broken.json()).error.message).toBe('Request body is not valid JSON')
    const poisoned = await post('/?page=1', '{"__proto__":{"isAdmin":true}}')
    expect(poisoned.status).toBe(400)
  })

  it('repeated query keys become arrays; __proto__ in the query cannot poison', async () => {
    await ready
    const res = await fetch(`${base}/?page=1&tag=a&tag=b&__proto__=x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'large', messages: [{ role: 'user', content: 'q' }] }),
    })
    expect(res.status).toBe(200)
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })
})

describe('validate params through Express', () => {
  it('reads req.params by default', async () => {
    const app = express()
    const v = validate({ params: z.object({ id: z.string().regex(/^\d+$/) }) })
    app.get('/items/:id', toExpress(v), (req, res) => {
      res.json({ id: req.params.id })
    })
    const base = await listen(createServer(app))
    expect((await fetch(`${base}/items/42`)).status).toBe(200)
    const bad = await fetch(`${base}/items/abc`)
    expect(bad.status).toBe(400)
    const body = await bad.json()
    expect(body.error.details.issues[0]).toMatchObject({
      in: 'params',
      path: ['id'],
      code: 'invalid_format',
    })
  })
})

describe('validate params through Fastify', () => {
  it('reads request.params by default', async () => {
    const app = Fastify({ logger: false })
    let called = 0
    await app.register(async (scope) => {
      await scope.register(aikitFastify, {
        use: [validate({ params: z.object({ id: z.string().regex(/^\d+$/) }) })],
      })
      scope.get('/items/:id', async () => {
        called++
        return { ok: true }
      })
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
      expect((await fetch(`${base}/items/7`)).status).toBe(200)
      const bad = await fetch(`${base}/items/x7`)
      expect(bad.status).toBe(400)
      expect((await bad.json()).error.details.issues[0]).toMatchObject({
        in: 'params',
        path: ['id'],
      })
      expect(called).toBe(1)
    } finally {
      await app.close()
    }
  })
})

describe('validate options', () => {
  it('infers the data types from the schemas', () => {
    const v = validate({ body: Chat, query: Query })
    type Data = ReturnType<typeof v.data>
    expectTypeOf<Data['body']['model']>().toEqualTypeOf<'small' | 'large'>()
    expectTypeOf<Data['query']['page']>().toEqualTypeOf<number>()
  })

  it.each([
    [{}, 'options'],
    [{ body: { parse: () => 1 } }, 'body'],
    [{ query: Query, maxIssues: 0 }, 'maxIssues'],
    [{ query: Query, maxQueryParams: 1.5 }, 'maxQueryParams'],
    [{ query: Query, getParams: 'req.params' }, 'getParams'],
  ])('%o throws InvalidOptionsError(%s)', (options, field) => {
    let error: unknown
    try {
      validate(options as never)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe(field)
  })
})
