/**
 * `ctx.header(name)` returns the request's own header only. Node's `req.headers` is a plain
 * object: a name that is also a property of `Object.prototype` (`constructor`, `toString`,
 * `__proto__`) used to find that property, and the join of a "list" value then threw.
 */
import type { Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { withAikit } from '../src/next/index.js'
import { exchange, NODE_ADAPTERS } from './fixtures/node-adapters.js'

const NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']

const report: Middleware = async function report(ctx) {
  const seen = NAMES.map((name) => [name, ctx.header(name) ?? null])
  seen.push(['x-real', ctx.header('X-Real') ?? null])
  ctx.respond(200, seen)
}

const EXPECTED = [...NAMES.map((n) => [n, null]), ['x-real', 'yes']]

describe('ctx.header() for a name that Object.prototype has', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: is undefined when the request has no such header`, async () => {
      const server = await start([report])
      try {
        const raw = await exchange(
          server.port,
          'GET / HTTP/1.1\r\nHost: x\r\nX-Real: yes\r\nConnection: close\r\n\r\n'
        )
        expect(raw).toMatch(/^HTTP\/1\.1 200 /)
        expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual(EXPECTED)
      } finally {
        await server.close()
      }
    })

    it(`${name}: is the header's value when the client sent one of that name`, async () => {
      const echo: Middleware = async function echo(ctx) {
        ctx.respond(200, { constructor: ctx.header('constructor') ?? null })
      }
      const server = await start([echo])
      try {
        const raw = await exchange(
          server.port,
          'GET / HTTP/1.1\r\nHost: x\r\nConstructor: sent\r\nConnection: close\r\n\r\n'
        )
        expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual({ constructor: 'sent' })
      } finally {
        await server.close()
      }
    })
  }

  it('withAikit: is undefined as well', async () => {
    const route = withAikit(async () => new Response('route'), report)
    const res = await route(
      new Request('http://127.0.0.1:3000/', { headers: { 'x-real': 'yes' } }),
      {}
    )
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(EXPECTED)
  })
})
