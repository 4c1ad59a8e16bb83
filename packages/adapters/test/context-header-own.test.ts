/**
 * `ctx.header(name)` returns the request's own header only. Node's `req.headers` is a plain
 * object: a name that is also a property of `Object.prototype` (`constructor`, `toString`,
 * `__proto__`) used to find that property, and the join of a "list" value then threw. A name that
 * is not a header token (`:authority`) is undefined on every adapter (the Web `Headers.get` throws).
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

/** Names no client can send on HTTP/1.1 (not header tokens): `Headers.get` throws for them. */
const NOT_TOKENS = [':authority', 'a b', 'x:y', '']

const reportOdd: Middleware = async function reportOdd(ctx) {
  ctx.respond(200, [...NOT_TOKENS.map((name) => ctx.header(name) ?? null), ctx.header('X-Real')])
}

const EXPECTED_ODD = [...NOT_TOKENS.map(() => null), 'yes']

describe('ctx.header() for a name that is not a header token', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: is undefined`, async () => {
      const server = await start([reportOdd])
      try {
        const raw = await exchange(
          server.port,
          'GET / HTTP/1.1\r\nHost: x\r\nX-Real: yes\r\nConnection: close\r\n\r\n'
        )
        expect(raw).toMatch(/^HTTP\/1\.1 200 /)
        expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual(EXPECTED_ODD)
      } finally {
        await server.close()
      }
    })
  }

  it('withAikit: is undefined as well (the Web Headers.get would throw)', async () => {
    const errors: unknown[] = []
    const route = withAikit(async () => new Response('route'), reportOdd, {
      onError: (error: unknown) => errors.push(error),
    })
    const res = await route(
      new Request('http://127.0.0.1:3000/', { headers: { 'x-real': 'yes' } }),
      {}
    )
    expect(errors).toEqual([])
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(EXPECTED_ODD)
  })
})
