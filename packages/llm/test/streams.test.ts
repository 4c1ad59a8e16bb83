import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
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

const params = (text: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 200,
  messages: [{ role: 'user' as const, content: text }],
  stream: true as const,
})

describe('streams', () => {
  it('the request context signal (client gone) stops a stream: provider aborted, settled on the estimate, not cached', async () => {
    const cache = mapCache()
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const { logger } = recorders()
    const client = wrapAnthropic(raw, { cacheSampling: true, cache, budget, logger })
    fake.setStreamDelayMs(20)
    fake.setReply(() => 'word '.repeat(50))
    const gone = new AbortController()
    let seen = 0
    await inRequest(
      { subject: 'ctx' },
      async () => {
        const stream = await client.messages.create(params('bye'))
        for await (const _ of stream) {
          if (++seen === 3) gone.abort()
        }
      },
      gone.signal
    )
    expect(seen).toBeLessThan(10)
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'aborted' })
    await fake.idle()
    expect(fake.calls[0]?.aborted).toBe(true)
    const spend = await budget.spend('ctx')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
    expect(cache.sets).toBe(0)
  })

  it('a client gone before the stream starts aborts the provider call (SDK abort error)', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const client = wrapAnthropic(raw, { budget })
    const gone = new AbortController()
    fake.hangNext(1)
    const pending = inRequest(
      { subject: 'early' },
      () => client.messages.create(params('wait')),
      gone.signal
    )
    await until(() => fake.calls.length === 1)
    gone.abort()
    await expect(pending).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    await fake.idle()
    expect(fake.calls[0]?.aborted).toBe(true)
    // Sent, then cut before its first event: charged its input estimate (see
    // unanswered-call-charge.test.ts), nothing held.
    const spend = await budget.spend('early')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
  })

  it('a coalesced stream keeps running for the others when its first reader stops', async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cacheSampling: true, cache })
    fake.setStreamDelayMs(5)
    fake.setReply(() => 'one two three four five six seven eight')
    const [a, b] = await Promise.all([
      client.messages.create(params('shared')),
      client.messages.create(params('shared')),
    ])
    for await (const e of a) if (e.type === 'content_block_delta') break
    const rest: string[] = []
    for await (const e of b) rest.push(e.type)
    expect(rest.at(-1)).toBe('message_stop')
    expect(fake.count('/v1/messages')).toBe(1)
    await until(() => cache.sets === 1)
    expect(fake.calls[0]?.aborted).toBe(false)
  })

  it('a stream broken by the provider mid-way errors for the caller, settles, and is not cached', async () => {
    const cache = mapCache()
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const client = wrapAnthropic(raw, { cacheSampling: true, cache, budget, subject: 'br' })
    fake.breakStreamAfter(3)
    const stream = await client.messages.create(params('break'))
    const failure = await (async () => {
      for await (const _ of stream) {
        // read until it breaks
      }
    })().catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(Error)
    let spend = await budget.spend('br')
    for (let end = Date.now() + 10_000; Date.now() < end && spend.totalMicros === 0; ) {
      await new Promise((r) => setTimeout(r, 10))
      spend = await budget.spend('br')
    }
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
    expect(cache.sets).toBe(0)
  })

  it("'refresh' skips the lookup but stores the fresh answer", async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cacheSampling: true, cache })
    const { stream: _s, ...plain } = params('refresh me')
    await client.messages.create(plain)
    fake.setReply(() => 'newer')
    const fresh = await client.messages.create(plain, aikit({ cache: 'refresh' }))
    expect(fresh.content[0]).toMatchObject({ text: 'newer' })
    const cached = await client.messages.create(plain)
    expect(cached.content[0]).toMatchObject({ text: 'newer' })
    expect(fake.count('/v1/messages')).toBe(2)
  })

  it('a stream dropped before its first read still ends the call: hold settled, logged, an identical call streams in full', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const { logger } = recorders()
    const client = wrapAnthropic(raw, { budget, logger, subject: 'early-drop' })
    fake.setReply(() => 'one two three')
    const dropped = await client.messages.create(params('drop me'))
    dropped.controller.abort()
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'aborted' })
    await until(() => fake.calls.length === 1)
    const spend = await budget.spend('early-drop')
    expect(spend.heldMicros).toBe(0)
    // The same request again is a new provider call streaming the whole answer, not a join onto
    // the dropped one (whose flight must have ended).
    const again = await client.messages.create(params('drop me'))
    let text = ''
    for await (const event of again) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
        text += event.delta.text
      }
    }
    expect(text).toBe('one two three')
    expect(fake.calls).toHaveLength(2)
  })
})

describe('joining a coalesced stream', () => {
  /** The event types of a stream read to its end, and how it ended. */
  const read = async (stream: AsyncIterable<{ type: string }>) => {
    const types: string[] = []
    let error: unknown
    try {
      for await (const e of stream) types.push(e.type)
    } catch (e) {
      error = e
    }
    return { types, error }
  }

  it('a leader whose signal aborted before the answer came does not cut the joiner (no signal) off', async () => {
    const client = wrapAnthropic(raw, {})
    fake.setReply(() => 'one two three four five')
    const leaving = new AbortController()
    const leader = client.messages.create(params('leader gone'), { signal: leaving.signal })
    const joiner = client.messages.create(params('leader gone'))
    // The leader's client goes away while the provider call is under way; the joiner stays.
    leaving.abort()
    await expect(leader).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    const { types, error } = await read(await joiner)
    expect(error).toBeUndefined()
    expect(types.at(0)).toBe('message_start')
    expect(types.at(-1)).toBe('message_stop')
    expect(fake.count('/v1/messages')).toBe(1)
    expect(fake.calls[0]?.aborted).toBe(false)
  })

  it('a caller arriving while the stream every earlier caller left is being aborted gets a stream of its own', async () => {
    const client = wrapAnthropic(raw, {})
    fake.hangNext(1)
    const first = new AbortController()
    const leader = client.messages.create(params('doomed stream'), { signal: first.signal })
    await until(() => fake.calls.length === 1)
    first.abort()
    // The same tick: the shared call's provider request is only now being aborted.
    const newcomer = client.messages.create(params('doomed stream'))
    await expect(leader).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    const { types, error } = await read(await newcomer)
    expect(error).toBeUndefined()
    expect(types.at(0)).toBe('message_start')
    expect(types.at(-1)).toBe('message_stop')
    expect(fake.count('/v1/messages')).toBe(2)
  })

  it('a caller arriving as the only reader leaves gets a whole answer of its own, not the cut one', async () => {
    const client = wrapAnthropic(raw, {})
    fake.setReply(() => 'one two three four five six seven eight nine ten')
    const hold = fake.holdStreamAfter(3)
    const first = await client.messages.create(params('same question'))
    const it1 = first[Symbol.asyncIterator]()
    await it1.next()
    await hold.reached
    // The first caller's reader closes; at that very moment an identical request arrives.
    const leaving = it1.return?.(undefined)
    const second = client.messages.create(params('same question'))
    hold.release()
    await leaving
    const { types, error } = await read(await second)
    expect(error).toBeUndefined()
    expect(types.at(0)).toBe('message_start')
    expect(types.at(-1)).toBe('message_stop')
    expect(fake.count('/v1/messages')).toBe(2)
  })

  it('a caller that joined just before the only reader left makes its own call too', async () => {
    const client = wrapAnthropic(raw, {})
    fake.setReply(() => 'one two three four five six')
    const hold = fake.holdStreamAfter(3)
    const first = await client.messages.create(params('joined then cut'))
    const it1 = first[Symbol.asyncIterator]()
    await it1.next()
    await hold.reached
    // Joins the running flight, then (before it could take a reader) the only reader leaves.
    const second = client.messages.create(params('joined then cut'))
    const leaving = it1.return?.(undefined)
    hold.release()
    await leaving
    const { types, error } = await read(await second)
    expect(error).toBeUndefined()
    expect(types.at(0)).toBe('message_start')
    expect(types.at(-1)).toBe('message_stop')
    expect(fake.count('/v1/messages')).toBe(2)
  })
})
