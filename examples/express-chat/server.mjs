// `node server.mjs`: PORT (default 3000) and HOST (default 127.0.0.1) from the environment.
import { createServer } from 'node:http'
import { createChatKit } from '@aikit/example-chat-kit'
import { gracefulShutdown } from '@aikit/observability'
import { createApp } from './app.mjs'

const kit = createChatKit(process.env)
const host = process.env.HOST ?? '127.0.0.1'
const server = createServer(createApp(kit))
server.listen(kit.config.PORT, host, () => {
  kit.logger.info('express chat listening', {
    url: `http://${host}:${server.address().port}`,
    model: kit.fakeModel ? 'fake (no ANTHROPIC_API_KEY)' : kit.config.ANTHROPIC_MODEL,
    stores: kit.redis ? 'redis' : 'memory',
  })
})
// SIGTERM/SIGINT: readiness fails, in-flight answers finish, then Redis is closed. In production
// the server keeps serving for 5 s after readiness failed (a readiness probe period), so a load
// balancer stops sending requests before the listener closes; elsewhere it closes at once.
gracefulShutdown(server, {
  health: kit.middleware.health,
  delayMs: kit.config.NODE_ENV === 'production' ? 5_000 : 0,
  onShutdown: () => kit.close(),
})
