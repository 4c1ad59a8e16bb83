// A caller's own timeout (its `timeout` request option, else the one its client was made with:
// `withOptions({ timeout })` copies included) is its own, wherever its call waits. README.md
// (Caching): "A caller whose signal aborts (or whose `timeout` passes, with `coalesce: false` too)
// while the cache lookup still waits on a slow shared tier ... rejects at once with the SDK's
// error"; (Coalescing): "a caller's own timeout ... is its deadline for its whole wait"; a joiner
// never inherits its leader's refusal by the SDK before any request; (Budget) a long call's hold is
// kept through a provider silence for the longest timeout of the callers still reading its stream.
import { createCache } from '@aikit/cache'
import { memoryStore, type Store } from '@aikit/core'
import { createBudget, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { until } from './helpers.js'
import { settled, slowStore } from './slow-store.js'

let fake: FakeProvider
let raw: Anthropic
beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const params = (text: string, maxTokens = 50) => ({
  model: 'claude-haiku-4-5',
  max_tokens: maxTokens,
  temperature: 0,
  messages: [{ role: 'user' as const, content: text }],
})

describe("a client's timeout (a withOptions({ timeout }) copy's) bounds a stalled cache lookup", () => {
  // The bare SDK client made with `timeout: 30` fails after 30 ms; the caller through such a copy
  // rejects with the SDK's timeout error while the store still holds its lookup (not once it
  // answers), coalescing or not.
  for (const coalesce of [true, false]) {
    it(`rejects with APIConnectionTimeoutError while the store is held (coalesce: ${coalesce})`, async () => {
      const slow = slowStore(memoryStore())
      const cache = createCache({ store: slow.store, namespace: `client-timeout-${coalesce}` })
      const wrapped = wrapAnthropic(raw, { cache, subject: 'u1', coalesce })
      const copy = wrapped.withOptions({ timeout: 30 })
      slow.hold()
      try {
        const call = copy.messages.create(params('stalled lookup'))
        await slow.reached
        // Settled while the store still holds the lookup (polls up to 5 s).
        const outcome = await settled(call).catch((error: unknown) => error)
        expect(outcome).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
        expect(slow.waiting).toBe(1)
      } finally {
        slow.release()
        await slow.answered()
        await cache.close()
      }
      expect(fake.count('/v1/messages')).toBe(0)
    })
  }
})

describe('a joiner and its leader refused by the SDK before any request', () => {
  // Without a timeout of its own, the Anthropic SDK refuses a long non-streamed call before
  // sending it ("Streaming is required"); with one, it sends it. A joiner with a timeout of its own
  // (a copy's, or a request option) gets what its bare call would: it makes the call of its own.
  for (const how of ['client', 'request'] as const) {
    it(`a joiner with a timeout of its own (${how}) gets its answer; the leader its refusal`, async () => {
      const wrapped = wrapAnthropic(raw, { subject: 'u1' })
      const long = params('a long answer', 64_000)
      // The bare SDK: refused without a timeout (synchronously), sent with one.
      await expect(Promise.resolve().then(() => raw.messages.create(long))).rejects.toThrow(
        /Streaming is required/
      )
      const bare = await raw.withOptions({ timeout: 60_000 }).messages.create(long)
      expect(fake.count('/v1/messages')).toBe(1)

      // The same two calls through the wrapper, issued together: the second joins the first.
      const leader = wrapped.messages.create(long)
      const joiner =
        how === 'client'
          ? wrapped.withOptions({ timeout: 60_000 }).messages.create(long)
          : wrapped.messages.create(long, { timeout: 60_000 })
      await expect(leader).rejects.toBeInstanceOf(Anthropic.AnthropicError)
      await expect(leader).rejects.toThrow(/Streaming is required/)
      const answer = await joiner
      expect(answer.content).toEqual(bare.content)
      expect(fake.count('/v1/messages')).toBe(2)
    })
  }

  it('every joiner refused as its leader was gets the refusal of its own call', async () => {
    const wrapped = wrapAnthropic(raw, { subject: 'u1' })
    const long = params('refused thrice', 64_000)
    const calls = [1, 2, 3].map(() => wrapped.messages.create(long))
    for (const call of calls) await expect(call).rejects.toThrow(/Streaming is required/)
    expect(fake.count('/v1/messages')).toBe(0)
  })
})

// The store's clock is the test's (as in long-call-hold.test.ts): it moves only after a renewal.
describe('the hold of a coalesced stream', () => {
  const TTL_MS = 600
  const streamParams = {
    model: 'claude-haiku-4-5',
    max_tokens: 1000,
    stream: true as const,
    messages: [{ role: 'user' as const, content: 'a long shared answer please' }],
  }
  const worstCase = priceOf('claude-haiku-4-5', { inputTokens: 30, outputTokens: 1000 })

  // Alone, the joiner's call (its client has the SDK's 10-minute default) keeps its hold through
  // the provider's silence; which caller leads is arbitrary (the first one issued), so the
  // leader's short client timeout must not let the hold lapse under the joiner's wait.
  it("is kept while a joiner with a longer timeout reads it, past the leader's client timeout", async () => {
    const clock = { t: Date.parse('2026-03-10T12:00:00Z') }
    const inner = memoryStore({ now: () => clock.t })
    const store = Object.create(inner) as Store & { extends: number }
    store.extends = 0
    store.run = (op, keys, input) => {
      if (op.name === 'budgetExtend') store.extends++
      return inner.run(op, keys, input)
    }
    const budget = createBudget({
      store,
      now: () => clock.t,
      reservationTtl: TTL_MS,
      limits: [{ period: 'day', micros: Math.ceil(worstCase * 1.5) }],
    })
    const wrapped = wrapAnthropic(raw, { budget, subject: 'long' })
    // `message_start` and `content_block_start`, then nothing until `release()`.
    const held = fake.holdStreamAfter(2)
    // The leader through a short-timeout copy, the joiner through the client (10-minute default).
    // 2 s, not less: the leader's call must get its response headers within it on a loaded runner.
    const LEADER_TIMEOUT_MS = 2_000
    const [leaderStream, joinerStream] = await Promise.all([
      wrapped.withOptions({ timeout: LEADER_TIMEOUT_MS }).messages.create(streamParams),
      wrapped.messages.create(streamParams),
    ])
    expect(fake.count('/v1/messages')).toBe(1)
    await held.reached
    // The leader's caller reads the first two events and leaves.
    let read = 0
    for await (const _ of leaderStream) if (++read === 2) break
    const events = joinerStream[Symbol.asyncIterator]()
    for (let i = 0; i < 2; i++) await events.next()
    // The joiner waits for the next event while the provider holds the rest.
    const waiting = events.next()
    const silentSince = performance.now()
    try {
      // Renewals until the provider's silence has outlasted the leader's timeout (four at least),
      // the store's clock moved 500 ms after each (more than three TTLs).
      for (let i = 0; i < 4 || performance.now() - silentSince < LEADER_TIMEOUT_MS + 500; i++) {
        const seen = store.extends
        await until(() => store.extends > seen)
        clock.t += 500
      }
      expect((await budget.status('long')).limits[0]?.heldMicros).toBeGreaterThan(0)
    } finally {
      held.release()
      await waiting.catch(() => undefined)
      while (!(await events.next()).done) {}
    }
  })
})
