// The SDK's per-call request options (its `create`'s second argument) that change the request
// (headers such as a per-user `x-api-key` or an `anthropic-beta` flag, query, …) are part of the
// coalescing key and the cache key; transport options (signal, timeout, retries) are not.
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { NO_REQUEST_OPTIONS, requestOptionsDigest } from '../src/shared/request-options.js'
import { mapCache } from './helpers.js'

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
const calls = () => fake.count('/v1/messages')
const BETA = 'context-1m-2025-08-07'

describe('coalescing and caching with per-call request options', () => {
  it('concurrent calls with different per-call headers (a per-user key, a beta flag) each reach the provider with their own', async () => {
    const client = wrapAnthropic(raw, {})
    await Promise.all([
      client.messages.create(ask('same'), { headers: { 'x-api-key': 'user-a-key' } }),
      client.messages.create(ask('same'), { headers: { 'x-api-key': 'user-b-key' } }),
      client.messages.create(ask('same'), { headers: { 'anthropic-beta': BETA } }),
      client.messages.create(ask('same')),
    ])
    expect(calls()).toBe(4)
    expect(fake.calls.filter((c) => c.headers['anthropic-beta'] === BETA)).toHaveLength(1)
  })

  it('the same headers in any form or letter case still share one call', async () => {
    const client = wrapAnthropic(raw, {})
    await Promise.all([
      client.messages.create(ask('forms'), { headers: { 'anthropic-beta': BETA } }),
      client.messages.create(ask('forms'), { headers: { 'Anthropic-Beta': BETA } }),
      client.messages.create(ask('forms'), { headers: new Headers({ 'anthropic-beta': BETA }) }),
      client.messages.create(ask('forms'), { headers: [['anthropic-beta', BETA]] }),
    ])
    expect(calls()).toBe(1)
  })

  it('a call with an anthropic-beta header is not served the cached answer of one without; its own is cached', async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cache, cacheSampling: true })
    await client.messages.create(ask('cached'))
    await client.messages.create(ask('cached'), { headers: { 'anthropic-beta': BETA } })
    expect(calls()).toBe(2)
    await client.messages.create(ask('cached'), { headers: { 'anthropic-beta': BETA } })
    await client.messages.create(ask('cached'))
    expect(calls()).toBe(2)
  })

  it('transport options (signal, timeout, retries) change neither key', async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cache, cacheSampling: true })
    await Promise.all([
      client.messages.create(ask('transport')),
      client.messages.create(ask('transport'), { timeout: 60_000, maxRetries: 1 }),
      client.messages.create(ask('transport'), { signal: new AbortController().signal }),
    ])
    expect(calls()).toBe(1)
    await client.messages.create(ask('transport'), { timeout: 5_000 })
    expect(calls()).toBe(1)
  })

  it('options that cannot be serialised stably (a middleware function) keep the call out of the cache and of coalescing', async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cache, cacheSampling: true })
    const middleware = [(request: unknown, next: (r: unknown) => unknown) => next(request)]
    const options = { middleware } as unknown as Anthropic.RequestOptions
    await Promise.all([
      client.messages.create(ask('opaque'), options),
      client.messages.create(ask('opaque'), options),
    ])
    expect(calls()).toBe(2)
    expect(cache.gets).toBe(0)
    expect(cache.sets).toBe(0)
  })

  it('secrets in headers never appear in a cache key in clear (default and custom key functions)', async () => {
    const cache = mapCache()
    const secret = 'sk-ant-user-secret-123'
    await wrapAnthropic(raw, { cache, cacheSampling: true }).messages.create(ask('secret'), {
      headers: { 'x-api-key': secret },
    })
    await wrapAnthropic(raw, {
      cache,
      cacheSampling: true,
      cacheKey: (_params, { scope }) => `custom:${scope}`,
    }).messages.create(ask('secret'), { headers: { 'x-api-key': secret } })
    const keys = [...cache.map.keys()]
    expect(keys).toHaveLength(2)
    for (const key of keys) expect(key).not.toContain(secret)
    // The custom key gets the options digest appended (so two users' keys differ).
    expect(keys.find((k) => k.startsWith('custom:'))).toMatch(/^custom::[0-9a-f]{64}$/)
  })

  it("the SDK helpers' telemetry headers do not split the key: a chat.completions.stream() answer serves create({ stream: true })", async () => {
    const cache = mapCache()
    const openai = wrapOpenAI(
      new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 }),
      { cache, cacheSampling: true }
    )
    const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] }
    await openai.chat.completions.stream(chat).finalChatCompletion()
    expect(cache.sets).toBe(1)
    const again = await openai.chat.completions.create({ ...chat, stream: true })
    for await (const _ of again) {
      // replayed from the cache
    }
    expect(fake.count('/v1/chat/completions')).toBe(1)
  })
})

describe('requestOptionsDigest', () => {
  it('is empty with nothing that changes the request (transport options, SDK internals, telemetry headers)', () => {
    expect(
      requestOptionsDigest({
        signal: new AbortController().signal,
        timeout: 1000,
        maxRetries: 2,
        idempotencyKey: 'k',
        __span: { anything: () => 1 },
        headers: { 'X-Stainless-Helper-Method': 'stream', 'x-unset': undefined },
        query: null,
      })
    ).toBe(NO_REQUEST_OPTIONS)
  })

  it('is one SHA-256 for the same headers in any form, order or letter case; never the values in clear', () => {
    const digests = new Set(
      [
        { headers: { 'x-api-key': 'secret-1', 'anthropic-beta': BETA } },
        { headers: { 'Anthropic-Beta': BETA, 'X-Api-Key': 'secret-1' } },
        { headers: new Headers({ 'anthropic-beta': BETA, 'x-api-key': 'secret-1' }) },
        {
          headers: [
            ['x-api-key', 'secret-1'],
            ['anthropic-beta', BETA],
          ],
        },
      ].map((options) => requestOptionsDigest(options))
    )
    expect(digests.size).toBe(1)
    const [digest] = [...digests]
    expect(digest).toMatch(/^[0-9a-f]{64}$/)
    expect(
      requestOptionsDigest({ headers: { 'x-api-key': 'secret-2', 'anthropic-beta': BETA } })
    ).not.toBe(digest)
  })

  it("reads the SDKs' merged headers (what their helpers pass to create) as the same headers in another form; another shape is not understood", () => {
    const brand = Symbol.for('brand.privateNullableHeaders')
    const merged = (values: Record<string, string>, nulls: string[]) => ({
      [brand]: true,
      values: new Headers(values),
      nulls: new Set(nulls),
    })
    const digest = requestOptionsDigest({ headers: { 'anthropic-beta': BETA, 'x-remove': null } })
    expect(digest).toMatch(/^[0-9a-f]{64}$/)
    expect(
      requestOptionsDigest({ headers: merged({ 'Anthropic-Beta': BETA }, ['x-remove']) })
    ).toBe(digest)
    expect(requestOptionsDigest({ headers: merged({ 'anthropic-beta': BETA }, []) })).not.toBe(
      digest
    )
    expect(
      requestOptionsDigest({ headers: merged({ 'anthropic-beta': 'other' }, ['x-remove']) })
    ).not.toBe(digest)
    // A shape the SDKs may change to: neither cached nor shared, never keyed wrong.
    expect(
      requestOptionsDigest({ headers: { [brand]: true, values: { 'anthropic-beta': BETA } } })
    ).toBeUndefined()
    expect(
      requestOptionsDigest({
        headers: { ...merged({ 'anthropic-beta': BETA }, []), extra: 1 },
      })
    ).toBeUndefined()
  })

  it('tells apart headers removed (null), query and base URL', () => {
    const all = [
      {},
      { headers: { 'anthropic-beta': null } },
      { query: { a: 1 } },
      { query: { a: 2 } },
      { defaultBaseURL: 'https://proxy.example' },
    ].map((options) => requestOptionsDigest(options))
    expect(new Set(all).size).toBe(all.length)
  })

  it('is undefined for what cannot be serialised stably (functions, class instances)', () => {
    expect(requestOptionsDigest({ middleware: [() => undefined] })).toBeUndefined()
    expect(
      requestOptionsDigest({ fetchOptions: { dispatcher: new (class Agent {})() } })
    ).toBeUndefined()
    expect(requestOptionsDigest({ headers: 'not headers' })).toBeUndefined()
    expect(requestOptionsDigest({ fetchOptions: { keepalive: true } })).toMatch(/^[0-9a-f]{64}$/)
  })
})
