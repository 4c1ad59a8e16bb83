// A caller whose signal aborts (or whose `timeout` passes) while the cache lookup is still waiting
// on a slow shared tier rejects at once with the SDK's error, as the bare SDK's call would, instead
// of waiting for the store. What the store answers after that is dropped: no hit or miss counted,
// no log line, no provider call, nothing reserved on the budget, no flight left for the next
// caller. The cache is @aikit/cache's `createCache` on a real `memoryStore()` shared by two
// instances (as Redis is), its `get` held until the test releases it.
import { getEventListeners } from 'node:events'
import { createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import type { WrapOptions } from '../src/shared/types.js'
import { inRequest, recorders } from './helpers.js'
import { settled, slowStore } from './slow-store.js'

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

/**
 * Two instances on one shared store: `writer` stores answers, `reader` (its memory tier empty)
 * looks them up through the slow store. Both wrap the raw client for subject `u1`.
 */
function instances(extra: Omit<WrapOptions, 'cache'> = {}) {
  const shared = memoryStore()
  const slow = slowStore(shared)
  const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
  const { metrics, logger } = recorders()
  const writerCache = createCache({ store: shared, namespace: 'slow-lookup' })
  const readerCache = createCache({ store: slow.store, namespace: 'slow-lookup' })
  return {
    slow,
    budget,
    metrics,
    logger,
    writer: wrapAnthropic(raw, { cache: writerCache, subject: 'u1' }),
    reader: wrapAnthropic(raw, {
      cache: readerCache,
      budget,
      metrics,
      logger,
      subject: 'u1',
      ...extra,
    }),
    close: () => Promise.all([writerCache.close(), readerCache.close()]),
  }
}

describe('a signal aborting during a slow cache lookup', () => {
  for (const stored of [true, false]) {
    it(`rejects with APIUserAbortError before the lookup ends, and drops its late ${stored ? 'hit' : 'miss'} (no provider call, no hold, no count)`, async () => {
      const t = instances()
      const text = stored ? 'stored answer' : 'never stored'
      if (stored) await t.writer.messages.create(cached(text))
      const before = fake.count(MESSAGES)
      t.slow.hold()
      const leaving = new AbortController()
      const call = t.reader.messages.create(cached(text), { signal: leaving.signal })
      await t.slow.reached
      leaving.abort()
      // Settled while the store still holds the lookup.
      expect(await settled(call)).toBeInstanceOf(Anthropic.APIUserAbortError)
      t.slow.release()
      await t.slow.answered()
      await fake.idle()
      expect(fake.count(MESSAGES)).toBe(before)
      expect(t.metrics.cache).toEqual([])
      expect(t.metrics.calls).toEqual([])
      expect(t.logger.lines).toEqual([])
      expect(await t.budget.spend('u1')).toMatchObject({ heldMicros: 0, totalMicros: 0 })
      // No flight or listener left behind: the next caller looks up and is answered as usual.
      expect(getEventListeners(leaving.signal, 'abort')).toHaveLength(0)
      const again = await t.reader.messages.create(cached(text))
      expect(again.content[0]).toMatchObject({ text: `Echo: ${text}` })
      expect(t.metrics.cache).toEqual([stored ? 'hit' : 'miss'])
      expect(fake.count(MESSAGES)).toBe(stored ? before : before + 1)
      await t.close()
    })
  }

  it("the request's signal (a client gone) leaves the lookup as the caller's own does", async () => {
    const t = instances()
    t.slow.hold()
    const request = new AbortController()
    const call = inRequest(
      {},
      () => t.reader.messages.create(cached('request gone')),
      request.signal
    )
    await t.slow.reached
    request.abort()
    expect(await settled(call)).toBeInstanceOf(Anthropic.APIUserAbortError)
    t.slow.release()
    await t.slow.answered()
    expect(fake.count(MESSAGES)).toBe(0)
    expect(await t.budget.spend('u1')).toMatchObject({ heldMicros: 0, totalMicros: 0 })
    await t.close()
  })

  it('with coalesce: false (the lookup inside the call) too', async () => {
    const t = instances({ coalesce: false })
    await t.writer.messages.create(cached('own call'))
    t.slow.hold()
    const leaving = new AbortController()
    const call = t.reader.messages.create(cached('own call'), { signal: leaving.signal })
    await t.slow.reached
    leaving.abort()
    expect(await settled(call)).toBeInstanceOf(Anthropic.APIUserAbortError)
    t.slow.release()
    await t.slow.answered()
    expect(t.metrics.cache).toEqual([])
    expect(t.logger.lines).toEqual([])
    expect(fake.count(MESSAGES)).toBe(1)
    await t.close()
  })

  it('with a timeout (the flight path), for the signal and for the timeout passing', async () => {
    const t = instances()
    t.slow.hold()
    const leaving = new AbortController()
    const aborted = t.reader.messages.create(cached('timed'), {
      signal: leaving.signal,
      timeout: 60_000,
    })
    await t.slow.reached
    leaving.abort()
    expect(await settled(aborted)).toBeInstanceOf(Anthropic.APIUserAbortError)
    // The timeout passes while a lookup is held: the bare SDK's timeout error.
    const timedOut = t.reader.messages.create(cached('timed'), { timeout: 20 })
    expect(await settled(timedOut)).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
    t.slow.release()
    await t.slow.answered()
    await fake.idle()
    expect(fake.count(MESSAGES)).toBe(0)
    expect(t.metrics.cache).toEqual([])
    expect(await t.budget.spend('u1')).toMatchObject({ heldMicros: 0, totalMicros: 0 })
    await t.close()
  })
})

describe('the hit path stays cheap', () => {
  it('a lookup answered at once (the memory tier) adds no listener to the signal', async () => {
    const t = instances()
    await t.reader.messages.create(cached('in memory'))
    let added = 0
    const controller = new AbortController()
    const add = controller.signal.addEventListener.bind(controller.signal)
    controller.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++
      return add(...args)
    }) as typeof add
    const hit = await t.reader.messages.create(cached('in memory'), { signal: controller.signal })
    expect(hit.content[0]).toMatchObject({ text: 'Echo: in memory' })
    expect(t.metrics.cache).toEqual(['miss', 'hit'])
    expect(added).toBe(0)
    await t.close()
  })

  it('a slow lookup that answers removes its listener', async () => {
    const t = instances()
    await t.writer.messages.create(cached('answered late'))
    t.slow.hold()
    const controller = new AbortController()
    const call = t.reader.messages.create(cached('answered late'), { signal: controller.signal })
    await t.slow.reached
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    t.slow.release()
    expect((await call).content[0]).toMatchObject({ text: 'Echo: answered late' })
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    await t.close()
  })
})
