// Every caller gets an answer of its own: editing it in place (redact, truncate, append: ordinary
// caller code) changes neither what the cache serves next nor what a coalesced caller got.
import { createCache } from '@aikit/cache'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'

let fake: FakeProvider
let raw: Anthropic

beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const ask = (text: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 50,
  messages: [{ role: 'user' as const, content: text }],
})

const textOf = (message: Anthropic.Message): string => (message.content[0] as { text: string }).text

const edit = (message: Anthropic.Message, text: string): void => {
  ;(message.content[0] as { text: string }).text = text
}

describe('answers handed to callers are their own objects', () => {
  it('with @aikit/cache (memory tier, which keeps objects as they are), editing an answer or a hit changes no later hit', async () => {
    const cache = createCache()
    const client = wrapAnthropic(raw, { cache, cacheSampling: true })
    const first = await client.messages.create(ask('q'))
    const original = textOf(first)
    edit(first, 'EDITED BY CALLER 1')
    const second = await client.messages.create(ask('q'))
    expect(textOf(second)).toBe(original)
    edit(second, 'EDITED BY CALLER 2')
    const third = await client.messages.create(ask('q'))
    expect(textOf(third)).toBe(original)
    expect(third).not.toBe(second)
    expect(fake.count('/v1/messages')).toBe(1)
    await cache.close()
  })

  it('coalesced non-streamed callers each get their own copy of the one answer', async () => {
    const client = wrapAnthropic(raw, {})
    const calls = [
      client.messages.create(ask('c')),
      client.messages.create(ask('c')),
      client.messages.create(ask('c')),
    ]
    // The leader's caller edits its answer as soon as it has it.
    const edited = calls[0]?.then((m) => {
      edit(m, 'EDITED BY THE LEADER')
      return m
    })
    const [a, b, c] = await Promise.all([edited, calls[1], calls[2]])
    expect(fake.count('/v1/messages')).toBe(1)
    if (!a || !b || !c) throw new Error('missing answer')
    expect(a).not.toBe(b)
    expect(b).not.toBe(c)
    expect(textOf(b)).toBe(textOf(c))
    expect(textOf(b)).not.toBe('EDITED BY THE LEADER')
    // The SDK's non-enumerable request id comes along with each copy.
    expect(b._request_id).toBe(a._request_id)
    expect(b._request_id).toEqual(expect.any(String))
    expect(Object.keys(b)).not.toContain('_request_id')
  })

  it('coalesced callers served from the cache each get their own copy too', async () => {
    const cache = createCache()
    const client = wrapAnthropic(raw, { cache, cacheSampling: true })
    await client.messages.create(ask('hit'))
    const [a, b] = await Promise.all([
      client.messages.create(ask('hit')),
      client.messages.create(ask('hit')),
    ])
    expect(a).not.toBe(b)
    expect(a).toEqual(b)
    expect(fake.count('/v1/messages')).toBe(1)
    await cache.close()
  })
})
