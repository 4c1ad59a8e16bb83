// The chat API on Express: the kit's stack and chat endpoint run as one Express middleware.
//   POST /api/chat {"message","stream"?}  GET /health /livez /readyz  GET /metrics
import { aikitErrorHandler, toExpress } from '@aikit/adapters/express'
import { createChatKit } from '@aikit/example-chat-kit'
import express from 'express'

/**
 * The Express app of a kit (not listening).
 * @param {ReturnType<typeof createChatKit>} [kit]
 */
export function createApp(kit = createChatKit(process.env)) {
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', false) // the kit resolves the client IP itself (TRUST_PROXY)
  // Security headers, logs, metrics, /metrics, /health, CSRF, session, rate limit, then the chat.
  app.use(toExpress(...kit.stack, kit.chat, kit.adapterOptions))
  // Your own routes go here; they get res.locals.aikit (state, signal) and the kit's headers.
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Not found' } })
  })
  // Errors of Express routes in the kit's JSON error shape, never a stack trace.
  app.use(
    aikitErrorHandler({
      onError: (error) => kit.logger.error('route error', { err: error }),
    })
  )
  return app
}
