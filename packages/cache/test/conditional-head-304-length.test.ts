/**
 * A conditional HEAD that cacheResponse answers 304 from a stored GET carries no Content-Length
 * other than the GET's (RFC 9110 §8.6), under node:http and under Fastify's automatic HEAD route
 * (a GET route), whose onSend hook used to set `content-length: 0` on the empty 304: a 304 saying
 * the representation is 0 bytes (the GET's is 17).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import { cacheResponse, createCache } from '@aikit/cache'
import type { Middleware } from '@aikit/core'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { rawExchange } from '../../adapters/test/raw-exchange.js'

const closers: (() => Promise<void>)[] = []
afterAll(async () => {
  await Promise.all(closers.map((close) => close()))
})

const stack = (): Middleware[] => [
  cacheResponse({ cache: createCache({ ttl: 60_000 }), shared: true }),
]

const START: [string, () => Promise<number>][] = [
  [
    'node:http',
    async () => {
      const server = createServer(
        toNodeHandler(...stack(), {
          handler: (_req, res) => {
            res.setHeader('etag', '"v1"')
            res.setHeader('content-type', 'application/json')
            res.end('{"hello":"world"}')
          },
        })
      )
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      closers.push(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          })
      )
      return (server.address() as AddressInfo).port
    },
  ],
  [
    'fastify (GET route, automatic HEAD)',
    async () => {
      const app = Fastify()
      closers.push(() => app.close())
      await app.register(aikitFastify, { use: stack() })
      app.get('/doc', async (_req, reply) => {
        reply.header('etag', '"v1"')
        return { hello: 'world' }
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      return (app.server.address() as AddressInfo).port
    },
  ],
]

function head(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\r\n\r\n')[0]!.split('\r\n')
  out[':status'] = lines[0]!.split(' ')[1]!
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':')
    out[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim()
  }
  return out
}

describe('a conditional HEAD answered 304 from a stored GET', () => {
  for (const [name, start] of START) {
    it(`${name}: no Content-Length other than the GET's`, async () => {
      const port = await start()
      const get = await rawExchange(
        port,
        'GET /doc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
      )
      expect(head(get.text)['x-cache']).toBe('MISS')
      const getLength = head(get.text)['content-length']
      expect(getLength).toBe('17')
      const r = await rawExchange(
        port,
        'HEAD /doc HTTP/1.1\r\nHost: x\r\nIf-None-Match: "v1"\r\nConnection: close\r\n\r\n'
      )
      const h = head(r.text)
      expect([h[':status'], h['x-cache']]).toEqual(['304', 'HIT'])
      // Absent, or the length of the 200 (RFC 9110 §8.6).
      expect([undefined, getLength]).toContain(h['content-length'])
    })
  }
})
