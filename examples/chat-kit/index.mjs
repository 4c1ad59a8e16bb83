// @aikit/example-chat-kit: the one place that builds the AI Kit stack of the chat examples, so the
// Express, Fastify and Next apps differ only in how their framework mounts it.
//
//   import { createChatKit } from '@aikit/example-chat-kit'
//   const kit = createChatKit(process.env)
//   app.use(toExpress(...kit.stack, kit.chat, kit.adapterOptions))

import { createCache } from '@aikit/cache'
import { createBudget } from '@aikit/cost'
import { wrapAnthropic } from '@aikit/llm/anthropic'
import { createLogger, createMetrics, observeBudget } from '@aikit/observability'
import { promptGuard } from '@aikit/security'
import Anthropic from '@anthropic-ai/sdk'
import { createAnswerer, createChatMiddleware } from './chat.mjs'
import { loadChatEnv } from './env.mjs'
import { createFakeAnthropic } from './fake-anthropic.mjs'
import { createMiddleware } from './middleware.mjs'
import { createStores } from './stores.mjs'

export { ChatRequest } from './chat.mjs'
export { chatEnv, loadChatEnv } from './env.mjs'
export { createFakeAnthropic, fakeAnswerWords } from './fake-anthropic.mjs'
export { SESSION_COOKIE } from './session.mjs'

/** How long an answer stays in the cache (per session). */
const ANSWER_TTL_MS = 10 * 60_000

/**
 * Builds the chat stack from an environment record (`process.env`, or an object in tests).
 * Throws `EnvError` listing every bad variable.
 * @param {Record<string, string | undefined>} env
 */
export function createChatKit(env) {
  const config = loadChatEnv(env)
  const fakeModel = config.ANTHROPIC_API_KEY === undefined
  const logger = createLogger({ level: config.LOG_LEVEL })
  const { redis, subscriber, store } = createStores(config, logger)
  // A registry of its own (key: false): two kits in one process (tests, several apps) never mix.
  const metrics = createMetrics({ key: false })

  // Answers cached per session (the wrapper scopes the key by subject); the Redis tier and the
  // invalidation bus when REDIS_URL is set.
  const cache = createCache({
    namespace: 'chat',
    ttl: ANSWER_TTL_MS,
    ...(redis ? { store, bus: { publisher: redis, subscriber } } : {}),
  })
  // Without Redis the budget keeps its own default store, which never evicts a ledger (the
  // shared `store` evicts its least recently used keys when full: a session's spend evicted to
  // make room for other visitors' keys would be forgotten, and spent again).
  const budget = createBudget({
    ...(redis ? { store } : {}),
    limits: [{ period: 'day', usd: config.CHAT_DAILY_BUDGET_USD }],
  })
  observeBudget(metrics, budget, 'chat')
  const guard = promptGuard()

  const fake = fakeModel ? createFakeAnthropic({ delayMs: config.FAKE_MODEL_DELAY_MS }) : undefined
  const client = fake
    ? new Anthropic({ apiKey: 'fake-model-no-key', fetch: fake.fetch, maxRetries: 0 })
    : new Anthropic({ apiKey: config.ANTHROPIC_API_KEY.reveal() })
  const anthropic = wrapAnthropic(client, { cache, budget, metrics, logger, guard })

  const middleware = createMiddleware({ config, logger, metrics, redis, store })
  const model = config.ANTHROPIC_MODEL
  const answerer = createAnswerer({ anthropic, model })

  let closing
  return {
    config,
    fakeModel,
    /** The fake provider's counters (`calls`, `streams`, `aborted`, `completed`); undefined with a real key. */
    fakeProvider: fake?.stats,
    redis,
    logger,
    metrics,
    anthropic,
    cache,
    budget,
    middleware,
    /** For a plain server: every middleware in order, before `chat`. */
    stack: [
      middleware.securityHeaders,
      middleware.requestLogger,
      middleware.httpMetrics,
      middleware.metricsEndpoint,
      middleware.health,
      middleware.csrf,
      middleware.subject,
      middleware.rateLimit,
    ],
    chat: createChatMiddleware({ answerer, model, fake: fakeModel, logger }),
    answer: answerer.answer,
    /** The adapters' options from the env (`TRUST_PROXY`). */
    adapterOptions: { trustProxy: config.TRUST_PROXY },
    /** Closes the cache's bus and the Redis connection. Idempotent. */
    close() {
      closing ??= (async () => {
        await cache.close()
        for (const client of [subscriber, redis]) {
          if (client) await client.quit().catch(() => client.disconnect())
        }
      })()
      return closing
    },
  }
}
