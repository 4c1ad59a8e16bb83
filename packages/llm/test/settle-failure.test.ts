// A budget store that fails when the call is over must not take the answer away from the caller:
// they would ask (and pay the provider) again. The hold keeps the worst case until its TTL.
import { memoryStore, type Store, StoreUnavailableError } from '@aikit/core'
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { recorders } from './helpers.js'

let fake: FakeProvider
let raw: Anthropic
beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())

/**
 * A real memory store whose settle op fails (the first `failures` times), as a Redis outage
 * between reserve and settle would.
 */
function failingSettleStore(
  failures = Number.POSITIVE_INFINITY
): Store & { settleAttempts: number } {
  const inner = memoryStore()
  const store = Object.create(inner) as Store & { settleAttempts: number }
  store.settleAttempts = 0
  store.run = (op, keys, input) => {
    if (op.name !== 'budgetSettle') return inner.run(op, keys, input)
    store.settleAttempts++
    if (store.settleAttempts > failures) return inner.run(op, keys, input)
    return Promise.reject(new StoreUnavailableError('redis is down', { reason: 'breaker-open' }))
  }
  return store
}

const params = {
  model: 'claude-haiku-4-5',
  max_tokens: 50,
  messages: [{ role: 'user' as const, content: 'settle me' }],
}

describe('a settle that fails after the answer', () => {
  it('returns the non-streamed answer, logs no cost and keeps the hold', async () => {
    const store = failingSettleStore()
    const budget = createBudget({ store, limits: [{ period: 'day', usd: 1 }] })
    const { logger } = recorders()
    const client = wrapAnthropic(raw, { budget, logger, subject: 'u' })
    const message = await client.messages.create(params)
    expect(message.content[0]).toMatchObject({ text: 'Echo: settle me' })
    expect(store.settleAttempts).toBe(1) // retried later, in the background
    expect(logger.lines[0]).toMatchObject({ outcome: 'ok' })
    expect(logger.lines[0]?.costMicros).toBeUndefined()
    const status = await budget.status('u')
    expect(status.limits[0]?.heldMicros).toBeGreaterThan(0) // lapses by the reservation TTL
  })

  it('delivers the whole streamed answer', async () => {
    const store = failingSettleStore()
    const budget = createBudget({ store, limits: [{ period: 'day', usd: 1 }] })
    const client = wrapAnthropic(raw, { budget, subject: 'u' })
    let text = ''
    for await (const event of await client.messages.create({ ...params, stream: true })) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
        text += event.delta.text
    }
    expect(text).toBe('Echo: settle me')
    expect(store.settleAttempts).toBe(1)
  })

  it('settles in the background once the store is back: charged exactly once, nothing held', async () => {
    const store = failingSettleStore(1)
    const budget = createBudget({ store, limits: [{ period: 'day', usd: 1 }] })
    const client = wrapAnthropic(raw, { budget, subject: 'back' })
    await client.messages.create(params)
    expect((await budget.spend('back')).totalMicros).toBe(0) // the first settle failed
    await until(async () => (await budget.spend('back')).totalMicros > 0)
    const spend = await budget.spend('back')
    expect(spend.heldMicros).toBe(0)
    expect(store.settleAttempts).toBe(2)
    const charged = spend.totalMicros
    await new Promise((resolve) => setTimeout(resolve, 1500)) // no further retry charges again
    expect((await budget.spend('back')).totalMicros).toBe(charged)
    expect(store.settleAttempts).toBe(2)
  })
})

describe('a blocked output whose settle failed', () => {
  it('is still charged once the store is back (the hold is not released under the retry)', async () => {
    const store = failingSettleStore(1)
    const budget = createBudget({ store, limits: [{ period: 'day', usd: 1 }] })
    const { logger } = recorders()
    // Blocks every answer: the call is charged (the provider billed it) and not cached.
    const guard = {
      checkInput: async () => ({ allowed: true, blockedBy: [], text: '' }),
      checkOutput: async () => ({ allowed: false, blockedBy: ['leak'] }),
    }
    const client = wrapAnthropic(raw, { budget, guard, logger, subject: 'blocked' })
    await expect(client.messages.create(params)).rejects.toMatchObject({ code: 'OUTPUT_BLOCKED' })
    expect(logger.lines).toMatchObject([{ outcome: 'blocked' }])
    await until(async () => store.settleAttempts === 2)
    const spend = await budget.spend('blocked')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
  })
})

/** Polls `predicate` every 20 ms for up to 10 s. */
async function until(predicate: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
