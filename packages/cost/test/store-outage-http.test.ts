/**
 * A budget (fail closed by design) over `node:http` while redis-server is down: the client gets
 * 503 with the kit's JSON error, a generic message (no circuit breaker, host or timeout detail)
 * and `Retry-After`: the time until the breaker's half-open probe once the circuit is open, 1
 * before. When Redis is back the same app answers as before, without a restart.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { budgetHeaders, createBudget } from '@aikit/cost'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterEach, describe, expect, it } from 'vitest'

const GENERIC = 'Service temporarily unavailable'
/** The bound each test runs within (passed to `it`): Retry-After ranges are derived from it. */
const TEST_TIMEOUT_MS = 20_000

let redis: RedisServer | undefined
let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  await redis?.stop()
  server = undefined
  redis = undefined
})

/** The subject comes from a header here (an app would use its auth). */
const fromHeader: Middleware = async (ctx, next) => {
  ctx.state.subject = ctx.header('x-user') ?? 'user:1'
  await next()
}

/** A hard budget on a fresh redis-server whose breaker opens at the first failure. */
async function start(openMs: number): Promise<string> {
  redis = await startRedis()
  // Without the offline queue a command to a dead server fails at once (a connection error).
  const client = redis.client({ maxRetriesPerRequest: 1, enableOfflineQueue: false })
  await whenReady(client)
  const store = redisStore(client, {
    // 1 s (default 50) so that a healthy request is not a timeout on a busy machine (one failure
    // opens the circuit); the dead server's calls fail at once (no offline queue).
    commandTimeoutMs: 1_000,
    breaker: { failureThreshold: 1, openMs },
  })
  const budget = createBudget({ store, limits: [{ period: 'day', usd: 1 }] })
  const handler = toNodeHandler(fromHeader, budgetHeaders({ budget }), {
    handler: (_req, res) => res.end('ok'),
  })
  server = createServer(handler)
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

interface Seen {
  status: number
  retryAfter: string | null
  type: string | null
  body: { error?: { code: string; message: string } }
}

async function get(url: string): Promise<Seen> {
  const res = await fetch(url)
  const text = await res.text()
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    type: res.headers.get('content-type'),
    body: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : {},
  }
}

/**
 * A 503 as a client must see it during the outage; returns its Retry-After in seconds. The call
 * that meets the dead server first fails as a connection error, or a timeout when ioredis had not
 * yet seen the socket close (`anyStoreCode`); once the circuit is open it is STORE_UNAVAILABLE.
 */
function expectOutage(seen: Seen, anyStoreCode = false): number {
  expect(seen.status).toBe(503)
  expect(seen.type).toBe('application/json; charset=utf-8')
  const code = seen.body.error?.code
  expect(code).toMatch(anyStoreCode ? /^STORE_(UNAVAILABLE|TIMEOUT)$/ : /^STORE_UNAVAILABLE$/)
  expect(seen.body).toEqual({ error: { code, message: GENERIC } })
  expect(seen.retryAfter).toMatch(/^[1-9]\d*$/)
  return Number(seen.retryAfter)
}

describe('budget on node:http while redis-server is down', () => {
  it(
    'answers 503 with a generic message and Retry-After = the seconds until the half-open probe',
    async () => {
      // The circuit stays open far longer than this test may run: every answer falls inside it.
      const openMs = 600_000
      const url = await start(openMs)
      const healthy = await get(url)
      expect(healthy.status).toBe(200)

      await redis?.kill()
      // The call that fails (and opens the circuit) knows no wait yet: 1 s.
      expect(expectOutage(await get(url), true)).toBe(1)

      // The circuit is open: the wait until its probe, which lies within
      // (openMs - the time this test may run, openMs].
      const most = Math.ceil(openMs / 1000)
      const least = Math.ceil((openMs - TEST_TIMEOUT_MS) / 1000)
      let previous = most
      for (let i = 0; i < 3; i++) {
        const seconds = expectOutage(await get(url))
        expect(seconds).toBeGreaterThanOrEqual(least)
        expect(seconds).toBeLessThanOrEqual(previous)
        previous = seconds
      }
    },
    TEST_TIMEOUT_MS
  )

  it(
    'recovers after Redis is back: the half-open probe lets requests through again',
    async () => {
      const openMs = 1000
      const url = await start(openMs)
      expect((await get(url)).status).toBe(200)

      await redis?.kill()
      expect(expectOutage(await get(url), true)).toBe(1)
      // Open for at most openMs: Retry-After is 1 (never less, never 0).
      expect(expectOutage(await get(url))).toBe(1)

      await redis?.restart()
      await expect
        .poll(async () => (await get(url)).status, { timeout: 10_000, interval: 100 })
        .toBe(200)
      const after = await get(url)
      expect(after.status).toBe(200)
      expect(after.retryAfter).toBeNull()
    },
    TEST_TIMEOUT_MS
  )
})
