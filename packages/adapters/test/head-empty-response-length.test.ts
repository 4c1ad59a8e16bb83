/**
 * A HEAD short-circuited with no body keeps the kit's framing (RFC 9110 §8.6) on every Node
 * adapter, Fastify's automatic HEAD route (a GET route, `exposeHeadRoutes` on by default)
 * included: a 204 carries no Content-Length, a 304 none but the one given (the GET's), and a 200
 * the Content-Length given (the GET's) unchanged. That route's onSend hook used to set
 * `content-length: 0` for any empty payload sent through `reply.send()`. Fastify's onResponse
 * hooks still run for such an answer, and the connection goes on to the next request.
 */
import type { AddressInfo } from 'node:net'
import { aikitFastify } from '@aikit/adapters/fastify'
import type { Middleware } from '@aikit/core'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { exchange, NODE_ADAPTERS, type Start } from './fixtures/node-adapters.js'

const responded: string[] = []

/** Fastify with a GET route: HEAD comes from Fastify's automatic HEAD route. */
const fastifyGetRoute: Start = async (mw) => {
  const app = Fastify()
  await app.register(aikitFastify, { use: mw })
  app.addHook('onResponse', async (request, reply) => {
    responded.push(`${request.method} ${request.url} ${reply.statusCode}`)
  })
  app.get('/*', async () => 'route')
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() }
}

const ADAPTERS: [string, Start][] = [
  ...NODE_ADAPTERS,
  ['fastify (GET route, automatic HEAD)', fastifyGetRoute],
]

const answer: Middleware = async (ctx, next) => {
  if (ctx.path === '/204') return ctx.respond(204, undefined)
  if (ctx.path === '/304') return ctx.respond(304, undefined, { etag: '"v1"' })
  if (ctx.path === '/304-length') return ctx.respond(304, undefined, { 'content-length': '5' })
  if (ctx.path === '/meta') return ctx.respond(200, undefined, { 'content-length': '5' })
  return next()
}

function headerOf(raw: string, name: string): string | undefined {
  const head = raw.split('\r\n\r\n')[0]!
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name}:`))
  return line?.slice(name.length + 1).trim()
}

const head = (path: string) => `HEAD ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`

describe('a HEAD answered by the kit with no body', () => {
  for (const [name, start] of ADAPTERS) {
    it(`${name}: a 204 and a 304 get no Content-Length, a 304 keeps the one given`, async () => {
      const server = await start([answer])
      try {
        const noContent = await exchange(server.port, head('/204'))
        expect(noContent.startsWith('HTTP/1.1 204 ')).toBe(true)
        expect(headerOf(noContent, 'content-length')).toBeUndefined()
        const notModified = await exchange(server.port, head('/304'))
        expect(notModified.startsWith('HTTP/1.1 304 ')).toBe(true)
        expect(headerOf(notModified, 'etag')).toBe('"v1"')
        expect(headerOf(notModified, 'content-length')).toBeUndefined()
        const withLength = await exchange(server.port, head('/304-length'))
        expect(withLength.startsWith('HTTP/1.1 304 ')).toBe(true)
        expect(headerOf(withLength, 'content-length')).toBe('5')
      } finally {
        await server.close()
      }
    })

    it(`${name}: a 200 keeps the Content-Length given (the GET's)`, async () => {
      const server = await start([answer])
      try {
        const raw = await exchange(server.port, head('/meta'))
        expect(raw.startsWith('HTTP/1.1 200 ')).toBe(true)
        expect(headerOf(raw, 'content-length')).toBe('5')
      } finally {
        await server.close()
      }
    })
  }

  it("fastify (GET route, automatic HEAD): onResponse hooks run, and the connection's next request is answered", async () => {
    const server = await fastifyGetRoute([answer])
    responded.length = 0
    try {
      const raw = await exchange(
        server.port,
        'HEAD /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
      )
      expect(raw.startsWith('HTTP/1.1 204 ')).toBe(true)
      expect(raw).toMatch(/\r\n\r\nroute$/)
      expect(responded).toContain('HEAD /204 204')
    } finally {
      await server.close()
    }
  })
})
