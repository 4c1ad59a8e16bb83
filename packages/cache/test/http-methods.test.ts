/**
 * cacheResponse by request method, over real HTTP (Express and Fastify through the AI Kit adapters):
 * - a non-error response to an unsafe method invalidates what is stored for its URI, for every
 *   scope, query and Vary variant (RFC 9111 §4.4), an error response or a safe method does not;
 * - a HEAD is answered from the stored GET response: its headers and Content-Length, no body.
 */
import { type IncomingHttpHeaders, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { type Cache, cacheResponse, createCache } from '@aikit/cache'
import type { Middleware } from '@aikit/core'
import { memoryStore } from '@aikit/core'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'

const closers: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await Promise.all(closers.map((close) => close()))
})

/** Sets the subject from an `x-user` header (stands in for an auth middleware). */
const subjectFromHeader: Middleware = async (ctx, next) => {
  const user = ctx.header('x-user')
  if (user !== undefined) ctx.state.subject = user
  await next()
}

/** The resource behind the test app: one name, readable and writable. */
interface Profile {
  name: string
  reads: number
}

/** A raw request through node:http (exact headers, the body as sent, HEAD supported). */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {}
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const url = new URL(path, base)
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          body += c
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
        res.on('error', reject)
      }
    )
    req.on('error', reject)
    req.end()
  })
}

/** What a write does: `x-new-name` sets the name; `x-fail` answers that status without writing. */
function write(profile: Profile, header: (name: string) => string | undefined): number {
  const fail = header('x-fail')
  if (fail !== undefined) return Number(fail)
  profile.name = String(header('x-new-name'))
  return 200
}

async function expressApp(profile: Profile, cache: Cache): Promise<string> {
  const app = express()
  app.use(toExpress(subjectFromHeader, cacheResponse({ cache })))
  const read = (req: express.Request, res: express.Response) => {
    profile.reads++
    res.set('etag', `"${profile.name}"`).set('vary', 'X-Region')
    res.json({ name: profile.name, region: req.header('x-region') ?? null })
  }
  app.get('/profile', read)
  app.get('/other', read)
  app.options('/profile', (_req, res) => {
    res.set('allow', 'GET, HEAD, PUT').status(204).end()
  })
  for (const method of ['put', 'post', 'patch', 'delete'] as const) {
    app[method]('/profile', (req, res) => {
      res.status(write(profile, (n) => req.header(n))).json({ name: profile.name })
    })
  }
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  closers.push(() => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function fastifyApp(profile: Profile, cache: Cache): Promise<string> {
  const app = Fastify({ logger: false })
  await app.register(aikitFastify, { use: [subjectFromHeader, cacheResponse({ cache })] })
  const read = async (
    req: { headers: Record<string, unknown> },
    reply: { header(n: string, v: string): unknown }
  ) => {
    profile.reads++
    reply.header('etag', `"${profile.name}"`)
    reply.header('vary', 'X-Region')
    return { name: profile.name, region: req.headers['x-region'] ?? null }
  }
  app.get('/profile', read)
  app.get('/other', read)
  app.options('/profile', async (_req, reply) => reply.header('allow', 'GET').code(204).send())
  for (const method of ['PUT', 'POST', 'PATCH', 'DELETE'] as const) {
    app.route({
      method,
      url: '/profile',
      handler: async (req, reply) => {
        const status = write(profile, (n) => req.headers[n] as string | undefined)
        return reply.code(status).send({ name: profile.name })
      },
    })
  }
  await app.listen({ port: 0, host: '127.0.0.1' })
  closers.push(() => app.close())
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

const alice = { 'x-user': 'alice' }
const bob = { 'x-user': 'bob' }

describe.each([
  ['Express', expressApp],
  ['Fastify', fastifyApp],
])('cacheResponse by method on %s', (_name, start) => {
  const setup = async (cache: Cache = createCache()) => {
    const profile: Profile = { name: 'Alice', reads: 0 }
    const base = await start(profile, cache)
    const get = async (path: string, headers: Record<string, string> = alice) => {
      const r = await raw(base, 'GET', path, headers)
      return { xCache: r.headers['x-cache'], ...(JSON.parse(r.body) as object) }
    }
    return { profile, base, get }
  }

  for (const method of ['PUT', 'POST', 'PATCH', 'DELETE']) {
    it(`a successful ${method} to a URI makes the next GET of it a miss, not the old page`, async () => {
      const { base, get } = await setup()
      expect(await get('/profile')).toEqual({ xCache: 'MISS', name: 'Alice', region: null })
      expect(await get('/profile')).toMatchObject({ xCache: 'HIT', name: 'Alice' })

      const update = await raw(base, method, '/profile', { ...alice, 'x-new-name': 'Alicia' })
      expect(update.status).toBe(200)

      expect(await get('/profile')).toEqual({ xCache: 'MISS', name: 'Alicia', region: null })
      expect(await get('/profile')).toMatchObject({ xCache: 'HIT', name: 'Alicia' })
    })
  }

  it('the invalidation covers every scope, query and Vary variant of the path, and only that path', async () => {
    const { base, get, profile } = await setup()
    const eu = { ...alice, 'x-region': 'eu' }
    const views = [
      ['/profile', alice],
      ['/profile', bob],
      ['/profile?tab=2', alice],
      ['/profile', eu],
    ] as const
    for (const [path, headers] of views) await get(path, headers)
    await get('/other')
    for (const [path, headers] of views) {
      expect(await get(path, headers)).toMatchObject({ xCache: 'HIT', name: 'Alice' })
    }
    expect(profile.reads).toBe(5)

    // Bob renames the profile: Alice's copies go too (the URI changed, not one user's view of it).
    await raw(base, 'PUT', '/profile', { ...bob, 'x-new-name': 'Alicia' })
    for (const [path, headers] of views) {
      expect(await get(path, headers)).toMatchObject({ xCache: 'MISS', name: 'Alicia' })
    }
    expect(await get('/profile', eu)).toEqual({ xCache: 'HIT', name: 'Alicia', region: 'eu' })
    // Another path keeps its entry.
    expect(await get('/other')).toMatchObject({ xCache: 'HIT', name: 'Alice' })
  })

  it('an error response to an unsafe method, or a safe method, invalidates nothing', async () => {
    const { base, get } = await setup()
    await get('/profile')
    for (const status of ['400', '409', '500']) {
      const failed = await raw(base, 'PUT', '/profile', { ...alice, 'x-fail': status })
      expect(failed.status).toBe(Number(status))
    }
    expect((await raw(base, 'OPTIONS', '/profile', alice)).status).toBe(204)
    expect(await get('/profile')).toMatchObject({ xCache: 'HIT', name: 'Alice' })
  })

  it('a hit costs no store round trip for the URI tag once it is known', async () => {
    const store = memoryStore()
    let reads = 0
    const storeGet = store.get.bind(store)
    store.get = (key) => {
      reads++
      return storeGet(key)
    }
    const { base, get } = await setup(createCache({ store }))
    await get('/profile')
    await raw(base, 'PUT', '/profile', { ...alice, 'x-new-name': 'Alicia' })
    expect(await get('/profile')).toMatchObject({ xCache: 'MISS', name: 'Alicia' })
    reads = 0
    for (let i = 0; i < 5; i++) expect(await get('/profile')).toMatchObject({ xCache: 'HIT' })
    expect(reads).toBe(0)
  })

  it('a HEAD is answered from the stored GET response: headers and Content-Length, no body', async () => {
    const { base, get, profile } = await setup()
    const head = () => raw(base, 'HEAD', '/profile', alice)
    // Nothing stored yet: the route answers, and a HEAD alone stores nothing (it has no body).
    expect((await head()).headers['x-cache']).toBe('MISS')
    expect((await head()).headers['x-cache']).toBe('MISS')
    expect(profile.reads).toBe(2)

    const got = await raw(base, 'GET', '/profile', alice)
    expect(got.headers['x-cache']).toBe('MISS')
    const hit = await head()
    expect({
      status: hit.status,
      xCache: hit.headers['x-cache'],
      etag: hit.headers.etag,
      type: hit.headers['content-type'],
      length: hit.headers['content-length'],
      body: hit.body,
    }).toEqual({
      status: 200,
      xCache: 'HIT',
      etag: '"Alice"',
      type: got.headers['content-type'],
      length: String(Buffer.byteLength(got.body)),
      body: '',
    })
    expect(profile.reads).toBe(3)
    // A conditional HEAD gets its 304 from the entry too.
    const notModified = await raw(base, 'HEAD', '/profile', {
      ...alice,
      'if-none-match': '"Alice"',
    })
    expect([notModified.status, notModified.headers['x-cache']]).toEqual([304, 'HIT'])
    // Another subject's HEAD is not answered from Alice's entry.
    expect((await raw(base, 'HEAD', '/profile', bob)).headers['x-cache']).toBe('MISS')
    expect(await get('/profile')).toMatchObject({ xCache: 'HIT' })
    expect(profile.reads).toBe(4)
  })
})
