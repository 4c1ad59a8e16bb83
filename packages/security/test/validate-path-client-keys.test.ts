import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { validate } from '../src/validate.js'

// An issue's path names the keys it went through. Keys the schema declares are the app's own
// words; keys of a record, a map or an object's catchall are the client's, and a client that
// puts a secret (or markup) in a key must not get it echoed back in the 400.
const SECRET = 'sk-live-4f9a8b7c6d5e4f3a2b1c'

const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
})

async function post(
  schema: z.ZodType,
  body: unknown
): Promise<{ status: number; text: string; issues: { path: unknown[]; code: string }[] }> {
  const route: Middleware = async (ctx) => ctx.respond(200, { ok: true })
  const server = createServer(toNodeHandler(validate({ body: schema }), route))
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const res = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  const parsed = JSON.parse(text) as { error: { details?: { issues: never[] } } }
  return { status: res.status, text, issues: parsed.error.details?.issues ?? [] }
}

describe('validate paths never echo keys the client chose', () => {
  it('a record value failing its schema: the key reads "*", declared keys stay', async () => {
    const r = await post(z.object({ headers: z.record(z.string(), z.string()) }), {
      headers: { [SECRET]: 42 },
    })
    expect(r.status).toBe(400)
    expect(r.text).not.toContain(SECRET)
    expect(r.issues).toEqual([
      expect.objectContaining({ path: ['headers', '*'], code: 'invalid_type' }),
    ])
  })

  it('a record key failing its key schema (invalid_key) does not echo the key', async () => {
    const r = await post(z.object({ tags: z.record(z.string().max(4), z.number()) }), {
      tags: { [SECRET]: 1 },
    })
    expect(r.status).toBe(400)
    expect(r.text).not.toContain(SECRET)
    expect(r.issues).toEqual([
      expect.objectContaining({ path: ['tags', '*'], code: 'invalid_key' }),
    ])
  })

  it('a catchall key is hidden, and the walk goes on into the catchall schema', async () => {
    const schema = z
      .object({ model: z.string() })
      .catchall(z.object({ weight: z.number(), list: z.array(z.number()) }))
    const r = await post(schema, { model: 'm', [SECRET]: { weight: 'x', list: [1, 'two'] } })
    expect(r.text).not.toContain(SECRET)
    expect(r.issues.map((i) => i.path)).toEqual([
      ['*', 'weight'],
      ['*', 'list', 1],
    ])
  })

  it('records nested in arrays, discriminated unions, optionals, lazies and pipes keep declared segments', async () => {
    type Node = { name: string; meta?: Record<string, number> | undefined; children: Node[] }
    const Tree: z.ZodType<Node> = z.lazy(() =>
      z.object({
        name: z.string(),
        meta: z.record(z.string(), z.number()).optional(),
        children: z.array(Tree),
      })
    )
    const schema = z.object({
      items: z.array(
        z.discriminatedUnion('kind', [
          z.object({ kind: z.literal('a'), tree: Tree }),
          z.object({ kind: z.literal('b'), text: z.string() }),
        ])
      ),
      extra: z.string().pipe(z.string().min(2)).nullable(),
    })
    const r = await post(schema, {
      items: [
        {
          kind: 'a',
          tree: { name: 'x', children: [{ name: 'y', meta: { [SECRET]: 'v' }, children: [] }] },
        },
      ],
      extra: 'q',
    })
    expect(r.text).not.toContain(SECRET)
    expect(r.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining([['items', 0, 'tree', 'children', 0, 'meta', '*'], ['extra']])
    )
  })

  it('keys a record declares with an enum key schema are the app’s words and stay', async () => {
    const r = await post(z.object({ limits: z.record(z.enum(['daily', 'monthly']), z.number()) }), {
      limits: { daily: 'many', monthly: 3 },
    })
    expect(r.issues).toEqual([
      expect.objectContaining({ path: ['limits', 'daily'], code: 'invalid_type' }),
    ])
  })

  it('a refine whose path names a declared key keeps it; an undeclared one reads "*"', async () => {
    const schema = z
      .object({ password: z.string(), confirm: z.string() })
      .refine((v) => v.password === v.confirm, { path: ['confirm'], message: 'must match' })
      .refine(() => false, { path: ['not-declared'], message: 'app rule' })
    const r = await post(schema, { password: 'a', confirm: 'b' })
    expect(r.issues.map((i) => i.path)).toEqual([['confirm'], ['*']])
  })
})
