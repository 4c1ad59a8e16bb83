/**
 * csrf() with a method override that ran before it: a wire GET the
 * override turned into DELETE must be checked as the DELETE the app routes on, or
 * a cross-site navigation or <img> becomes a state-changing request.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { csrf } from '../src/csrf.js'

describe('csrf() and a method override that turns a safe wire method into an unsafe one', () => {
  let base = ''
  let deletes = 0
  let server: ReturnType<typeof createServer>
  beforeAll(async () => {
    const app = express()
    // What `method-override` does with `methodOverride('X-HTTP-Method-Override', { methods: null })`
    // (overrides from any wire method): keep the wire method, route on the header's.
    app.use((req, _res, next) => {
      const r = req as typeof req & { originalMethod?: string }
      r.originalMethod = r.originalMethod ?? req.method
      const o = req.headers['x-http-method-override']
      if (typeof o === 'string') req.method = o.toUpperCase()
      next()
    })
    app.use(toExpress(csrf()))
    app.delete('/api/item', (_req, res) => {
      deletes++
      res.json({ deleted: true })
    })
    server = createServer(app)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => {
    server.closeAllConnections()
    return new Promise((r) => server.close(r))
  })

  it('rejects a cross-site GET overridden to DELETE before the DELETE route runs', async () => {
    const res = await fetch(`${base}/api/item`, {
      method: 'GET',
      headers: { 'sec-fetch-site': 'cross-site', 'x-http-method-override': 'DELETE' },
    })
    expect(res.status).toBe(403)
    expect(deletes).toBe(0)
  })
})
