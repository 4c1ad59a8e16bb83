import { createServer } from 'node:net'
import { Writable } from 'node:stream'
import { AikitError, currentContext } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createLogger } from '@aikit/observability'
import { createRateLimiter } from '@aikit/ratelimit'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'

type Line = Record<string, unknown>

function sink() {
  const lines: Line[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l))
      cb()
    },
  })
  return { lines, stream }
}

/** Waits for the line batch (flushed at the end of the turn) and winston's pipeline. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20))

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('errors given as fields of a line', () => {
  it('writes a plain Error field as its type, message and stack (JSON alone writes {})', async () => {
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    logger.error('call failed', { err: new TypeError('boom') })
    await settle()
    const err = lines[0]?.err as Line
    expect(err).toMatchObject({ type: 'TypeError', message: 'boom' })
    expect(String(err.stack)).toContain('TypeError: boom')
  })

  it("writes an AikitError's code, status, operator message and cause chain, not its public body", async () => {
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
      port: 6390,
    })
    const error = new AikitError('STORE_UNAVAILABLE', 503, 'store call failed: refused', {
      cause: refused,
    })
    logger.warn('degraded', { error, nested: { list: [error] } })
    await settle()
    const line = lines[0] as Line
    const written = line.error as Line
    expect(written).toMatchObject({
      type: 'AikitError',
      code: 'STORE_UNAVAILABLE',
      status: 503,
      message: 'store call failed: refused',
      cause: {
        type: 'Error',
        message: 'connect ECONNREFUSED 127.0.0.1:6390',
        code: 'ECONNREFUSED',
        syscall: 'connect',
        port: 6390,
      },
    })
    expect(written).not.toHaveProperty('error') // the toJSON body
    expect((line.nested as { list: Line[] }).list[0]).toMatchObject({ code: 'STORE_UNAVAILABLE' })
  })

  it('redacts secrets inside an error message and drops class instances such as Headers', async () => {
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    const key = 'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij-XYZ'
    const error = Object.assign(new Error(`401 invalid x-api-key ${key}`), {
      status: 401,
      headers: new Headers({ 'x-request-id': 'req_1' }),
      request: { headers: { authorization: `Bearer ${key}` } },
    })
    logger.error('provider refused', { err: error })
    await settle()
    const text = JSON.stringify(lines)
    expect(text).not.toContain(key)
    const err = lines[0]?.err as Line
    expect(err).toMatchObject({ type: 'Error', status: 401 })
    expect(err).not.toHaveProperty('headers')
    expect(err.message).toContain('401 invalid x-api-key')
  })

  it('follows a cyclic cause chain only so far, and keeps lines without errors as they were', async () => {
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    const a = new Error('a')
    const b = new Error('b', { cause: a })
    ;(a as { cause?: unknown }).cause = b
    logger.error('cycle', { err: a })
    logger.info('plain', { n: 1, tags: ['x'], meta: { ok: true } })
    await settle()
    let depth = 0
    for (let e = lines[0]?.err as Line | undefined; typeof e === 'object'; e = e.cause as Line) {
      depth++
    }
    expect(depth).toBeGreaterThan(2)
    expect(depth).toBeLessThan(10)
    expect(lines[1]).toMatchObject({ message: 'plain', n: 1, tags: ['x'], meta: { ok: true } })
  })

  it("logs a Redis store's degraded event as the README shows it, with the cause of the outage", async () => {
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    const port = await closedPort()
    const redis = new Redis({
      host: '127.0.0.1',
      port,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 200,
      lazyConnect: true,
    })
    redis.on('error', () => {})
    try {
      const limiter = createRateLimiter({
        store: redisStore(redis, { breaker: { failureThreshold: 1 } }),
        limits: [{ limit: 5, window: '1m' }],
      })
      limiter.on('degraded', (info) => logger.warn('rate limit store degraded', info))
      for (let i = 0; i < 3 && lines.length === 0; i++) {
        await limiter.check('u')
        await settle()
      }
      expect(currentContext()).toBeUndefined()
      const line = lines.find((l) => l.message === 'rate limit store degraded')
      expect(line).toBeDefined()
      const error = line?.error as Line
      // The cause (a timeout or a refused connection, whichever came first), not the public body.
      expect(error).toMatchObject({ type: expect.stringMatching(/^Store/), status: 503 })
      expect(error.code).toMatch(/^STORE_/)
      expect(error.message).toMatch(/timed out|ECONNREFUSED|connect|closed/i)
      expect(error).not.toHaveProperty('error')
    } finally {
      redis.disconnect()
    }
  })
})
