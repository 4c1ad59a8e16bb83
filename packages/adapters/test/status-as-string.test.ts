/**
 * A status given as a string is the number Node sends: `res.writeHead('404')` (Node coerces it
 * with `| 0`) and Express 4's `res.status('201')` (which stores the string on `res.statusCode`)
 * are seen by `onHeaders` and `ctx.status` as the numbers 404 and 201.
 */
import { createServer } from 'node:http'
import { toExpress } from '@aikit/adapters/express'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import express4 from 'express4'
import { afterAll, expect, it } from 'vitest'
import { listen } from './conformance/listen.js'

const closers: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await Promise.all(closers.map((c) => c()))
})

function probe(seen: unknown[]): Middleware {
  return async (ctx, next) => {
    ctx.onHeaders(() => void seen.push(ctx.status))
    await next()
    seen.push(ctx.status)
  }
}

it('node:http: writeHead("404") is seen as 404', async () => {
  const seen: unknown[] = []
  const s = await listen(
    createServer(
      toNodeHandler(probe(seen), {
        handler: (_req, res) => {
          ;(res.writeHead as (status: unknown) => void)('404')
          res.end('nope')
        },
      })
    )
  )
  closers.push(s.close)
  const r = await fetch(s.url)
  await r.text()
  expect(r.status).toBe(404)
  expect(seen).toEqual([404, 404])
})

it('express 4: res.status("201").json() is seen as the number 201', async () => {
  const seen: unknown[] = []
  const app = express4()
  app.use(toExpress(probe(seen)))
  app.get('/', (_req, res) => {
    ;(res.status as (status: unknown) => typeof res)('201').json({ ok: true })
  })
  const s = await listen(createServer(app))
  closers.push(s.close)
  const r = await fetch(s.url)
  await r.text()
  expect(r.status).toBe(201)
  expect(seen).toEqual([201, 201])
})
