// A cache write that stalls (a shared tier that has stopped answering) after the provider answered
// and the budget was charged: no caller waits for it, and identical calls arriving while it is
// under way still share the answer rather than paying for another provider call. The cache is
// @aikit/cache's `createCache` on a real `memoryStore()`, its `set` held by the test; the real
// Anthropic SDK against the fake provider.
import { getEventListeners } from 'node:events'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { countedBudget, steeredCache } from './accounting-rig.js'
import { recorders } from './helpers.js'
import { settled } from './slow-store.js'

let fake: FakeProvider
let raw: Anthropic

beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const MESSAGES = '/v1/messages'
const cached = (text: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 50,
  temperature: 0,
  messages: [{ role: 'user' as const, content: text }],
})

describe('a stalled cache write', () => {
  for (const coalesce of [true, false]) {
    it(`does not hold the answer (coalesce: ${coalesce}, with a signal and a timeout too)`, async () => {
      const cache = steeredCache(`write-${coalesce}`)
      const { budget, ledger } = countedBudget()
      const { metrics, logger } = recorders()
      const client = wrapAnthropic(raw, {
        cache: cache.reader,
        budget,
        metrics,
        logger,
        subject: 'u1',
        coalesce,
      })
      const signal = new AbortController().signal
      for (const [i, options] of [{}, { signal }, { signal, timeout: 60_000 }].entries()) {
        cache.set.hold()
        const answer = await settled(client.messages.create(cached(`held ${i}`), options))
        expect(answer).toMatchObject({ content: [{ text: `Echo: held ${i}` }] })
        expect(cache.set.waiting).toBe(1)
        cache.set.release()
      }
      expect(ledger).toMatchObject({ made: 3, settled: 3, released: 0, repeated: 0 })
      expect(metrics.calls).toHaveLength(3)
      expect(logger.lines).toHaveLength(3)
      expect(getEventListeners(signal, 'abort')).toHaveLength(0)
      await cache.close()
    })
  }

  it('leaves the call joinable: an identical call arriving meanwhile shares the answer (its own copy, not the first caller’s edits) and keeps no listener', async () => {
    const cache = steeredCache('write-joinable')
    const { metrics, logger } = recorders()
    const client = wrapAnthropic(raw, { cache: cache.reader, metrics, logger, subject: 'u1' })
    cache.set.hold()
    const first = await settled(client.messages.create(cached('joinable')))
    expect(cache.set.waiting).toBe(1)
    // The first caller edits its answer in place.
    ;(first as Anthropic.Message).content = []
    const late = new AbortController()
    const second = client.messages.create(cached('joinable'), { signal: late.signal })
    const answer = await settled(second)
    expect(answer).toMatchObject({ content: [{ type: 'text', text: 'Echo: joinable' }] })
    // The provider call's request id, as every caller sharing it gets.
    const requestId = (first as { _request_id?: unknown })._request_id
    expect(typeof requestId).toBe('string')
    expect((answer as { _request_id?: unknown })._request_id).toBe(requestId)
    expect(fake.count(MESSAGES)).toBe(1)
    expect(metrics.cache).toEqual(['miss', 'coalesced'])
    expect(getEventListeners(late.signal, 'abort')).toHaveLength(0)
    cache.set.release()
    await new Promise((resolve) => setTimeout(resolve, 10))
    // Stored: the next call is a hit.
    await client.messages.create(cached('joinable'))
    expect(metrics.cache).toEqual(['miss', 'coalesced', 'hit'])
    expect(fake.count(MESSAGES)).toBe(1)
    expect(logger.lines.map((l) => l.cache)).toEqual(['miss', 'hit'])
    await cache.close()
  })
})
