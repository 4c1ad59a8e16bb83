/**
 * Credentials kept out of the log stream of `createLogger()` end to end (the real winston logger,
 * its default redactor, a captured stream): raw header arrays, provider API-key headers, Digest
 * credentials, URL passwords, defineEnv's env object and an ioredis wrong-password error. The
 * redaction itself is @aikit/security's; these check what an app built on the kit writes.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { defineEnv, list, port } from '@aikit/core/env'
import { redisStore } from '@aikit/core/redis'
import { createLogger } from '@aikit/observability'
import { createRateLimiter } from '@aikit/ratelimit'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'

const SECRET = 'Zq7Secr3tValue9x'
const DIGEST_RESPONSE = '6629fae49393a05397450978507c4ef1'

function sink() {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk))
      cb()
    },
  })
  return { stream, text: () => chunks.join('') }
}

/** Waits until the logger flushed (lines are batched per event-loop turn). */
const settle = () => new Promise<void>((r) => setTimeout(r, 50))

const servers: Server[] = []
let redis: RedisServer | undefined
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  await redis?.stop()
})

describe('createLogger keeps credentials out of the log', () => {
  it("keeps a real request's credential headers out of the log when rawHeaders is logged", async () => {
    const out = sink()
    const logger = createLogger({ stream: out.stream })
    let seen: IncomingMessage | undefined
    const server = createServer((req, res) => {
      seen = req
      // A careless app logs what it got, as in logger.test.ts's "careless app" (req.headers there).
      logger.info('incoming', { method: req.method, rawHeaders: req.rawHeaders })
      res.end('ok')
    })
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    const res = await fetch(`http://127.0.0.1:${port}/chat`, {
      headers: {
        authorization: `Basic ${Buffer.from(`alice:${SECRET}`).toString('base64')}`,
        cookie: `sid=${SECRET}`,
        'x-api-key': `k-${SECRET}`,
      },
    })
    await res.text()
    await settle()
    expect(seen?.rawHeaders).toContain(`sid=${SECRET}`) // the secret really was in rawHeaders
    const logged = out.text()
    expect(logged).toContain('incoming')
    expect(logged).not.toContain(SECRET)
    expect(logged).not.toContain(Buffer.from(`alice:${SECRET}`).toString('base64'))
  })

  it('keeps x-goog-api-key out of a logged header object', async () => {
    const out = sink()
    const logger = createLogger({ stream: out.stream })
    logger.info('proxying to gemini', {
      headers: { 'content-type': 'application/json', 'x-goog-api-key': `g-${SECRET}` },
    })
    await settle()
    expect(out.text()).toContain('proxying to gemini')
    expect(out.text()).not.toContain(SECRET)
  })

  it('keeps the Digest response of an Authorization header in an error message out of the log', async () => {
    const out = sink()
    const logger = createLogger({ stream: out.stream })
    const header =
      `Authorization: Digest username="alice", realm="api", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ` +
      `uri="/v1/chat", qop=auth, nc=00000001, cnonce="0a4f113b", response="${DIGEST_RESPONSE}"`
    logger.error(new Error(`upstream answered 401 to:\n${header}`))
    await settle()
    expect(out.text()).toContain('upstream answered 401')
    expect(out.text()).not.toContain(DIGEST_RESPONSE)
  })

  it('keeps a Redis URL password out of the log', async () => {
    const out = sink()
    const logger = createLogger({ stream: out.stream })
    logger.error('cache unavailable', { url: `rediss://default:${SECRET}@cache.internal:6380/0` })
    await settle()
    expect(out.text()).toContain('cache unavailable')
    expect(out.text()).not.toContain(SECRET)
  })

  it('logs the env object of defineEnv with its secret-named variables still [redacted]', async () => {
    const out = sink()
    const logger = createLogger({ stream: out.stream })
    const env = defineEnv(
      // zod is not a dependency of this package: core's own field schemas.
      { PORT: port(), API_KEY: list(), WEBHOOK_SIGNING_KEY: list() },
      { env: { PORT: '3000', API_KEY: 'k-123456789', WEBHOOK_SIGNING_KEY: `whsec_${SECRET}` } }
    )
    expect(JSON.stringify(env)).not.toContain(SECRET) // the env object itself hides it
    logger.info('config loaded', { env })
    await settle()
    expect(out.text()).toContain('config loaded')
    expect(out.text()).not.toContain(SECRET)
  })

  it('keeps the Redis password out of the log when a store call fails on a wrong password', async () => {
    redis = await startRedis()
    const admin = redis.client()
    await admin.config('SET', 'requirepass', 'the-right-password-1')
    // The app's client, with a rotated-away password (REDIS_URL carries it).
    const client = new Redis(`redis://:${SECRET}@127.0.0.1:${redis.port}`, {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    client.on('error', () => {})
    const limiter = createRateLimiter({
      store: redisStore(client, { commandTimeoutMs: 2000 }),
      limits: [{ limit: 5, window: '1m' }],
    })
    const out = sink()
    const logger = createLogger({ stream: out.stream })
    let failure: unknown
    try {
      await limiter.check('user:1')
    } catch (error) {
      failure = error
    }
    client.disconnect()
    await admin.config('SET', 'requirepass', '')
    expect(String((failure as Error | undefined)?.message)).toMatch(/WRONGPASS/)
    logger.error('rate limit check failed', { err: failure })
    logger.error(failure as Error)
    await settle()
    expect(out.text()).toContain('WRONGPASS')
    expect(out.text()).not.toContain(SECRET)
  }, 30_000)
})
