import { memoryStore, type Store } from '@aikit/core'
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aikit, wrapAnthropic } from '../src/anthropic/index.js'
import { inRequest, mapCache, recorders, until } from './helpers.js'

let fake: FakeProvider
let raw: Anthropic

beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())
// A request a failed test left in flight would land in the next test's counts: wait it out
// (bounded: a hung one without a timeout of its own may never end).
afterEach(async () => {
  await Promise.race([fake.idle(), new Promise((resolve) => setTimeout(resolve, 5_000))])
  fake.reset()
})

const params = (text: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 50,
  messages: [{ role: 'user' as const, content: text }],
})

describe('coalescing', () => {
  it('one caller aborting does not cut the shared call for the others', async () => {
    const client = wrapAnthropic(raw, {})
    const leaver = new AbortController()
    const first = client.messages.create(params('shared'), { signal: leaver.signal })
    const second = client.messages.create(params('shared'), {
      signal: new AbortController().signal,
    })
    leaver.abort()
    await expect(second).resolves.toMatchObject({ type: 'message' })
    await first.catch(() => undefined)
    expect(fake.count('/v1/messages')).toBe(1)
    expect(fake.calls[0]?.aborted).toBe(false)
  })

  it('the shared call is aborted once every caller has aborted', async () => {
    const client = wrapAnthropic(raw, {})
    const a = new AbortController()
    const b = new AbortController()
    fake.hangNext(1)
    const calls = [
      client.messages.create(params('both leave'), { signal: a.signal }),
      client.messages.create(params('both leave'), { signal: b.signal }),
    ]
    await until(() => fake.calls.length === 1)
    a.abort()
    b.abort()
    const outcomes = await Promise.allSettled(calls)
    for (const o of outcomes) {
      expect(o.status).toBe('rejected')
      expect((o as PromiseRejectedResult).reason).toBeInstanceOf(Anthropic.APIUserAbortError)
    }
    await fake.idle()
    expect(fake.calls[0]?.aborted).toBe(true)
  })

  it('never shares a call between subjects, nor with a no-store call', async () => {
    const client = wrapAnthropic(raw, {})
    await Promise.all([
      client.messages.create(params('same'), aikit({ subject: 'a' })),
      client.messages.create(params('same'), aikit({ subject: 'b' })),
      client.messages.create(params('same'), aikit({ subject: 'a', cache: 'no-store' })),
    ])
    expect(fake.count('/v1/messages')).toBe(3)
  })
})

describe('a caller leaving a shared (non-streamed) call', () => {
  /** The rejection reason of `p` (fails the test when it resolves). */
  const reason = (p: Promise<unknown>): Promise<unknown> =>
    p.then(
      () => {
        throw new Error('resolved')
      },
      (e: unknown) => e
    )

  it('a joiner whose signal aborts rejects with APIUserAbortError; the leader still gets the one answer', async () => {
    const client = wrapAnthropic(raw, {})
    const leader = client.messages.create(params('joiner leaves'))
    const leaving = new AbortController()
    const joiner = client.messages.create(params('joiner leaves'), { signal: leaving.signal })
    leaving.abort()
    expect(await reason(joiner)).toBeInstanceOf(Anthropic.APIUserAbortError)
    await expect(leader).resolves.toMatchObject({ type: 'message' })
    expect(fake.count('/v1/messages')).toBe(1)
    expect(fake.calls[0]?.aborted).toBe(false)
  })

  it('a leader whose signal aborts rejects with APIUserAbortError; a joiner keeps the call and gets the answer', async () => {
    const client = wrapAnthropic(raw, {})
    const leaving = new AbortController()
    const leader = client.messages.create(params('leader leaves'), { signal: leaving.signal })
    const joiner = client.messages.create(params('leader leaves'))
    leaving.abort()
    expect(await reason(leader)).toBeInstanceOf(Anthropic.APIUserAbortError)
    await expect(joiner).resolves.toMatchObject({ type: 'message' })
    expect(fake.count('/v1/messages')).toBe(1)
    expect(fake.calls[0]?.aborted).toBe(false)
  })

  it('the caller who left does not wait for the shared call (here it never answers)', async () => {
    const client = wrapAnthropic(raw, {})
    fake.hangNext(1)
    const stay = new AbortController()
    const leader = client.messages.create(params('hangs'), { signal: stay.signal })
    const leaving = new AbortController()
    const joiner = client.messages.create(params('hangs'), { signal: leaving.signal })
    await until(() => fake.calls.length === 1)
    leaving.abort()
    expect(await reason(joiner)).toBeInstanceOf(Anthropic.APIUserAbortError)
    // The provider call was still running for the leader; its leaving ends it.
    stay.abort()
    expect(await reason(leader)).toBeInstanceOf(Anthropic.APIUserAbortError)
    await fake.idle()
    expect(fake.calls[0]?.aborted).toBe(true)
  })

  it("a joiner's AbortSignal.timeout and its request context's signal are its own too", async () => {
    const client = wrapAnthropic(raw, {})
    fake.hangNext(1)
    const stay = new AbortController()
    const leader = client.messages.create(params('timeouts'), { signal: stay.signal })
    const timed = client.messages.create(params('timeouts'), { signal: AbortSignal.timeout(30) })
    const requestGone = new AbortController()
    const fromRequest = inRequest(
      {},
      () => client.messages.create(params('timeouts')),
      requestGone.signal
    )
    await until(() => fake.calls.length === 1)
    // As with the bare SDK, an aborted signal is an abort, whatever aborted it.
    expect(await reason(timed)).toBeInstanceOf(Anthropic.APIUserAbortError)
    requestGone.abort()
    expect(await reason(fromRequest)).toBeInstanceOf(Anthropic.APIUserAbortError)
    expect(fake.calls).toHaveLength(1)
    stay.abort()
    await reason(leader)
  })

  it("a joiner's own `timeout` rejects it with APIConnectionTimeoutError, the others keep waiting", async () => {
    const client = wrapAnthropic(raw, {})
    fake.hangNext(1)
    const stay = new AbortController()
    const leader = client.messages.create(params('joiner timeout'), { signal: stay.signal })
    const joiner = client.messages.create(params('joiner timeout'), { timeout: 30 })
    expect(await reason(joiner)).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
    stay.abort()
    expect(await reason(leader)).toBeInstanceOf(Anthropic.APIUserAbortError)
    await fake.idle()
    expect(fake.calls).toHaveLength(1)
  })

  it("the leader's `timeout` ends its own wait, not the call a joiner still waits for", async () => {
    // The provider answers only once the test releases it (after the leader's timeout).
    const held = fake.holdNext()
    const client = wrapAnthropic(raw, {})
    const leader = client.messages.create(params('leader timeout'), { timeout: 30 })
    const joiner = client.messages.create(params('leader timeout'))
    await held.reached
    // Any timer the SDK runs on the provider request started before the request got here: one of
    // the leader's 30 ms started now fires after it (the order of equal timers, not a duration).
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(await reason(leader)).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
    held.release()
    await expect(joiner).resolves.toMatchObject({ type: 'message' })
    expect(fake.count('/v1/messages')).toBe(1)
    expect(fake.calls[0]?.aborted).toBe(false)
  })
  it("a joiner without a `timeout` of its own times out at the client's default once the leader's `timeout` has passed (as the bare SDK), and the shared request is then aborted", async () => {
    // The client's default per-request timeout: what a call without its own `timeout` gets. The
    // shared request runs without it (the leader's `timeout` swapped for the longest timer).
    const timed = new Anthropic({
      apiKey: 'test-key',
      baseURL: fake.anthropicBaseURL,
      maxRetries: 0,
      // 1 s, not less: the shared request must reach the fake before the joiner gives up on it.
      timeout: 1_000,
    })
    /** The call's error, `'answered'`, or `'still waiting'` long after the client's timeout. */
    const outcomeOf = (call: Promise<unknown>): Promise<unknown> =>
      Promise.race([
        call.then(
          () => 'answered',
          (error: unknown) => error
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5_000)),
      ])
    // The reference: the bare SDK times such a call out at the client's default.
    fake.hangNext(1)
    expect(await outcomeOf(timed.messages.create(params('bare')))).toBeInstanceOf(
      Anthropic.APIConnectionTimeoutError
    )

    const client = wrapAnthropic(timed, {})
    fake.hangNext(1)
    const leader = client.messages.create(params('default deadline'), { timeout: 50 })
    const joiner = client.messages.create(params('default deadline'))
    // The leader's 50 ms may pass before the shared request reaches the fake (the joiner keeps it
    // going): wait for it, so the hang is taken by this request and not by a later test's.
    await until(() => fake.count('/v1/messages') === 2)
    expect(await outcomeOf(leader)).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
    // One provider call, shared (the other one is the bare reference).
    expect(fake.count('/v1/messages')).toBe(2)
    expect(await outcomeOf(joiner)).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
    // The last caller out aborted the shared request: nothing is left hanging on the longest timer.
    await fake.idle()
    expect(fake.calls[1]?.aborted).toBe(true)
  }, 20_000)

  it('an explicit timeout still lets a long non-streamed call through the SDK when it is shared', async () => {
    const client = wrapAnthropic(raw, {})
    // Without a timeout the SDK refuses this max_tokens unstreamed ("Streaming is required").
    const long = { ...params('long answer'), max_tokens: 64_000 }
    await expect(client.messages.create(long)).rejects.toThrow(/Streaming is required/)
    const answers = await Promise.all([
      client.messages.create(long, { timeout: 60_000 }),
      client.messages.create(long, { timeout: 120_000 }),
    ])
    expect(answers.map((m) => m.type)).toEqual(['message', 'message'])
    expect(fake.count('/v1/messages')).toBe(1)
  })
})

describe('a caller arriving once every earlier caller of a shared call has left', () => {
  it('joins nothing: the call being aborted (same tick) is not shared; it gets its own answer', async () => {
    const client = wrapAnthropic(raw, {})
    fake.hangNext(1)
    const first = new AbortController()
    const leader = client.messages.create(params('doomed'), { signal: first.signal })
    await until(() => fake.calls.length === 1)
    first.abort()
    // The same tick: the shared call's provider request is only now being aborted.
    const newcomer = client.messages.create(params('doomed'))
    await expect(leader).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    await expect(newcomer).resolves.toMatchObject({ type: 'message' })
    await fake.idle()
    expect(fake.calls.map((c) => c.aborted)).toEqual([true, false])
  })

  it('a caller whose signal had aborted before it called leaves no call for the next one to join', async () => {
    const client = wrapAnthropic(raw, {})
    const leader = client.messages.create(params('pre-aborted'), { signal: AbortSignal.abort() })
    const newcomer = client.messages.create(params('pre-aborted'))
    await expect(leader).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    await expect(newcomer).resolves.toMatchObject({ type: 'message' })
  })

  for (const how of ['signal', 'timeout'] as const) {
    it(`with a budget: arriving while the call left by its caller (${how}) settles its reservation (a store round trip), it makes and pays for its own`, async () => {
      // The store holds the doomed call's settle (its hold: it was sent, so it is charged) until
      // the test lets it through (a slow Redis round trip).
      const inner = memoryStore()
      const store = Object.create(inner) as Store
      const ops: string[] = []
      let letRelease = (): void => {}
      const releasing = new Promise<void>((resolve) => {
        letRelease = resolve
      })
      store.run = (op, keys, input) => {
        ops.push(op.name)
        return op.name === 'budgetSettle' && ops.filter((o) => o === op.name).length === 1
          ? releasing.then(() => inner.run(op, keys, input))
          : inner.run(op, keys, input)
      }
      const budget = createBudget({ store, limits: [{ period: 'day', usd: 1 }] })
      // The first request gets no answer until it is aborted; the others are answered.
      fake.hangNext(1)
      const client = wrapAnthropic(raw, { budget, subject: 'u' })
      const first = new AbortController()
      const leader = client.messages.create(
        params(`released late ${how}`),
        // Time enough for the request to reach the fake first (it takes the hang, not the newcomer).
        how === 'signal' ? { signal: first.signal } : { timeout: 250 }
      )
      leader.catch(() => undefined)
      await until(() => fake.calls.length === 1)
      if (how === 'signal') first.abort()
      // The leader has gone; its provider call is aborted and its reservation being settled.
      await until(() => ops.includes('budgetSettle'))
      const newcomer = client.messages.create(params(`released late ${how}`))
      newcomer.catch(() => undefined)
      letRelease()
      await expect(leader).rejects.toBeInstanceOf(
        how === 'signal' ? Anthropic.APIUserAbortError : Anthropic.APIConnectionTimeoutError
      )
      await expect(newcomer).resolves.toMatchObject({ type: 'message' })
      expect(fake.count('/v1/messages')).toBe(2)
      await fake.idle()
      expect(fake.calls.map((c) => c.aborted)).toEqual([true, false])
      // The doomed call's hold charged once; the newcomer's call reserved and settled its own.
      expect(ops.filter((op) => op === 'budgetReserve')).toHaveLength(2)
      expect(ops.filter((op) => op === 'budgetRelease')).toHaveLength(0)
      expect(ops.filter((op) => op === 'budgetSettle')).toHaveLength(2)
      const limit = (await budget.status('u')).tightest
      expect(limit?.heldMicros).toBe(0)
      expect(limit?.spentMicros).toBeGreaterThan(0)
    })
  }
})

describe('coalescing with a cache (the lookup comes first; only a miss makes a flight)', () => {
  // Deterministic (temperature 0): the calls the wrapper caches by default.
  const cached = (text: string) => ({ ...params(text), temperature: 0 })

  it('identical calls issued together after a miss make one provider call: one miss, the rest coalesced, then hits', async () => {
    const { metrics } = recorders()
    const client = wrapAnthropic(raw, { cache: mapCache(), metrics })
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => client.messages.create(cached('together')))
    )
    expect(fake.count('/v1/messages')).toBe(1)
    expect(new Set(answers.map((a) => a.id)).size).toBe(1)
    expect([...metrics.cache].sort()).toEqual([
      'coalesced',
      'coalesced',
      'coalesced',
      'coalesced',
      'miss',
    ])
    const again = await client.messages.create(cached('together'))
    expect(again.id).toBe(answers[0]?.id)
    expect(metrics.cache.at(-1)).toBe('hit')
    expect(fake.count('/v1/messages')).toBe(1)
  })

  it('lookups answered out of order still share one provider call (the first back registers it)', async () => {
    const cache = mapCache()
    const get = cache.get
    let slow: (() => void) | undefined
    let gets = 0
    // The first caller's lookup reads a miss, and its answer is held back until the second
    // caller, back first from its own lookup, has the provider stream running.
    cache.get = async (key: string) => {
      const value = await get(key)
      if (gets++ === 0) await new Promise<void>((resolve) => (slow = resolve))
      return value
    }
    const client = wrapAnthropic(raw, { cache })
    const hold = fake.holdStreamAfter(2)
    const streamed = { ...cached('out of order'), stream: true as const }
    const read = async (p: PromiseLike<AsyncIterable<unknown>>) => {
      const events: unknown[] = []
      for await (const event of await p) events.push(event)
      return events
    }
    const first = read(client.messages.create(streamed))
    const second = read(client.messages.create(streamed))
    await hold.reached
    slow?.()
    hold.release()
    const [a, b] = await Promise.all([first, second])
    expect(a).toEqual(b)
    expect(a.length).toBeGreaterThan(2)
    expect(fake.count('/v1/messages')).toBe(1)
  })

  it('a caller whose signal aborts during the lookup gets APIUserAbortError, for a hit and for a miss (no provider call)', async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cache })
    await client.messages.create(cached('cached'))
    expect(fake.count('/v1/messages')).toBe(1)
    const get = cache.get
    let gate: (() => void) | undefined
    cache.get = async (key: string) => {
      await new Promise<void>((resolve) => (gate = resolve))
      return get(key)
    }
    for (const text of ['cached', 'not cached']) {
      const leaving = new AbortController()
      const call = client.messages.create(cached(text), { signal: leaving.signal })
      call.catch(() => undefined)
      await until(() => gate !== undefined)
      leaving.abort()
      gate?.()
      gate = undefined
      await expect(call).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    }
    await fake.idle()
    expect(fake.count('/v1/messages')).toBe(1)
  })
})
