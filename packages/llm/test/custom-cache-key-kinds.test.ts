// A custom `cacheKey` (the README wires `@aikit/cache`'s `llmCacheKey`, which leaves `stream` out
// of the key as a transport field) still keeps streamed and non-streamed answers apart: a stream
// caller is never handed a cached message, nor a message caller a cached stream.
import { createCache, llmCacheKey } from '@aikit/cache'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aikit, wrapAnthropic } from '../src/anthropic/index.js'
import type { LlmCacheKeyFn } from '../src/shared/types.js'

let fake: FakeProvider
let raw: Anthropic
beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(async () => {
  await fake.close()
})

/** The README's wiring: `llmCacheKey` as the wrapper's key function. */
const kitKey: LlmCacheKeyFn = (params, { scope, api }) =>
  llmCacheKey(params as Record<string, unknown>, { scope: scope || 'global', provider: api })

const params = (text: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 100,
  temperature: 0,
  messages: [{ role: 'user' as const, content: text }],
})

async function textOf(stream: unknown): Promise<string> {
  let out = ''
  for await (const event of stream as AsyncIterable<Anthropic.RawMessageStreamEvent>) {
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
      out += event.delta.text
  }
  return out
}

describe('wrapAnthropic with @aikit/cache wired as the README says (cacheKey: llmCacheKey)', () => {
  it('an answer of the other kind under the key is a miss (an entry written before keys told them apart)', async () => {
    const message = {
      v: 1,
      kind: 'response',
      data: { id: 'msg_old', type: 'message', role: 'assistant', content: [] },
    }
    // A cache holding a message under every key, as a store written by an older version might.
    const cache = { get: async () => message, set: async () => undefined }
    const client = wrapAnthropic(raw, { cache, cacheKey: () => 'same-key' })
    const before = fake.count('/v1/messages')
    const stream = await client.messages.create(
      { ...params('kinds apart'), stream: true },
      aikit({ subject: 'u3' })
    )
    expect(await textOf(stream)).toContain('kinds apart')
    expect(fake.count('/v1/messages')).toBe(before + 1)
    // The message itself is still a hit for a message caller.
    const hit = await client.messages.create(params('kinds apart'), aikit({ subject: 'u3' }))
    expect(hit.id).toBe('msg_old')
    expect(fake.count('/v1/messages')).toBe(before + 1)
  })

  it('a stream: true call after the same non-streamed call still gets a stream of events', async () => {
    const cache = createCache({ namespace: 'hunt-llm-a' })
    const client = wrapAnthropic(raw, { cache, cacheKey: kitKey })
    const message = await client.messages.create(params('first plain'), aikit({ subject: 'u1' }))
    expect(message.type).toBe('message')
    const stream = await client.messages.create(
      { ...params('first plain'), stream: true },
      aikit({ subject: 'u1' })
    )
    expect(typeof (stream as unknown as AsyncIterable<unknown>)[Symbol.asyncIterator]).toBe(
      'function'
    )
    expect(await textOf(stream)).toContain('first plain')
    await cache.close()
  })

  it('a non-streamed call after the same streamed call still gets a Message', async () => {
    const cache = createCache({ namespace: 'hunt-llm-b' })
    const client = wrapAnthropic(raw, { cache, cacheKey: kitKey })
    const streamed = await client.messages.create(
      { ...params('first streamed'), stream: true },
      aikit({ subject: 'u2' })
    )
    expect(await textOf(streamed)).toContain('first streamed')
    const message = await client.messages.create(params('first streamed'), aikit({ subject: 'u2' }))
    expect(message.type).toBe('message')
    expect(message.content[0]).toMatchObject({ type: 'text' })
    await cache.close()
  })
})

describe('a custom cacheKey is asked once per call', () => {
  for (const coalesce of [true, false]) {
    for (const leaves of [false, true]) {
      it(`coalesce: ${coalesce}, ${leaves ? 'leaving the call uncached (undefined)' : 'giving a key'}`, async () => {
        let asked = 0
        const cacheKey: LlmCacheKeyFn = async (p) => {
          asked++
          return leaves ? undefined : `once:${JSON.stringify(p)}`
        }
        const cache = createCache({ namespace: `asked-once-${coalesce}-${leaves}` })
        const client = wrapAnthropic(raw, { cache, cacheKey, coalesce })
        await client.messages.create(params(`asked once ${coalesce} ${leaves}`))
        expect(asked).toBe(1)
        await client.messages.create(params(`asked once ${coalesce} ${leaves}`))
        expect(asked).toBe(2)
        await cache.close()
      })
    }
  }
})
