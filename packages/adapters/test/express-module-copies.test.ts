/**
 * Two copies of `@aikit/adapters/express` in one process (pnpm installs two versions side by side
 * when two dependents ask for different ones; a dev server's reload or a test runner's
 * `resetModules` loads the module again): they hook Express's shared response prototype once
 * between them, and the contexts of the copy that did not hook it still see their head (the
 * middleware headers, `onHeaders`, `await next()` at the head). Before, each copy kept its own
 * waiting list and only the first copy's was read: a later copy's headers were never sent.
 */
import { createServer } from 'node:http'
import { toExpress } from '@aikit/adapters/express'
import express from 'express'
import express4 from 'express4'
import { afterAll, describe, expect, it, vi } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

const servers: ConformanceServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

async function start(app: express.Express): Promise<string> {
  const server = await listen(createServer(app))
  servers.push(server)
  return server.url
}

type Adapters = typeof import('@aikit/adapters/express')

/** A fresh copy of the adapter module (and of what it imports from source). */
async function anotherCopy(): Promise<Adapters> {
  vi.resetModules()
  const copy = (await import('@aikit/adapters/express')) as Adapters
  expect(copy.toExpress).not.toBe(toExpress)
  return copy
}

/** A chain that sets a header and records its head and its `await next()`. */
function probe(tag: string, seen: string[]) {
  return async (ctx: import('@aikit/core').Context, next: () => Promise<void>): Promise<void> => {
    ctx.setHeader(`x-${tag}`, ctx.status === undefined ? 'pending' : 'late')
    ctx.onHeaders(() => seen.push(`${tag} head ${ctx.status}`))
    await next()
    seen.push(`${tag} next ${ctx.headersSent}`)
  }
}

for (const [name, factory] of [
  ['express 5', express],
  ['express 4', express4],
] as const) {
  describe(`two copies of the Express adapter on ${name}`, () => {
    it("a later copy's chain sees the head after the first copy hooked the prototype", async () => {
      const seen: string[] = []
      const warm = factory()
      warm.use(toExpress(probe('a', seen)))
      warm.get('/x', (_req, res) => {
        res.send('warm')
      })
      // The first copy hooks Express's response prototype on its first request.
      expect((await fetch(`${await start(warm)}/x`)).headers.get('x-a')).toBe('pending')
      const copy = await anotherCopy()
      seen.length = 0
      const app = factory()
      app.use(copy.toExpress(probe('b', seen)))
      app.get('/x', (_req, res) => {
        res.status(201).send('ok')
      })
      const res = await fetch(`${await start(app)}/x`)
      expect(res.status).toBe(201)
      expect(res.headers.get('x-b')).toBe('pending')
      expect(await res.text()).toBe('ok')
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(2)
      expect(seen).toEqual(['b head 201', 'b next true'])
    })

    it("one request through both copies' chains: each chain's headers and hooks, once", async () => {
      const copy = await anotherCopy()
      const seen: string[] = []
      const app = factory()
      app.use(toExpress(probe('a', seen)))
      app.use(copy.toExpress(probe('b', seen)))
      app.get('/x', (_req, res) => {
        res.status(202).send('ok')
      })
      const res = await fetch(`${await start(app)}/x`)
      expect(res.status).toBe(202)
      expect(res.headers.get('x-a')).toBe('pending')
      expect(res.headers.get('x-b')).toBe('pending')
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(4)
      // The innermost chain's hook first; each `await next()` resumed once the head was out.
      expect(seen.slice(0, 2)).toEqual(['b head 202', 'a head 202'])
      expect(seen.slice(2).sort()).toEqual(['a next true', 'b next true'])
    })
  })
}
