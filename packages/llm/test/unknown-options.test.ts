// A misspelt option key of wrapAnthropic / wrapOpenAI, of the `{ limiter, key }` form of
// `tokenLimit` or of a per-call `aikit({...})` is refused with InvalidOptionsError naming it (it
// would otherwise leave its part silently off: no cache, no subject, the default key). Every
// documented key is still accepted; the parts handed in (budget, cache, limiter, …), the SDK's
// request params and request options are never searched for keys.

import { createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { createBudget, defaultPriceTable } from '@aikit/cost'
import { createMetrics } from '@aikit/observability'
import { createRateLimiter } from '@aikit/ratelimit'
import { promptGuard } from '@aikit/security'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aikit, wrapAnthropic } from '../src/anthropic/index.js'
import { aikit as openaiAikit, wrapOpenAI } from '../src/openai/index.js'
import {
  CALL_OVERRIDE_KEYS,
  type CallOverride,
  TOKEN_LIMIT_OPTION_KEYS,
  type TokenLimitOptions,
  WRAP_OPTION_KEYS,
  type WrapOptions,
} from '../src/shared/types.js'
import { recorders } from './helpers.js'

let fake: FakeProvider
let anthropic: Anthropic
let openai: OpenAI

beforeAll(async () => {
  fake = await startFakeProvider()
  anthropic = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
  openai = new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const invalid = (field: string, hint?: string) =>
  expect.objectContaining({
    code: 'INVALID_OPTIONS',
    field,
    ...(hint === undefined ? {} : { message: expect.stringContaining(hint) }),
  })

const limiter = () =>
  createRateLimiter({ store: memoryStore(), limits: [{ limit: 100_000, window: '1m' }] })

/** One options object with every documented key, each a real part. */
function everyOption(): Required<WrapOptions> {
  const tokenLimit: Required<TokenLimitOptions> = { limiter: limiter(), key: (i) => i.subject }
  return {
    budget: createBudget({ limits: [{ period: 'day', usd: 10 }] }),
    tokenLimit,
    cache: createCache(),
    cacheSampling: true,
    cacheKey: (params) => JSON.stringify(params),
    metrics: createMetrics({ key: false }),
    logger: recorders().logger,
    guard: promptGuard(),
    subject: 'u1',
    requireSubject: true,
    coalesce: false,
    defaultMaxOutputTokens: 256,
    priceTable: defaultPriceTable(),
  }
}

describe('wrapAnthropic / wrapOpenAI refuse an unknown option key', () => {
  it('names a misspelt key, with the option it most likely meant', () => {
    expect(() => wrapAnthropic(anthropic, { cahce: createCache() } as WrapOptions)).toThrow(
      invalid('cahce', '`cache`')
    )
    expect(() => wrapOpenAI(openai, { requireSubjet: true } as WrapOptions)).toThrow(
      invalid('requireSubjet', '`requireSubject`')
    )
    // Refused even when its value is undefined: the key is still a typo.
    expect(() => wrapAnthropic(anthropic, { budjet: undefined } as WrapOptions)).toThrow(
      invalid('budjet', '`budget`')
    )
    expect(() => wrapOpenAI(openai, { retries: 3 } as WrapOptions)).toThrow(invalid('retries'))
  })

  it('refuses requireScope (the name DESIGN.md gives requireSubject) by naming requireSubject', async () => {
    for (const wrap of [
      () => wrapAnthropic(anthropic, { requireScope: true } as WrapOptions),
      () => wrapOpenAI(openai, { requireScope: true } as WrapOptions),
      () => wrapOpenAI(openai, { subject: 'u1', requireScope: undefined } as WrapOptions),
    ]) {
      expect(wrap).toThrow(invalid('requireScope', 'use `requireSubject`'))
    }
    // What it was meant to do is what requireSubject does: a call without a subject is refused.
    const strict = wrapAnthropic(anthropic, { requireSubject: true })
    await expect(
      strict.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hi' }],
      })
    ).rejects.toMatchObject({ code: 'SUBJECT_REQUIRED' })
  })

  it('names a misspelt key of the { limiter, key } form of tokenLimit', () => {
    expect(() =>
      wrapAnthropic(anthropic, { tokenLimit: { limiter: limiter(), keys: () => 'k' } } as never)
    ).toThrow(invalid('tokenLimit.keys', '`tokenLimit.key`'))
    expect(() =>
      wrapOpenAI(openai, { tokenLimit: { limiter: limiter(), key: () => 'k', ttl: 5 } } as never)
    ).toThrow(invalid('tokenLimit.ttl'))
    // Without `limiter` it is no `{ limiter, key }` form: refused as the wrong shape, naming tokenLimit.
    expect(() => wrapOpenAI(openai, { tokenLimit: { limter: limiter() } } as never)).toThrow(
      invalid('tokenLimit')
    )
  })

  it('accepts every documented option, each a real part, on both wrappers', () => {
    const options = everyOption()
    expect(Object.keys(options).sort()).toEqual([...WRAP_OPTION_KEYS].sort())
    expect(Object.keys(options.tokenLimit).sort()).toEqual([...TOKEN_LIMIT_OPTION_KEYS].sort())
    expect(() => wrapAnthropic(anthropic, options)).not.toThrow()
    expect(() => wrapOpenAI(openai, everyOption())).not.toThrow()
    // A limiter handed in as is (not the { limiter, key } form) keeps all its own fields.
    expect(() => wrapAnthropic(anthropic, { tokenLimit: limiter() })).not.toThrow()
  })
})

describe('aikit({...}) refuses an unknown key', () => {
  it('names a misspelt per-call key (Anthropic and OpenAI)', () => {
    expect(() => aikit({ subjet: 'u1' } as CallOverride)).toThrow(
      invalid('aikit.subjet', '`aikit.subject`')
    )
    expect(() => openaiAikit({ cahce: 'no-store' } as CallOverride)).toThrow(
      invalid('aikit.cahce', '`aikit.cache`')
    )
  })

  it('accepts every documented key', () => {
    const override: Required<CallOverride> = { subject: 'u1', cache: 'no-store' }
    expect(Object.keys(override).sort()).toEqual([...CALL_OVERRIDE_KEYS].sort())
    expect(() => aikit(override, { timeout: 5000 })).not.toThrow()
    expect(() => openaiAikit(override)).not.toThrow()
  })
})

describe('not applied to what is handed through to the SDK', () => {
  it('request params and request options of any shape reach the provider', async () => {
    const client = wrapAnthropic(anthropic, {})
    const answer = await client.messages.create(
      {
        model: 'claude-haiku-4-5',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hi' }],
        metadata: { user_id: 'u-1' },
      },
      aikit(
        { subject: 'u1' },
        { timeout: 5000, headers: { 'x-trace': 't1' }, query: { beta: 'true' } }
      )
    )
    expect(answer.content[0]).toMatchObject({ text: 'Echo: hi' })
    expect(fake.calls[0]?.body).toMatchObject({ metadata: { user_id: 'u-1' } })
    expect(fake.calls[0]?.headers['x-trace']).toBe('t1')
  })
})
