/**
 * cacheResponse and an absolute-form request target (`GET http://evil.example/docs` with
 * `Host: 127.0.0.1`, RFC 9112 §3.2.2): the route sees the whole target (Express's
 * `req.originalUrl`, node's `req.url`) while the key was built from Host and `ctx.path`. What the
 * route made of that target was stored under the ordinary `/docs` key and replayed to everyone
 * (links pointing at the attacker's host). Such a request is now passed through, never stored.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { toNodeHandler } from '@aikit/adapters/node'
import { cacheResponse, createCache } from '@aikit/cache'
import { rawRequest } from '@aikit/testing/raw-http'
import express from 'express'
import { describe, expect, it } from 'vitest'

/** One raw GET of `target` (a Node client cannot send an absolute-form one to an origin). */
const get = (port: number, target: string) =>
  rawRequest(
    port,
    Buffer.from(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
  )

const page = (url: string): string => `<a href="${url}?page=2">next</a>`

const apps: [string, () => Server][] = [
  [
    'express 5 (req.originalUrl)',
    () => {
      const app = express()
      app.use(toExpress(cacheResponse({ cache: createCache(), shared: true, ttl: 60_000 })))
      app.get('/docs', (req, res) => {
        res.set('cache-control', 'public, max-age=60').type('html').send(page(req.originalUrl))
      })
      return createServer(app)
    },
  ],
  [
    'node:http (req.url)',
    () =>
      createServer(
        toNodeHandler(cacheResponse({ cache: createCache(), shared: true, ttl: 60_000 }), {
          handler: (req: IncomingMessage, res: ServerResponse) => {
            res.setHeader('content-type', 'text/html')
            res.setHeader('cache-control', 'public, max-age=60')
            res.end(page(req.url ?? ''))
          },
        })
      ),
  ],
]

describe('cacheResponse and an absolute-form request target', () => {
  for (const [name, start] of apps) {
    it(`${name}: is passed through uncached; the ordinary request gets its own answer`, async () => {
      const server = start()
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      const port = (server.address() as AddressInfo).port
      try {
        const poisoned = await get(port, 'http://evil.example/docs')
        expect(poisoned.status).toBe(200)
        expect(poisoned.headers['x-cache']).toBe('BYPASS')
        const first = await get(port, '/docs')
        expect(first.headers['x-cache']).toBe('MISS')
        expect(first.body).toBe(page('/docs'))
        const second = await get(port, '/docs')
        expect(second.headers['x-cache']).toBe('HIT')
        expect(second.body).toBe(page('/docs'))
      } finally {
        server.closeAllConnections()
        await new Promise<void>((r) => server.close(() => r()))
      }
    })
  }
})
