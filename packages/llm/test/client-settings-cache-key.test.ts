// Two wrapped clients sharing one cache (one createCache, or two instances on one Redis) never get
// each other's answers when their own settings differ: base URL (another endpoint may serve
// another model under the same name), credential (a revoked or another tenant's key must not be
// answered from a cache the other one filled), organization / project, default headers (an
// `anthropic-beta` flag, as a per-call header already was) and default query. Clients with the
// same settings still share (header names in any case). Real SDKs against two fake providers
// answering differently; the credential only ever appears hashed in a key.
import { createCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { mapCache } from './helpers.js'

let a: FakeProvider
let b: FakeProvider
let redis: RedisServer
beforeAll(async () => {
  ;[a, b, redis] = await Promise.all([startFakeProvider(), startFakeProvider(), startRedis()])
})
afterAll(async () => {
  await Promise.all([a.close(), b.close(), redis.stop()])
})
beforeEach(() => {
  a.reset()
  b.reset()
  a.setReply(() => 'from provider A')
  b.setReply(() => 'from provider B')
})

const chat = {
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [{ role: 'user' as const, content: 'hi' }],
}
const msg = {
  model: 'claude-haiku-4-5',
  max_tokens: 64,
  temperature: 0,
  messages: [{ role: 'user' as const, content: 'hi' }],
}
const openai = (options: ConstructorParameters<typeof OpenAI>[0] = {}) =>
  new OpenAI({ apiKey: 'key-1', baseURL: a.openaiBaseURL, maxRetries: 0, ...options })
const anthropic = (options: ConstructorParameters<typeof Anthropic>[0] = {}) =>
  new Anthropic({ apiKey: 'key-1', baseURL: a.anthropicBaseURL, maxRetries: 0, ...options })
const textOf = (answer: OpenAI.ChatCompletion) => answer.choices[0]?.message.content

describe('client settings are part of the cache key', () => {
  it('another base URL: each client gets its own provider’s answer (one cache)', async () => {
    const cache = createCache()
    const toA = wrapOpenAI(openai(), { cache, subject: 'u' })
    const toB = wrapOpenAI(openai({ baseURL: b.openaiBaseURL }), { cache, subject: 'u' })
    expect(textOf(await toA.chat.completions.create(chat))).toBe('from provider A')
    expect(textOf(await toB.chat.completions.create(chat))).toBe('from provider B')
    expect(b.count('/v1/chat/completions')).toBe(1)
    // Each still hits its own entry.
    expect(textOf(await toA.chat.completions.create(chat))).toBe('from provider A')
    expect(textOf(await toB.chat.completions.create(chat))).toBe('from provider B')
    expect(a.count('/v1/chat/completions') + b.count('/v1/chat/completions')).toBe(2)
  })

  it('another base URL on another instance sharing the Redis tier', async () => {
    const instance = async () => {
      const client = redis.client({ maxRetriesPerRequest: 1 })
      await whenReady(client)
      return createCache({ store: redisStore(client, { prefix: 'csk', commandTimeoutMs: 2000 }) })
    }
    const first = wrapOpenAI(openai(), { cache: await instance(), subject: 'u' })
    const second = wrapOpenAI(openai({ baseURL: b.openaiBaseURL }), {
      cache: await instance(),
      subject: 'u',
    })
    const same = wrapOpenAI(openai(), { cache: await instance(), subject: 'u' })
    expect(textOf(await first.chat.completions.create(chat))).toBe('from provider A')
    expect(textOf(await second.chat.completions.create(chat))).toBe('from provider B')
    // A client with the same settings on a third instance is answered from the store tier.
    expect(textOf(await same.chat.completions.create(chat))).toBe('from provider A')
    expect(a.count('/v1/chat/completions')).toBe(1)
  })

  it.each([
    ['apiKey', { apiKey: 'key-2' }],
    ['authToken', { apiKey: null, authToken: 'token-2' }],
    ['defaultHeaders', { defaultHeaders: { 'anthropic-beta': 'some-beta-2025-01-01' } }],
    ['defaultQuery', { defaultQuery: { tier: 'x' } }],
  ] as const)('Anthropic: another %s asks the provider itself', async (_name, options) => {
    const cache = createCache()
    await wrapAnthropic(anthropic(), { cache }).messages.create(msg)
    await wrapAnthropic(anthropic(options), { cache }).messages.create(msg)
    expect(a.count('/v1/messages')).toBe(2)
  })

  it.each([
    ['apiKey', { apiKey: 'key-2' }],
    ['organization', { organization: 'org-2' }],
    ['project', { project: 'proj-2' }],
    ['defaultHeaders', { defaultHeaders: { 'OpenAI-Beta': 'assistants=v2' } }],
    ['defaultQuery', { defaultQuery: { 'api-version': '2025-01-01' } }],
  ] as const)('OpenAI: another %s asks the provider itself', async (_name, options) => {
    const cache = createCache()
    await wrapOpenAI(openai(), { cache }).chat.completions.create(chat)
    await wrapOpenAI(openai(options), { cache }).chat.completions.create(chat)
    expect(a.count('/v1/chat/completions')).toBe(2)
  })

  it('clients with the same settings share entries (header names in any case)', async () => {
    const cache = createCache()
    await wrapOpenAI(openai({ defaultHeaders: { 'X-Team': 'red' } }), {
      cache,
    }).chat.completions.create(chat)
    await wrapOpenAI(openai({ defaultHeaders: { 'x-team': 'red' } }), {
      cache,
    }).chat.completions.create(chat)
    await wrapOpenAI(openai({ defaultHeaders: new Headers({ 'x-team': 'red' }) }), {
      cache,
    }).chat.completions.create(chat)
    expect(a.count('/v1/chat/completions')).toBe(1)
  })

  it('the credential never appears in a key in clear (default and custom key functions)', async () => {
    const cache = mapCache()
    const secret = 'sk-live-client-secret-123'
    await wrapAnthropic(anthropic({ apiKey: secret }), { cache, subject: 'u' }).messages.create(msg)
    await wrapAnthropic(anthropic({ apiKey: secret }), {
      cache,
      cacheKey: (_params, { scope }) => `custom:${scope}`,
      subject: 'u',
    }).messages.create(msg)
    await wrapAnthropic(anthropic({ apiKey: 'key-2' }), {
      cache,
      cacheKey: (_params, { scope }) => `custom:${scope}`,
      subject: 'u',
    }).messages.create(msg)
    const keys = [...cache.map.keys()]
    expect(keys).toHaveLength(3)
    for (const key of keys) expect(key).not.toContain(secret)
    // A custom key gets the client's digest appended: two credentials, two entries.
    expect(keys.filter((k) => /^custom:u:[0-9a-f]{64}$/.test(k))).toHaveLength(2)
  })
})
