import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe } from 'vitest'
import { describeChatApi, type ServeChat } from '../../chat-kit/test/chat-api.js'
import { createApp } from '../app.mjs'

/** The Express example on a real server on 127.0.0.1, port 0. */
const serveExpress: ServeChat = async (kit) => {
  const server = createServer(createApp(kit))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

describeChatApi('Express, memory stores', serveExpress)

describe('with Redis', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })
  describeChatApi('Express, Redis stores', serveExpress, {
    env: () => ({ REDIS_URL: redis.url }),
    redis: () => ({
      client: () => redis.client(),
      kill: () => redis.kill(),
      restart: () => redis.restart(),
    }),
  })
})
