import { aikitFastify } from '@aikit/adapters/fastify'
import Fastify from 'fastify'
import { runConformance } from './conformance/cases.js'
import { PROBE_ID_HEADER, routeResult } from './conformance/probe.js'

runConformance('fastify', async ({ middleware, options }) => {
  const app = Fastify()
  await app.register(aikitFastify, { use: middleware, ...options })
  app.get('/route', async (request, reply) => {
    reply.header('x-override', 'route')
    reply.header('vary', 'Accept-Encoding')
    reply.header('set-cookie', 'route=1; Path=/')
    return routeResult(request.headers[PROBE_ID_HEADER] as string | undefined)
  })
  app.get('/plain', async (_request, reply) => {
    reply.type('text/plain').send('plain')
    return reply
  })
  app.post('/body-route', async (request) => ({ routeBody: request.body }))
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { url, close: () => app.close() }
})
