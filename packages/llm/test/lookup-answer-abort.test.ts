// A caller whose signal aborts in the very turn its cache lookup answers (after the store's answer,
// before the wrapper acted on it) has gone, as one that left during the lookup: the answer is
// dropped. A hit is neither counted nor logged (the caller gets APIUserAbortError, not the hit);
// a miss counts no miss, starts no flight, reserves nothing on the budget, records no failed call
// and asks nothing of the provider. For every path a lookup takes: a caller's own signal, a caller
// with a `timeout` (the flight path, the lookup inside the shared call), `coalesce: false` (the
// lookup inside its own call). The cache is @aikit/cache's `createCache` on a real `memoryStore()`
// shared by two instances; the test aborts in a reaction to the promise the reader's `get` gave.
import { getEventListeners } from 'node:events'
import { createCache } from '@aikit/cache'
import { memoryStore, type Store } from '@aikit/core'
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import type { WrapOptions } from '../src/shared/types.js'
import { recorders } from './helpers.js'

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
 * A writer and a reader on one shared store (the reader's memory tier empty); the reader has a
 * budget whose store operations are recorded, and hands out the promise of its last `get`.
 */
function instances(extra: Pick<WrapOptions, 'coalesce'> = {}) {
  const shared = memoryStore()
  const writerCache = createCache({ store: shared, namespace: 'lookup-answer' })
  const readerCache = createCache({ store: shared, namespace: 'lookup-answer' })
  const gets: Promise<unknown>[] = []
  const budgetStore = Object.create(memoryStore()) as Store
  const inner = Object.getPrototypeOf(budgetStore) as Store
  const ops: string[] = []
  budgetStore.run = (op, keys, input) => {
    ops.push(op.name)
    return inner.run(op, keys, input)
  }
  const budget = createBudget({ store: budgetStore, limits: [{ period: 'day', usd: 10 }] })
  const { metrics, logger } = recorders()
  return {
    gets,
    ops,
    budget,
    metrics,
    logger,
    writer: wrapAnthropic(raw, { cache: writerCache, subject: 'u1' }),
    reader: wrapAnthropic(raw, {
      cache: {
        get: (key) => {
          const got = readerCache.get(key)
          gets.push(got)
          return got
        },
        set: (key, value) => readerCache.set(key, value),
      },
      budget,
      metrics,
      logger,
      subject: 'u1',
      ...extra,
    }),
    close: () => Promise.all([writerCache.close(), readerCache.close()]),
  }
}

const PATHS = [
  { name: 'its own signal', options: {}, extra: {} },
  { name: 'a timeout (the flight path)', options: { timeout: 60_000 }, extra: {} },
  { name: 'coalesce: false', options: {}, extra: { coalesce: false } },
] as const

describe('a signal aborting in the turn the cache lookup answers', () => {
  for (const path of PATHS) {
    for (const stored of [true, false]) {
      it(`with ${path.name}: rejects with APIUserAbortError and drops the ${stored ? 'hit (not counted nor logged)' : 'miss (no count, flight, reservation nor provider call)'}`, async () => {
        const t = instances(path.extra)
        const text = `${path.name} ${stored}`
        if (stored) await t.writer.messages.create(cached(text))
        const before = fake.count(MESSAGES)
        const leaving = new AbortController()
        const call = t.reader.messages.create(cached(text), {
          signal: leaving.signal,
          ...path.options,
        })
        // The lookup was asked at once; the abort reacts to its answer, after the wrapper's reaction.
        expect(t.gets).toHaveLength(1)
        void t.gets[0]?.then(() => leaving.abort())
        await expect(call).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
        await fake.idle()
        expect(fake.count(MESSAGES)).toBe(before)
        expect(t.metrics.cache).toEqual([])
        expect(t.metrics.calls).toEqual([])
        expect(t.logger.lines).toEqual([])
        expect(t.ops).toEqual([])
        expect(getEventListeners(leaving.signal, 'abort')).toHaveLength(0)
        // Nothing left behind: the next caller is answered as usual.
        const again = await t.reader.messages.create(cached(text))
        expect(again.content[0]).toMatchObject({ text: `Echo: ${text}` })
        expect(t.metrics.cache).toEqual([stored ? 'hit' : 'miss'])
        await t.close()
      })
    }
  }

  it('the same for stream: true, .withResponse() and .asResponse()', async () => {
    const t = instances()
    await t.writer.messages.create(cached('helpers'))
    await t.writer.messages.create({ ...cached('helpers'), stream: true }).then(async (s) => {
      for await (const _ of s) {
        // read to its end: stored
      }
    })
    const gone = (start: (signal: AbortSignal) => Promise<unknown>) => {
      const leaving = new AbortController()
      const outcome = start(leaving.signal)
      void t.gets.at(-1)?.then(() => leaving.abort())
      return expect(outcome).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    }
    await gone((signal) =>
      t.reader.messages.create({ ...cached('helpers'), stream: true }, { signal })
    )
    await gone((signal) => t.reader.messages.create(cached('helpers'), { signal }).withResponse())
    await gone((signal) => t.reader.messages.create(cached('helpers'), { signal }).asResponse())
    expect(t.gets).toHaveLength(3)
    expect(t.metrics.cache).toEqual([])
    expect(t.logger.lines).toEqual([])
    await t.close()
  })
})

describe('a signal aborted before the call', () => {
  for (const path of PATHS) {
    it(`with ${path.name}: no lookup, nothing counted, reserved or asked of the provider`, async () => {
      const t = instances(path.extra)
      await t.writer.messages.create(cached('pre-aborted'))
      const before = fake.count(MESSAGES)
      const signal = AbortSignal.abort()
      await expect(
        t.reader.messages.create(cached('pre-aborted'), { signal, ...path.options })
      ).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
      expect(t.gets).toEqual([])
      expect(t.metrics.cache).toEqual([])
      expect(t.logger.lines).toEqual([])
      expect(t.ops).toEqual([])
      expect(fake.count(MESSAGES)).toBe(before)
      expect(getEventListeners(signal, 'abort')).toHaveLength(0)
      await t.close()
    })
  }
})
