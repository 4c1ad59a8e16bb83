/**
 * `cacheResponse` "never stores ... `Set-Cookie`" responses (README, "HTTP responses"). A session
 * layer outside the kit's node:http handler that adds its cookie at head time with `on-headers`
 * (what express-session and cookie-session do through the on-headers package) hooks `res.writeHead` before the kit does: the
 * kit's head hook then runs first, the cache decides to store before the cookie is on the head,
 * and the page of one anonymous session was replayed to every other one (`shared: true`). The
 * head as it went out is checked again once the body is through.
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toNodeHandler } from '@aikit/adapters/node'
import { cacheResponse, createCache } from '@aikit/cache'
import type { Middleware } from '@aikit/core'
import { afterAll, describe, expect, it } from 'vitest'
import { rawGet as get } from './fixtures/raw-get.js'

const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
})

describe('cacheResponse and a Set-Cookie added at head time outside the kit', () => {
  it('a response that goes out with Set-Cookie is never stored', async () => {
    await expectNotStored((res, n) => res.setHeader('Set-Cookie', `sid=s${n}; HttpOnly`))
  })

  it('a response that goes out with Cache-Control: private is never stored', async () => {
    await expectNotStored((res) => res.setHeader('Cache-Control', 'private'))
  })
})

/** Two requests through an outer layer that calls `atHead` in its own writeHead wrapper. */
async function expectNotStored(atHead: (res: ServerResponse, n: number) => void): Promise<void> {
  let sessions = 0
  let renders = 0
  const page: Middleware = async (ctx) => {
    renders++
    ctx.respond(200, `<input name="csrf" value="csrf-${renders}">`, {
      'content-type': 'text/html',
    })
  }
  const handler = toNodeHandler(cacheResponse({ cache: createCache(), shared: true }), page)
  const server = createServer((req, res) => {
    // A minimal session layer: a new anonymous session per request without a cookie.
    const n = ++sessions
    // What on-headers does: wrap this response's writeHead, set the header, then write.
    const writeHead = res.writeHead
    res.writeHead = function (this: typeof res, ...args: unknown[]) {
      atHead(this, n)
      return (writeHead as (...a: unknown[]) => typeof res).apply(this, args)
    } as typeof res.writeHead
    handler(req, res)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const first = await get(base, '/form')
  expect(first.headers['x-cache']).toBe('MISS')
  await new Promise((resolve) => setTimeout(resolve, 50))
  const second = await get(base, '/form')
  // The second visitor must not get the first visitor's page.
  expect(second.headers['x-cache']).toBe('MISS')
  expect(second.body.toString()).toContain('csrf-2')
}
