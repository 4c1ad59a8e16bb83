/**
 * A budget settle that fails because Redis is down is retried in the background for as long as a
 * retry cannot charge twice (until the hold's expiry plus the budget's `tombstoneTtl`), not only
 * three times over about 5 s: before, an outage longer than that left the call never charged (its
 * hold lapsed at its TTL), so spend slipped past the budget. Real redis-server, real SDK, the
 * repo's fake provider.
 */
import type { Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createBudget, defaultPriceTable, extractUsage } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { recorders } from './helpers.js'

let fake: FakeProvider
let redis: RedisServer
beforeAll(async () => {
  ;[fake, redis] = await Promise.all([startFakeProvider(), startRedis()])
})
afterAll(async () => {
  await Promise.all([fake.close(), redis.stop()])
})

/** Polls `predicate` every 25 ms for up to `ms`. */
async function until(predicate: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe('a settle while Redis is down for longer than 5 s', () => {
  it('lands once Redis is back: the call is charged exactly once, nothing stays held', async () => {
    // Without the offline queue a command to a dead server fails at once; reconnects are quick.
    const client = redis.client({
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: () => 50,
    })
    await whenReady(client)
    const inner = redisStore(client, { commandTimeoutMs: 500 })
    // The real store, counting the settles that fail.
    const store = Object.create(inner) as Store
    let failedSettles = 0
    store.run = (op, keys, input) => {
      const run = inner.run(op, keys, input)
      if (op.name === 'budgetSettle') {
        run.catch(() => {
          failedSettles++
        })
      }
      return run
    }
    const budget = createBudget({ store, limits: [{ period: 'day', usd: 10 }] })
    let settledEvents = 0
    budget.on('settled', () => settledEvents++)
    const { logger } = recorders()
    // Redis dies once the call is reserved, before the provider is asked (the input guard runs
    // between the two).
    const guard = {
      checkInput: async () => {
        await redis.kill()
        return { allowed: true, blockedBy: [], text: '' }
      },
      checkOutput: async () => ({ allowed: true, blockedBy: [] }),
    }
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const llm = wrapAnthropic(raw, { budget, logger, guard, subject: 'outage' })
    const message = await llm.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'settle me later' }],
    })
    const outageStart = Date.now()
    expect(message.content[0]).toMatchObject({ text: 'Echo: settle me later' })
    expect(logger.lines[0]?.costMicros).toBeUndefined() // the settle failed: retried later

    // The first settle and the retries after 0.25, 1 and 2 s (before: after 0.25, 1 and 4 s, then
    // none) fail; Redis stays down for more than 5 s.
    await until(() => failedSettles >= 4)
    const left = 5500 - (Date.now() - outageStart)
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left))
    expect(await budget.status('outage').catch(() => 'down')).toBe('down')
    await redis.restart()
    await whenReady(client)

    const expected = defaultPriceTable().priceOf(
      message.model,
      extractUsage(message)?.usage ?? { inputTokens: 0, outputTokens: 0 }
    )
    // The breaker may still be open for a moment after the restart: a read that fails is retried.
    await until(async () => {
      const spent = await budget.spend('outage').catch(() => undefined)
      return spent !== undefined && spent.totalMicros > 0
    })
    const spend = await budget.spend('outage')
    expect(spend.totalMicros).toBe(expected)
    expect(spend.heldMicros).toBe(0)
    expect(settledEvents).toBe(1)
  }, 40_000)
})
