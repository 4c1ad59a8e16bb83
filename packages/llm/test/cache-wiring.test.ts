// The wrapper with the kit's real parts: @aikit/cache's createCache (memory + Redis tier) keyed by
// llmCacheKey, and @aikit/observability's metrics; plus the default "deterministic requests only".
import { createCache, llmCacheKey } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { createMetrics } from '@aikit/observability'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aikit, wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import type { LlmCacheKeyFn } from '../src/shared/types.js'
import { mapCache } from './helpers.js'

let fake: FakeProvider
let redis: RedisServer
let raw: Anthropic

beforeAll(async () => {
  ;[fake, redis] = await Promise.all([startFakeProvider(), startRedis()])
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(async () => {
  await Promise.all([fake.close(), redis.stop()])
})
beforeEach(() => fake.reset())

const MODEL = 'claude-haiku-4-5'
const ask = (text: string, extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  max_tokens: 100,
  messages: [{ role: 'user' as const, content: text }],
  ...extra,
})
const calls = () => fake.count('/v1/messages')

/** `llmCacheKey` as the wrapper's key function: provider-separated, scoped, canonical. */
const kitKey: LlmCacheKeyFn = (params, { scope, api }) =>
  llmCacheKey(params as Record<string, unknown>, { scope: scope || 'global', provider: api })

describe('cache: only deterministic requests by default', () => {
  it('a sampled request (no temperature 0, no seed) asks the provider every time', async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cache, subject: 's' })
    await client.messages.create(ask('sampled'))
    await client.messages.create(ask('sampled'))
    expect(calls()).toBe(2)
    expect(cache.sets).toBe(0)
    await client.messages.create(ask('sampled', { temperature: 0.7 }))
    expect(calls()).toBe(3)
    expect(cache.gets).toBe(0)
  })

  it('temperature 0 or a seed makes it cacheable', async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cache, subject: 's' })
    await client.messages.create(ask('t0', { temperature: 0 }))
    await client.messages.create(ask('t0', { temperature: 0 }))
    expect(calls()).toBe(1)
    const openai = wrapOpenAI(
      new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 }),
      { cache, subject: 's' }
    )
    const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'x' }] }
    await openai.chat.completions.create({ ...chat, seed: 7 })
    await openai.chat.completions.create({ ...chat, seed: 7 })
    expect(fake.count('/v1/chat/completions')).toBe(1)
  })

  it('cacheSampling: true pins one sample per key', async () => {
    const client = wrapAnthropic(raw, { cache: mapCache(), cacheSampling: true, subject: 's' })
    const a = await client.messages.create(ask('pinned'))
    const b = await client.messages.create(ask('pinned'))
    expect(b).toEqual(a)
    expect(calls()).toBe(1)
  })

  it('a key function returning undefined keeps that call out of the cache', async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, {
      cache,
      cacheKey: (params, info) =>
        (params.messages as Array<{ content: string }>)[0]?.content === 'secret'
          ? undefined
          : kitKey(params, info),
      subject: 's',
    })
    await client.messages.create(ask('secret', { temperature: 0 }))
    await client.messages.create(ask('secret', { temperature: 0 }))
    expect(calls()).toBe(2)
    expect(cache.sets).toBe(0)
  })

  it('rejects a non-boolean cacheSampling, naming it', () => {
    expect(() =>
      wrapAnthropic(raw, { cacheSampling: 'yes' as unknown as boolean, cache: mapCache() })
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', field: 'cacheSampling' }))
  })
})

describe('cache: wired to @aikit/cache on Redis', () => {
  const instance = () => {
    const client = redis.client()
    // Not the default 50 ms: a new client's first commands must be answered on a loaded runner.
    const cache = createCache({
      store: redisStore(client, { commandTimeoutMs: 5_000 }),
      namespace: 'llm-wiring',
    })
    const metrics = createMetrics()
    const wrapped = wrapAnthropic(raw, { cache, cacheKey: kitKey, metrics })
    return { cache, metrics, wrapped }
  }
  const storedCount = async () => (await redis.client().keys('*llm-wiring*')).length
  /** The cache write runs after the caller has its answer (it never holds it): wait for it. */
  const untilStored = async (before: number) =>
    expect.poll(storedCount, { timeout: 10_000 }).toBeGreaterThan(before)

  it('an answer stored by one instance is served to another through Redis, per subject only', async () => {
    const one = instance()
    const two = instance()
    const params = ask('shared through redis', { temperature: 0 })
    const before = await storedCount()
    const first = await one.wrapped.messages.create(params, aikit({ subject: 'alice' }))
    expect(calls()).toBe(1)
    await untilStored(before)

    const again = await two.wrapped.messages.create(params, aikit({ subject: 'alice' }))
    expect(again).toEqual(first)
    expect(calls()).toBe(1) // instance two never called the provider
    expect(two.cache.stats()).toMatchObject({ storeHits: 1 })

    // Bob asks the same question: his own answer, never Alice's cached one.
    await two.wrapped.messages.create(params, aikit({ subject: 'bob' }))
    expect(calls()).toBe(2)

    const text = await two.metrics.registry.metrics()
    expect(text).toMatch(/gen_ai_client_token_usage_count\{[^}]*gen_ai_provider_name="anthropic"/)
    await Promise.all([one.cache.close(), two.cache.close()])
  })

  it('a streamed answer is recorded once complete and replayed as a stream by another instance', async () => {
    const one = instance()
    const two = instance()
    const params = { ...ask('stream through redis', { temperature: 0 }), stream: true as const }
    const texts = async (stream: AsyncIterable<Anthropic.RawMessageStreamEvent>) => {
      let out = ''
      for await (const event of stream)
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
          out += event.delta.text
      return out
    }
    const before = await storedCount()
    const live = await texts(await one.wrapped.messages.create(params, aikit({ subject: 'carol' })))
    expect(live).toContain('stream through redis')
    await untilStored(before)
    const replayed = await texts(
      await two.wrapped.messages.create(params, aikit({ subject: 'carol' }))
    )
    expect(replayed).toBe(live)
    expect(calls()).toBe(1)
    await Promise.all([one.cache.close(), two.cache.close()])
  })
})
