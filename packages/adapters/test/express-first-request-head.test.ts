/**
 * Express: the kit hooks the head on Express's shared response prototype when a `toExpress`
 * chain sees its first request. A middleware mounted before the kit that wraps `res.writeHead` on
 * the response the way on-headers does (morgan, compression, express-session, response-time)
 * has then already taken the prototype's unhooked method: that first request still gets the
 * middleware headers and `onHeaders`, as every later one does.
 *
 * Express's prototype is hooked once per process, by whichever test ran first; each test here
 * gives its app a fresh copy of it, so the first request is always one the kit has not hooked.
 */
import { createServer, ServerResponse } from 'node:http'
import { toExpress } from '@aikit/adapters/express'
import type { Middleware } from '@aikit/core'
import express from 'express'
import express4 from 'express4'
import { afterAll, expect, it } from 'vitest'
import { listen } from './conformance/listen.js'

const closers: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await Promise.all(closers.map((c) => c()))
})

const HOOKED = Symbol.for('@aikit/adapters.express.headHook.v1')

/** on-headers@1 (used by morgan, compression, express-session, response-time), in effect. */
function onHeaders(res: ServerResponse, listener: () => void): void {
  const prev = res.writeHead
  let fired = false
  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
    if (!fired) {
      fired = true
      listener.call(this)
    }
    return (prev as (...a: unknown[]) => ServerResponse).apply(this, args)
  } as typeof res.writeHead
}

/**
 * Puts an unhooked copy of Express's response prototype (the object just above
 * `ServerResponse.prototype`) under `app.response`, as a process that never hooked it has.
 */
function freshResponsePrototype(app: { response: object }): object {
  let shared = Object.getPrototypeOf(app.response) as object
  while (Object.getPrototypeOf(shared) !== ServerResponse.prototype) {
    shared = Object.getPrototypeOf(shared) as object
  }
  const descriptors = Object.getOwnPropertyDescriptors(shared) as Record<
    string | symbol,
    PropertyDescriptor
  >
  delete descriptors.writeHead
  delete descriptors[HOOKED]
  const fresh = Object.create(ServerResponse.prototype, descriptors) as object
  Object.setPrototypeOf(app.response, fresh)
  return fresh
}

for (const [name, factory] of [
  ['express5', express],
  ['express4', express4 as unknown as typeof express],
] as const) {
  it(`${name}: the first request behind an on-headers middleware (morgan) gets the kit's head`, async () => {
    const heads: number[] = []
    const kit: Middleware = async (ctx, next) => {
      ctx.setHeader('x-kit', '1')
      ctx.onHeaders(() => void heads.push(ctx.status ?? -1))
      await next()
    }
    const app = factory()
    const proto = freshResponsePrototype(app)
    expect(Object.hasOwn(proto, HOOKED)).toBe(false)
    // morgan('dev') / compression() / session(): app-level, before the kit
    app.use((_req, res, next) => {
      onHeaders(res as unknown as ServerResponse, () => {})
      next()
    })
    app.use(toExpress(kit))
    app.get('/', (_req, res) => {
      res.json({ ok: true })
    })
    const s = await listen(createServer(app))
    closers.push(s.close)
    const results: (string | null)[] = []
    for (let i = 0; i < 2; i++) {
      const r = await fetch(s.url)
      results.push(r.headers.get('x-kit'))
      await r.text()
    }
    expect(Object.hasOwn(proto, HOOKED)).toBe(true)
    expect(results).toEqual(['1', '1'])
    expect(heads).toEqual([200, 200])
  })
}
