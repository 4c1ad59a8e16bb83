/**
 * An absolute-form request target (RFC 9112 §3.2.2) whose path is empty (`GET http://host?q`,
 * allowed by RFC 3986 §3.3): `ctx.path` is `/` and `ctx.query` is the query the route sees. The
 * query used to be dropped, so a key built on path + query (cacheResponse, rate limits) described
 * another request than the one the route answered: a cache-poisoning vector.
 */
import type { Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { exchange, NODE_ADAPTERS } from './fixtures/node-adapters.js'

const TARGETS: [target: string, path: string, query: string][] = [
  ['http://127.0.0.1?lang=evil', '/', 'lang=evil'],
  ['http://127.0.0.1:8080?a=1&b=/x', '/', 'a=1&b=/x'],
  ['http://127.0.0.1/p/q?lang=en', '/p/q', 'lang=en'],
  ['http://127.0.0.1', '/', ''],
]

describe('an absolute-form request target', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: ctx.path and ctx.query are those of the target, an empty path being /`, async () => {
      const seen: [string, string][] = []
      const record: Middleware = async function record(ctx, next) {
        seen.push([ctx.path, ctx.query])
        return next()
      }
      const server = await start([record])
      try {
        for (const [target] of TARGETS) {
          const raw = await exchange(
            server.port,
            `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`
          )
          // The route ran (Node and the frameworks hand the target on).
          expect(raw).toMatch(/^HTTP\/1\.1 200 /)
        }
        expect(seen).toEqual(TARGETS.map(([, path, query]) => [path, query]))
        // What a URL parser makes of the first target.
        const url = new URL(TARGETS[0]![0])
        expect(seen[0]).toEqual([url.pathname, url.search.slice(1)])
      } finally {
        await server.close()
      }
    })
  }
})
