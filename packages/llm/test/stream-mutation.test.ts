// The SDK's MessageStream helper builds its message by mutating the event objects it reads
// (message_start.message.content, stop_reason, usage). The wrapper records the events for the cache
// and hands them to every coalesced reader: each reader must get its own copy, or the mutations leak.
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { mapCache, until } from './helpers.js'

let fake: FakeProvider
let raw: Anthropic
beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const params = (text: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 100,
  messages: [{ role: 'user' as const, content: text }],
})

describe('events read by messages.stream() stay as the provider sent them', () => {
  it('a messages.stream() answer replayed from the cache is the same message', async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cacheSampling: true, cache })
    const first = await client.messages.stream(params('helper twice')).finalMessage()
    await until(() => cache.sets === 1)
    const second = await client.messages.stream(params('helper twice')).finalMessage()
    expect(fake.count('/v1/messages')).toBe(1)
    expect(second).toEqual(first)
  })

  it('a coalesced reader sees the message_start the provider sent, not the helper snapshot', async () => {
    const client = wrapAnthropic(raw, {})
    const helper = client.messages.stream(params('shared'))
    const stream = await client.messages.create({ ...params('shared'), stream: true })
    await helper.finalMessage() // the helper reads (and mutates) everything first
    const events: Anthropic.RawMessageStreamEvent[] = []
    for await (const e of stream) events.push(e)
    expect(fake.count('/v1/messages')).toBe(1)
    const start = events[0]
    expect(start?.type === 'message_start' && start.message.content).toEqual([])
  })
})

describe('copyEvent', () => {
  it('copies nested objects and arrays, keeps a __proto__ key as own data', async () => {
    const { copyEvent } = await import('../src/shared/shared-stream.js')
    const event = JSON.parse('{"a":{"b":[1,{"c":"x"}]},"__proto__":{"polluted":true},"n":null}')
    const copy = copyEvent(event)
    expect(copy).toEqual(event)
    expect(copy.a).not.toBe(event.a)
    expect(copy.a.b[1]).not.toBe(event.a.b[1])
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined()
    expect(Object.keys(copy)).toEqual(['a', '__proto__', 'n'])
  })
})
