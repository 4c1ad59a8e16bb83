// The edges of leaving a slow cache lookup (a shared tier that has stopped answering): a caller's
// `timeout` covers the lookup on every path (with `coalesce: false` too, where its SDK request runs
// on it), callers sharing one call keep it when one of them leaves, a lookup failing after its
// caller left is no unhandled rejection, and a long-lived signal reused across many calls keeps no
// listener. The cache is @aikit/cache's `createCache` on a real `memoryStore()` shared by two
// instances (as Redis is), its `get` held until the test releases it.
import { getEventListeners } from 'node:events'
import { createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import type { LlmCache, WrapOptions } from '../src/shared/types.js'
import { recorders, until } from './helpers.js'
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
 * Readers of one shared store, their lookups through the slow store: `reader`, and more from
 * `readerOf` (a new instance: its memory tier empty, its hits from the shared store).
 */
function instances(extra: Omit<WrapOptions, 'cache'> = {}) {
  const slow = slowStore(memoryStore())
  const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
  const { metrics, logger } = recorders()
  const caches: Array<ReturnType<typeof createCache>> = []
  const readerOf = (more: Omit<WrapOptions, 'cache'> = {}) => {
    const cache = createCache({ store: slow.store, namespace: 'slow-edges' })
    caches.push(cache)
    return wrapAnthropic(raw, { cache, budget, metrics, logger, subject: 'u1', ...extra, ...more })
  }
  return {
    slow,
    budget,
    metrics,
    logger,
    reader: readerOf(),
    readerOf,
    close: () => Promise.all(caches.map((cache) => cache.close())),
  }
}

/** Reads a stream to its end. */
async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // read on
  }
}

describe("a caller's timeout passing during a slow lookup", () => {
  it('with coalesce: false (its SDK request runs on the timeout), rejects with APIConnectionTimeoutError while the lookup is held, as the flight path does', async () => {
    for (const coalesce of [true, false]) {
      const t = instances({ coalesce })
      t.slow.hold()
      const plain = t.reader.messages.create(cached(`plain ${coalesce}`), { timeout: 20 })
      const streamed = t.reader.messages.create(
        { ...cached(`streamed ${coalesce}`), stream: true },
        { timeout: 20 }
      )
      // Settled while the store still holds both lookups.
      expect(await settled(plain)).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
      expect(await settled(streamed)).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
      t.slow.release()
      await t.slow.answered()
      await fake.idle()
      expect(fake.count(MESSAGES)).toBe(0)
      expect(t.metrics.cache).toEqual([])
      expect(t.logger.lines).toEqual([])
      expect(await t.budget.spend('u1')).toMatchObject({ heldMicros: 0, totalMicros: 0 })
      await t.close()
    }
  })

  it('with coalesce: false, a lookup that answers in time leaves the timeout to the SDK request', async () => {
    const t = instances({ coalesce: false })
    t.slow.hold()
    const call = t.reader.messages.create(cached('in time'), { timeout: 60_000 })
    await t.slow.reached
    t.slow.release()
    expect((await call).content[0]).toMatchObject({ text: 'Echo: in time' })
    expect(fake.calls[0]?.headers['x-stainless-timeout']).toBe('60')
    await t.close()
  })
})

describe('callers sharing a call, one of them leaving during the slow lookup', () => {
  for (const timeout of [undefined, 60_000]) {
    it(`${timeout === undefined ? 'each looking up' : 'with a timeout (each looking up too, its deadline covering the lookup)'}: the others get the answer, the shared call is not cut`, async () => {
      const t = instances()
      t.slow.hold()
      const options = timeout === undefined ? {} : { timeout }
      const leaving = new AbortController()
      const staying = new AbortController()
      const left = t.reader.messages.create(cached('shared'), {
        signal: leaving.signal,
        ...options,
      })
      const stays = t.reader.messages.create(cached('shared'), {
        signal: staying.signal,
        ...options,
      })
      const noSignal = t.reader.messages.create(cached('shared'), options)
      await t.slow.reached
      leaving.abort()
      expect(await settled(left)).toBeInstanceOf(Anthropic.APIUserAbortError)
      t.slow.release()
      const answers = await Promise.all([stays, noSignal])
      expect(answers.map((a) => a.content[0])).toEqual([
        { type: 'text', text: 'Echo: shared' },
        { type: 'text', text: 'Echo: shared' },
      ])
      await fake.idle()
      expect(fake.calls.map((c) => c.aborted)).toEqual([false])
      // Each caller looks up (the one gone counts nothing): one miss leads, the other joins.
      expect([...t.metrics.cache].sort()).toEqual(['coalesced', 'miss'])
      expect(getEventListeners(leaving.signal, 'abort')).toHaveLength(0)
      expect(getEventListeners(staying.signal, 'abort')).toHaveLength(0)
      await t.close()
    })
  }
})

describe('a lookup failing after its caller left', () => {
  it('is no unhandled rejection (own signal, timeout, stream, coalesce: false)', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason)
    }
    process.on('unhandledRejection', onUnhandled)
    try {
      // A cache of the app's own (LlmCache) that has gone down: each `get` fails once let through.
      let letThrough = (): void => {}
      const through = new Promise<void>((resolve) => {
        letThrough = resolve
      })
      let asked = 0
      const failed: Promise<unknown>[] = []
      const cache: LlmCache = {
        get: () => {
          asked++
          const get = through.then(() => Promise.reject(new Error('cache down')))
          failed.push(get.catch(() => undefined))
          return get
        },
        set: async () => undefined,
      }
      const shared = wrapAnthropic(raw, { cache })
      const solo = wrapAnthropic(raw, { cache, coalesce: false })
      const leaving = new AbortController()
      const { signal } = leaving
      const calls = [
        shared.messages.create(cached('a'), { signal }),
        shared.messages.create(cached('b'), { signal, timeout: 60_000 }),
        shared.messages.create({ ...cached('c'), stream: true }, { signal }),
        solo.messages.create(cached('d'), { signal }),
      ]
      await until(() => asked === 4)
      leaving.abort()
      for (const call of calls) {
        expect(await settled(call)).toBeInstanceOf(Anthropic.APIUserAbortError)
      }
      letThrough()
      await Promise.all(failed)
      // Any rejection left unhandled is reported within a turn of the event loop.
      await new Promise((resolve) => setTimeout(resolve, 10))
      expect(unhandled).toEqual([])
      expect(fake.count(MESSAGES)).toBe(0)
      expect(getEventListeners(signal, 'abort')).toHaveLength(0)
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

describe('a long-lived signal reused across many calls with slow lookups', () => {
  it('keeps no listener once each call is over: hits, misses, timeouts, streams, withResponse(), asResponse(), shared calls, coalesce: false', async () => {
    const t = instances()
    const request = new AbortController()
    const signal = request.signal
    const timed = { signal, timeout: 60_000 }
    type Client = ReturnType<typeof t.readerOf>
    const kinds: Array<[string, Omit<WrapOptions, 'cache'>, (c: Client) => Promise<unknown>]> = [
      ['create', {}, (c) => c.messages.create(cached('a'), { signal })],
      ['create, timeout', {}, (c) => c.messages.create(cached('b'), timed)],
      ['withResponse()', {}, (c) => c.messages.create(cached('c'), { signal }).withResponse()],
      [
        'asResponse(), timeout',
        {},
        async (c) => (await c.messages.create(cached('d'), timed).asResponse()).text(),
      ],
      [
        'stream',
        {},
        async (c) => drain(await c.messages.create({ ...cached('e'), stream: true }, { signal })),
      ],
      [
        'stream, timeout',
        {},
        async (c) => drain(await c.messages.create({ ...cached('f'), stream: true }, timed)),
      ],
      [
        'stream asResponse()',
        {},
        async (c) =>
          (
            await c.messages.create({ ...cached('g'), stream: true }, { signal }).asResponse()
          ).text(),
      ],
      [
        'three callers sharing a call',
        {},
        (c) => Promise.all([1, 2, 3].map(() => c.messages.create(cached('h'), { signal }))),
      ],
      [
        'three callers sharing a call, timeout',
        {},
        (c) => Promise.all([1, 2, 3].map(() => c.messages.create(cached('i'), timed))),
      ],
      ['coalesce: false', { coalesce: false }, (c) => c.messages.create(cached('j'), { signal })],
      [
        'coalesce: false, timeout',
        { coalesce: false },
        (c) => c.messages.create(cached('k'), timed),
      ],
    ]
    // Each call twice, by a new instance each time: a miss, then a hit from the shared store. Every
    // lookup is held first (the signal then has a listener).
    for (const [name, extra, call] of kinds) {
      for (const round of ['miss', 'hit']) {
        const client = t.readerOf(extra)
        t.slow.hold()
        const running = call(client)
        await until(() => t.slow.waiting > 0)
        t.slow.release()
        await running
        await t.slow.answered()
        expect({ name, round, listeners: getEventListeners(signal, 'abort').length }).toEqual({
          name,
          round,
          listeners: 0,
        })
      }
    }
    // A hit for every call of the second round (three for three callers who each looked up, with
    // or without a timeout).
    expect(t.metrics.cache.filter((c) => c === 'hit')).toHaveLength(kinds.length + 4)
    await t.close()
  })
})
