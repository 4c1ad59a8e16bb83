// "A streamed call streams through untouched (first token latency unchanged)", proven without timing
// anything: the fake provider sends its first event and then holds the rest back until released.
// The caller must get that first event through the wrapped client while the provider still holds,
// with every part of the kit switched on (cache, budget, metrics, logger, guard).
import { createBudget } from '@aikit/cost'
import { promptGuard } from '@aikit/security'
import { type FakeProvider, type StreamHold, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import type { WrapOptions } from '../src/shared/types.js'
import { mapCache, recorders, until } from './helpers.js'
import { completeStream, deltaText, OPENAI_APIS, openStream } from './openai-calls.js'
import { OPENAI_SDKS } from './openai-sdks.js'

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const ANSWER = 'one two three four five'

/** Every part of the kit, so none of them may hold a stream back. */
function fullKit() {
  const cache = mapCache()
  const { metrics, logger } = recorders()
  const options: WrapOptions = {
    cacheSampling: true,
    cache,
    budget: createBudget({ limits: [{ period: 'day', usd: 10 }] }),
    metrics,
    logger,
    guard: promptGuard(),
    subject: 'first-chunk',
  }
  return { cache, metrics, options }
}

/**
 * Awaits `next` (the first event) while the provider holds the rest of the stream. Should the event
 * arrive only once the provider sends everything, the test fails here rather than hanging: after a
 * generous grace the hold is released and the late arrival is reported.
 */
async function whileHeld<T>(next: Promise<T>, hold: StreamHold): Promise<T> {
  await hold.reached
  let released = false
  const grace = setTimeout(() => {
    released = true
    hold.release()
  }, 3000)
  try {
    const value = await next
    expect(released, 'the first event came only after the provider sent the rest').toBe(false)
    return value
  } finally {
    clearTimeout(grace)
  }
}

describe('wrapAnthropic: a stream is passed through as it arrives', () => {
  let raw: Anthropic
  beforeAll(() => {
    raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
  })
  const params = (text: string) => ({
    model: 'claude-haiku-4-5',
    max_tokens: 100,
    messages: [{ role: 'user' as const, content: text }],
  })

  it('messages.create({ stream: true }): the first event reaches the caller while the provider holds the rest', async () => {
    const { cache, metrics, options } = fullKit()
    const client = wrapAnthropic(raw, options)
    fake.setReply(() => ANSWER)
    const hold = fake.holdStreamAfter(1)
    const stream = await client.messages.create({ ...params('held'), stream: true })
    const reader = stream[Symbol.asyncIterator]()
    const first = await whileHeld(reader.next(), hold)
    expect(first.value?.type).toBe('message_start')

    hold.release()
    let text = ''
    for (let r = await reader.next(); !r.done; r = await reader.next()) {
      if (r.value.type === 'content_block_delta' && r.value.delta.type === 'text_delta') {
        text += r.value.delta.text
      }
    }
    expect(text).toBe(ANSWER)
    await until(() => cache.sets === 1) // recorded whole for the cache all the same
    expect(metrics.calls[0]?.timeToFirstChunkSeconds).toBeGreaterThan(0)
  })

  it('messages.stream() (the SDK helper): the first event reaches the caller while the provider holds the rest', async () => {
    const { cache, options } = fullKit()
    const client = wrapAnthropic(raw, options)
    fake.setReply(() => ANSWER)
    const hold = fake.holdStreamAfter(1)
    const helper = client.messages.stream(params('held helper'))
    const firstEvent = new Promise<string>((resolve) => {
      helper.once('streamEvent', (event) => resolve(event.type))
    })
    await expect(whileHeld(firstEvent, hold)).resolves.toBe('message_start')
    hold.release()
    const message = await helper.finalMessage()
    expect(message.content[0]).toMatchObject({ type: 'text', text: ANSWER })
    await until(() => cache.sets === 1)
  })

  it('coalesced identical streams: each caller gets the first event while the provider holds the rest', async () => {
    const { options } = fullKit()
    const client = wrapAnthropic(raw, options)
    fake.setReply(() => ANSWER)
    const hold = fake.holdStreamAfter(1)
    const [a, b] = await Promise.all([
      client.messages.create({ ...params('held shared'), stream: true }),
      client.messages.create({ ...params('held shared'), stream: true }),
    ])
    const readers = [a[Symbol.asyncIterator](), b[Symbol.asyncIterator]()]
    const firsts = await whileHeld(Promise.all(readers.map((r) => r.next())), hold)
    expect(firsts.map((r) => r.value?.type)).toEqual(['message_start', 'message_start'])
    expect(fake.count('/v1/messages')).toBe(1)
    hold.release()
    for (const reader of readers) {
      let last: string | undefined
      for (let r = await reader.next(); !r.done; r = await reader.next()) last = r.value.type
      expect(last).toBe('message_stop')
    }
  })
})

for (const sdk of OPENAI_SDKS) {
  // openai 7 needs Node 22+ (its engines field): skipped on Node 20, run by CI's Node 24 leg.
  describe.runIf(sdk.runs)(
    `wrapOpenAI (${sdk.name}): a stream is passed through as it arrives`,
    () => {
      let raw: OpenAI
      beforeAll(() => {
        raw = new sdk.OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
      })

      it.each(OPENAI_APIS)(
        '%s: the first event reaches the caller while the provider holds the rest',
        async (api) => {
          const { cache, metrics, options } = fullKit()
          const client = wrapOpenAI(raw, options)
          fake.setReply(() => ANSWER)
          const hold = fake.holdStreamAfter(1)
          const stream = await openStream(client, api, 'held')
          const reader = stream[Symbol.asyncIterator]()
          const first = await whileHeld(reader.next(), hold)
          expect(first.done).toBe(false)

          hold.release()
          const events = [first.value]
          for (let r = await reader.next(); !r.done; r = await reader.next()) events.push(r.value)
          expect(events.map((e) => deltaText(api, e)).join('')).toBe(ANSWER)
          expect(completeStream(api, events)).toBe(true)
          await until(() => cache.sets === 1)
          expect(metrics.calls[0]?.timeToFirstChunkSeconds).toBeGreaterThan(0)
        }
      )
    }
  )
}
