import { aikitFastify } from '@aikit/adapters/fastify'
import type { Middleware } from '@aikit/core'
import Fastify from 'fastify'
import { afterAll, expect, it } from 'vitest'
import { rawExchange } from './raw-exchange.js'

const closers: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await Promise.all(closers.map((c) => c()))
})
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

for (const errorHandler of [true, false]) {
  for (const withEntity of [false, true]) {
    it(`errorHandler ${errorHandler}, route set ${withEntity ? 'an ETag' : 'no entity header'}: one error, socket closed, finished aborted`, async () => {
      const errors: unknown[] = []
      const uncaught: unknown[] = []
      const onUncaught = (e: unknown) => void uncaught.push(e)
      process.on('uncaughtException', onUncaught)
      let finished: { aborted: boolean } | undefined
      const mw: Middleware = async (ctx, next) => {
        void ctx.finished.then((f) => {
          finished = f
        })
        await next()
      }
      const app = Fastify()
      await app.register(aikitFastify, {
        use: [mw],
        errorHandler,
        onError: (e) => void errors.push(e),
      })
      app.get('/', async (_req, reply) => {
        if (withEntity) reply.raw.setHeader('etag', '"v1"')
        reply.raw.setHeader('content-type', 'text/plain')
        reply.raw.write('part')
        await wait(5)
        throw new Error('late failure')
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      closers.push(() => app.close())
      const port = (app.server.address() as { port: number }).port
      const r = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      for (const end = Date.now() + 10_000; Date.now() < end && finished === undefined; )
        await wait(10)
      process.off('uncaughtException', onUncaught)
      expect({
        closed: r.closed,
        heads: r.text.split('HTTP/1.1 ').length - 1,
        finished,
        uncaught: uncaught.map(String),
      }).toEqual({ closed: true, heads: 1, finished: { aborted: true }, uncaught: [] })
      if (errorHandler) expect(errors.length).toBe(1)
    })
  }
}
