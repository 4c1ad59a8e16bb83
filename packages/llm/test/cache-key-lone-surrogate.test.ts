// The default cache key URI-encodes the scope (the subject). A subject may hold a lone surrogate (a
// JWT `sub` decoded from JSON can), on which `encodeURIComponent` throws a URIError: every cached
// call of that subject failed with a non-Aikit 500. Such a scope is keyed, with its lone surrogates
// written `%uD800`, apart from every other scope (no U+FFFD folding); a well-formed scope keeps the
// key it always had.
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aikit, wrapAnthropic } from '../src/anthropic/index.js'
import { defaultCacheKey } from '../src/shared/cache-key.js'
import { mapCache } from './helpers.js'

const params = { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'hi' }] }
const keyOf = (scope: string) =>
  defaultCacheKey(params, { scope, api: 'anthropic' }) as Promise<string>
const prefixOf = (key: string) => key.slice(0, key.lastIndexOf(':') + 1)

describe('default cache key: scopes with lone surrogates', () => {
  it('keys them, each apart from every other scope', async () => {
    const scopes = [
      'user-\uD800',
      'user-\uDC00',
      'user-\uFFFD',
      'user-%uD800',
      'user-\uD800\uDC00',
      '\uDC00\uD800',
      '\uD800\uD800\uDC00',
    ]
    const keys = await Promise.all(scopes.map(keyOf))
    expect(new Set(keys).size).toBe(scopes.length)
    expect(prefixOf(keys[0] as string)).toBe('llm:anthropic:user-%uD800:')
    expect(prefixOf(keys[6] as string)).toBe(
      `llm:anthropic:%uD800${encodeURIComponent('\uD800\uDC00')}:`
    )
  })

  it('keeps the key of a well-formed scope as it was', async () => {
    for (const scope of ['', 'alice', 'a:b/c%d é', 'emoji \uD83D\uDE00']) {
      expect(prefixOf(await keyOf(scope))).toBe(`llm:anthropic:${encodeURIComponent(scope)}:`)
    }
  })
})

describe('a wrapped client with a cache', () => {
  let fake: FakeProvider
  beforeAll(async () => {
    fake = await startFakeProvider()
  })
  afterAll(async () => {
    await fake.close()
  })

  it('caches the calls of a subject holding a lone surrogate, apart from another one', async () => {
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const client = wrapAnthropic(raw, { cache: mapCache() })
    const ask = {
      model: 'claude-haiku-4-5',
      max_tokens: 50,
      temperature: 0,
      messages: [{ role: 'user' as const, content: 'hello' }],
    }
    await client.messages.create(ask, aikit({ subject: 'user-\uD800' }))
    await client.messages.create(ask, aikit({ subject: 'user-\uD800' }))
    expect(fake.count('/v1/messages')).toBe(1)
    await client.messages.create(ask, aikit({ subject: 'user-\uDC00' }))
    expect(fake.count('/v1/messages')).toBe(2)
  })
})
