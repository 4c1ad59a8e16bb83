import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe } from 'vitest'
import { describeChatApi, type ServeChat } from '../../chat-kit/test/chat-api.js'
import { buildApp } from '../app.mjs'

/** The Fastify example on a real server on 127.0.0.1, port 0. */
const serveFastify: ServeChat = async (kit) => {
  const app = await buildApp(kit)
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    url,
    close: async () => {
      app.server.closeAllConnections() // a failed test may leave a stream unread
      await app.close()
    },
  }
}

describeChatApi('Fastify, memory stores', serveFastify)

describe('with Redis', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })
  describeChatApi('Fastify, Redis stores', serveFastify, {
    env: () => ({ REDIS_URL: redis.url }),
    redis: () => ({
      client: () => redis.client(),
      kill: () => redis.kill(),
      restart: () => redis.restart(),
    }),
  })
})
