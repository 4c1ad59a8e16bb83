// A per-call option that the wrapper would not see is refused before anything is looked up,
// reserved or sent: a kit option written straight into the SDK's request options
// (`create(params, { subject: id })`, a misspelt `{ subjet }`, `{ cache: 'no-store' }`, a
// wrapper option such as `{ budget }`), which the SDK itself ignores, and an override carried
// under the kit's Symbol key without `aikit()` (as `@aikit/queue` and a second copy of this
// package pass it) with an unknown key or a bad value. Each rejects with InvalidOptionsError
// naming the field; the provider is not called and nothing is charged. The SDK's own request
// options, and keys that name no kit option, still reach the SDK as before.
import { memoryStore } from '@aikit/core'
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aikit, wrapAnthropic } from '../src/anthropic/index.js'
import { aikit as openaiAikit, wrapOpenAI } from '../src/openai/index.js'
import { inRequest, mapCache } from './helpers.js'

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

const invalid = (field: string, hint: string) =>
  expect.objectContaining({
    code: 'INVALID_OPTIONS',
    field,
    message: expect.stringContaining(hint),
  })

const message = (text: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 50,
  temperature: 0,
  messages: [{ role: 'user' as const, content: text }],
})
const chat = (text: string) => ({
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [{ role: 'user' as const, content: text }],
})

/** The kit's override key, as `@aikit/queue` writes it (no `aikit()` call). */
const OVERRIDE = Symbol.for('@aikit/llm.call-options')

function parts() {
  const budget = createBudget({ store: memoryStore(), limits: [{ period: 'day', usd: 10 }] })
  const cache = mapCache()
  const spent = async (subject: string) => {
    const limit = (await budget.status(subject)).tightest
    return (limit?.spentMicros ?? 0) + (limit?.heldMicros ?? 0)
  }
  return { budget, cache, spent }
}

describe('a kit option written among the SDK request options is refused', () => {
  const cases: Array<[options: Record<string, unknown>, field: string, hint: string]> = [
    [{ subject: 'u1' }, 'requestOptions.subject', 'aikit({ subject })'],
    [{ subjet: 'u1' }, 'requestOptions.subjet', 'aikit({ subject })'],
    [{ Subject: 'u1', timeout: 5000 }, 'requestOptions.Subject', 'aikit({ subject })'],
    [{ cache: 'no-store' }, 'requestOptions.cache', 'aikit({ cache })'],
    [{ cahce: 'refresh' }, 'requestOptions.cahce', 'aikit({ cache })'],
    [{ budget: {} }, 'requestOptions.budget', '`budget` is an option of wrapAnthropic'],
    [{ coalesce: false }, 'requestOptions.coalesce', '`coalesce` is an option of wrapAnthropic'],
  ]

  for (const [options, field, hint] of cases) {
    it(`${JSON.stringify(options)}: Anthropic, OpenAI chat and responses reject before any call`, async () => {
      const { budget, cache, spent } = parts()
      const a = wrapAnthropic(anthropic, { budget, cache, subject: 'fallback' })
      const o = wrapOpenAI(openai, { budget, cache, subject: 'fallback' })
      await inRequest({ subject: 'from-context' }, async () => {
        await expect(a.messages.create(message('hi'), options)).rejects.toEqual(
          invalid(field, hint)
        )
        await expect(o.chat.completions.create(chat('hi'), options)).rejects.toEqual(
          invalid(field, hint)
        )
        await expect(
          o.responses.create({ model: 'gpt-4o-mini', input: 'hi' }, options)
        ).rejects.toEqual(invalid(field, hint))
      })
      expect(fake.calls).toHaveLength(0)
      expect(cache.gets).toBe(0)
      for (const subject of ['u1', 'fallback', 'from-context']) {
        expect(await spent(subject)).toBe(0)
      }
    })
  }

  it('aikit(override, requestOptions) refuses one at once', () => {
    expect(() => aikit({ subject: 'u1' }, { subjet: 'u2' } as never)).toThrow(
      invalid('requestOptions.subjet', 'aikit({ subject })')
    )
    expect(() => openaiAikit({}, { cache: 'no-store' } as never)).toThrow(
      invalid('requestOptions.cache', 'aikit({ cache })')
    )
  })
})

describe('an override carried without aikit() is checked per call', () => {
  const cases: Array<[override: unknown, field: string, hint: string]> = [
    [{ subjet: 'u1' }, 'aikit.subjet', '`aikit.subject`'],
    [{ subject: 'u1', budget: 'other' }, 'aikit.budget', 'not a known option'],
    [{ subject: '' }, 'aikit.subject', 'non-empty string'],
    [{ cache: 'off' }, 'aikit.cache', "'no-store'"],
    [null, 'aikit', 'must be an object'],
  ]
  for (const [override, field, hint] of cases) {
    it(`${JSON.stringify(override)}: rejects before any call, nothing charged`, async () => {
      const { budget, cache, spent } = parts()
      const a = wrapAnthropic(anthropic, { budget, cache, subject: 'fallback' })
      const o = wrapOpenAI(openai, { budget, cache, subject: 'fallback' })
      const options = { maxRetries: 0, [OVERRIDE]: override }
      await expect(a.messages.create(message('hi'), options as never)).rejects.toEqual(
        invalid(field, hint)
      )
      await expect(o.chat.completions.create(chat('hi'), options as never)).rejects.toEqual(
        invalid(field, hint)
      )
      expect(fake.calls).toHaveLength(0)
      expect(await spent('fallback')).toBe(0)
      expect(await spent('u1')).toBe(0)
    })
  }

  it('an aikit() override changed after it was made is checked again', async () => {
    const a = wrapAnthropic(anthropic, {})
    const options = aikit({ subject: 'u1' }) as Record<symbol, Record<string, unknown>>
    const override = options[OVERRIDE] as Record<string, unknown>
    override.subjet = override.subject
    delete override.subject
    await expect(a.messages.create(message('hi'), options as never)).rejects.toEqual(
      invalid('aikit.subjet', '`aikit.subject`')
    )
    expect(fake.calls).toHaveLength(0)
  })
})

describe('valid per-call options are unchanged', () => {
  it("the SDK's own request options, the override and keys naming no kit option reach the provider", async () => {
    const { budget, spent } = parts()
    const a = wrapAnthropic(anthropic, { budget })
    const o = wrapOpenAI(openai, { budget })
    await a.messages.create(
      message('one'),
      aikit(
        { subject: 'u1', cache: 'no-store' },
        {
          timeout: 5000,
          maxRetries: 0,
          headers: { 'x-trace': 't1' },
          query: { beta: 'true' },
          idempotencyKey: 'k1',
          signal: new AbortController().signal,
        }
      )
    )
    await o.chat.completions.create(
      chat('two'),
      openaiAikit({ subject: 'u1' }, { timeout: 5000, headers: { 'x-trace': 't2' } })
    )
    // A key that names no kit option is the SDK's business, as with the bare SDK.
    await o.responses.create({ model: 'gpt-4o-mini', input: 'three' }, {
      ...(openaiAikit({ subject: 'u1' }) as object),
      somethingNewer: true,
    } as never)
    // The queue's form: the override under the Symbol key, no aikit() call.
    await a.messages.create(message('four'), {
      maxRetries: 0,
      [OVERRIDE]: { subject: 'u1', cache: 'refresh' },
    } as never)
    expect(fake.calls).toHaveLength(4)
    expect(fake.calls[0]?.headers['x-trace']).toBe('t1')
    expect(fake.calls[1]?.headers['x-trace']).toBe('t2')
    expect(await spent('u1')).toBeGreaterThan(0)
  })
})
