// The chat API on Fastify: the kit's stack and chat endpoint run in the aikitFastify plugin.
//   POST /api/chat {"message","stream"?}  GET /health /livez /readyz  GET /metrics
import { aikitFastify } from '@aikit/adapters/fastify'
import { createChatKit } from '@aikit/example-chat-kit'
import Fastify from 'fastify'

/**
 * The Fastify instance of a kit, ready but not listening.
 * @param {ReturnType<typeof createChatKit>} [kit]
 */
export async function buildApp(kit = createChatKit(process.env)) {
  const app = Fastify({ logger: false }) // the kit's logger writes one JSON line per request
  await app.register(aikitFastify, {
    // Security headers, logs, metrics, /metrics, /health, CSRF, session, rate limit, then the chat.
    use: [...kit.stack, kit.chat],
    ...kit.adapterOptions,
    errorHandler: true, // route errors in the kit's JSON error shape, never a message or a stack
  })
  // Your own routes go here; they get request.aikit (state, signal) and the kit's headers.
  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'Not found' } })
  })
  app.addHook('onClose', () => kit.close())
  await app.ready()
  return app
}
