// A budget hold lapses by itself after the budget's `reservationTtl` (a crashed process's hold must
// free itself). A call that outlives it (a long stream, a slow answer) must keep its hold: once it
// lapsed, other calls could reserve what this call is about to be charged, and together they spend
// more than the limit. The wrapper renews the hold while the call runs (every third of its TTL),
// and no longer once nobody reads its stream.
//
// The store's clock is the test's (`memoryStore({ now })`): it moves only when the test moves it,
// after the wrapper has renewed, so nothing depends on how fast the machine is.
import { memoryStore, type Store } from '@aikit/core'
import { createBudget, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { until } from './helpers.js'

let fake: FakeProvider
let raw: Anthropic
beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
beforeEach(() => fake.reset())
afterAll(() => fake.close())

const TTL_MS = 600
const params = {
  model: 'claude-haiku-4-5',
  max_tokens: 1000,
  messages: [{ role: 'user' as const, content: 'a long answer please' }],
}
/** What the wrapper holds for `params` (estimated input at most 30 tokens, 1,000 out). */
const worstCase = priceOf('claude-haiku-4-5', { inputTokens: 30, outputTokens: 1000 })

/** A budget on a store whose clock the test moves, counting the renewals (`extend` ops). */
function setup() {
  const clock = { t: Date.parse('2026-03-10T12:00:00Z') }
  const inner = memoryStore({ now: () => clock.t })
  const store = Object.create(inner) as Store & { extends: number }
  store.extends = 0
  store.run = (op, keys, input) => {
    if (op.name === 'budgetExtend') store.extends++
    return inner.run(op, keys, input)
  }
  // Room for one call's worst case, not two.
  const budget = createBudget({
    store,
    now: () => clock.t,
    reservationTtl: TTL_MS,
    limits: [{ period: 'day', micros: Math.ceil(worstCase * 1.5) }],
  })
  const client = wrapAnthropic(raw, { budget, subject: 'long', coalesce: false })
  /** Moves the clock `times` × 500 ms (each move short of the TTL), each after a renewal. */
  const outlive = async (times: number): Promise<void> => {
    for (let i = 0; i < times; i++) {
      const seen = store.extends
      await until(() => store.extends > seen)
      clock.t += 500
    }
  }
  return { clock, store, budget, client, outlive }
}

describe('a call that outlives the reservation TTL keeps its hold', () => {
  it('a stream read for longer than the TTL: the hold stays, a second call is refused', async () => {
    const { budget, client, outlive } = setup()
    // `message_start` and `content_block_start`, then nothing until `release()`.
    const held = fake.holdStreamAfter(2)
    const stream = await client.messages.create({ ...params, stream: true })
    const events = stream[Symbol.asyncIterator]()
    await held.reached
    for (let i = 0; i < 2; i++) await events.next()
    // The reader waits for the next event while the provider holds the rest.
    const waiting = events.next()
    await outlive(4) // 2 s of store time: more than three TTLs
    const during = await budget.status('long')
    expect(during.limits[0]?.heldMicros).toBeGreaterThan(0)
    await expect(client.messages.create(params)).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
    held.release()
    await waiting
    while (!(await events.next()).done) {}
    // The stream settles once it has ended.
    let after = await budget.spend('long')
    while (after.heldMicros > 0) {
      await new Promise((resolve) => setTimeout(resolve, 5))
      after = await budget.spend('long')
    }
    expect(after.totalMicros).toBeGreaterThan(0)
  })

  it('a non-streamed answer slower than the TTL: the hold stays until it is settled', async () => {
    const { budget, client, outlive } = setup()
    const held = fake.holdNext()
    const answer = client.messages.create(params)
    await held.reached
    await outlive(4)
    expect((await budget.status('long')).limits[0]?.heldMicros).toBeGreaterThan(0)
    await expect(client.messages.create(params)).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
    held.release()
    await answer
    const after = await budget.spend('long')
    expect(after.heldMicros).toBe(0)
    expect(after.totalMicros).toBeGreaterThan(0)
  })

  it("a stream whose provider sends nothing for longer than the SDK's timeout is no longer kept", async () => {
    const { clock, store, budget } = setup()
    // The client's `timeout` (the bare SDK's bound on a request) bounds a stalled stream's hold.
    // 1 s: it bounds the wait for the response's headers too, which must come in time.
    const client = wrapAnthropic(raw.withOptions({ timeout: 1_000 }), { budget, subject: 'long' })
    const held = fake.holdStreamAfter(2)
    const stream = await client.messages.create({ ...params, stream: true })
    const events = stream[Symbol.asyncIterator]()
    await held.reached
    for (let i = 0; i < 2; i++) await events.next()
    const waiting = events.next() // waits on a provider that sends nothing more
    // Renewals stop once the stall passes the timeout: no new one over three renewal periods.
    let seen = -1
    let still = 0
    const deadline = Date.now() + 10_000
    while (still < 3) {
      if (Date.now() > deadline) throw new Error('the hold of a stalled stream is renewed forever')
      await new Promise((resolve) => setTimeout(resolve, TTL_MS / 3 + 50))
      still = store.extends === seen ? still + 1 : 0
      seen = store.extends
    }
    clock.t += TTL_MS + 1
    expect((await budget.status('long')).limits[0]?.heldMicros).toBe(0)
    stream.controller.abort()
    await waiting.catch(() => undefined)
    held.release()
  })

  it('a stream nobody reads is not kept: its hold lapses as a crashed process would let it', async () => {
    const { clock, store, budget, client } = setup()
    const held = fake.holdStreamAfter(3)
    const stream = await client.messages.create({ ...params, stream: true })
    // Until the answer comes the hold is renewed (a loaded runner can take a renewal period to
    // get it): count from the stream's return on.
    const answered = store.extends
    await held.reached
    // Never read: no renewal, however long it stays open (four renewal periods here).
    await new Promise((resolve) => setTimeout(resolve, (TTL_MS / 3) * 4))
    const renewals = store.extends - answered
    clock.t += TTL_MS + 1
    expect((await budget.status('long')).limits[0]?.heldMicros).toBe(0)
    expect(renewals).toBe(0)
    stream.controller.abort()
    held.release()
  })
})

describe('a hold longer than the longest timer delay', () => {
  it('is renewed at the longest delay, not every millisecond', async () => {
    // A third of a 100-day TTL is past 2^31 - 1 ms, which Node fires after 1 ms: the hold was
    // then renewed (a store write, a Redis round trip) about every millisecond of every call.
    const inner = memoryStore()
    let renewals = 0
    const store = Object.create(inner) as Store
    store.run = (op, keys, input) => {
      if (op.name === 'budgetExtend') renewals++
      return inner.run(op, keys, input)
    }
    const budget = createBudget({
      store,
      reservationTtl: '100d',
      limits: [{ period: 'day', usd: 10 }],
    })
    const client = wrapAnthropic(raw, { budget, subject: 'long', coalesce: false })
    const held = fake.holdNext()
    const answer = client.messages.create(params)
    await held.reached
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(renewals).toBe(0)
    held.release()
    await answer
  })
})
