/**
 * Express: a client that resets the connection mid-upload (body-parser then fails with its
 * 'request aborted' error) is seen as gone — `finished` with `aborted: true`, as on node:http and
 * Fastify — not as a 400 it never got. `aikitErrorHandler` wrote its JSON 400 into the dead
 * socket, which marked the response finished: logged and counted as a 400, `aborted: false`.
 */
import { createServer } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { aikitErrorHandler, toExpress } from '@aikit/adapters/express'
import type { FinishInfo, Middleware } from '@aikit/core'
import express from 'express'
import express4 from 'express4'
import { describe, expect, it } from 'vitest'

const apps = [
  ['express 5', () => express()],
  ['express 4', () => express4() as unknown as ReturnType<typeof express>],
] as const

describe('a client resetting the connection mid-upload', () => {
  for (const [name, create] of apps) {
    it(`${name}: finishes aborted, and no 400 is written`, async () => {
      const seen: { finish: FinishInfo; status: number | undefined }[] = []
      let done: () => void = () => {}
      const finished = new Promise<void>((r) => {
        done = r
      })
      const watch: Middleware = async (ctx, next) => {
        void ctx.finished.then((finish) => {
          seen.push({ finish, status: ctx.status })
          done()
        })
        await next()
      }
      const errors: unknown[] = []
      const app = create()
      app.use(toExpress(watch))
      app.post('/chat', express.json(), (_req, res) => {
        res.json({ ok: true })
      })
      app.use(aikitErrorHandler({ onError: (error) => errors.push(error) }))
      const server = createServer(app)
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      try {
        const socket = connect((server.address() as AddressInfo).port, '127.0.0.1')
        socket.on('error', () => {})
        await new Promise<void>((r) => socket.once('connect', r))
        const got: Buffer[] = []
        socket.on('data', (c) => got.push(c))
        socket.write(
          'POST /chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"message":"hel'
        )
        // The server has the head and the first bytes: the route's parser is reading.
        await new Promise((r) => setTimeout(r, 100))
        socket.resetAndDestroy()
        await finished
        expect(seen).toHaveLength(1)
        expect(seen[0]?.finish.aborted).toBe(true)
        expect(Buffer.concat(got).length).toBe(0)
        // A client leaving is not an error to report.
        expect(errors).toEqual([])
      } finally {
        server.closeAllConnections()
        await new Promise<void>((r) => server.close(() => r()))
      }
    })
  }
})
