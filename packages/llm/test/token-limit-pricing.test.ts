/**
 * A token limit reads a call's usage to settle, but prices nothing: the price table feeds only the
 * metrics and the log (and a budget uses its own), so a wrapper with just `tokenLimit` must not pay
 * for pricing every call. Real SDKs against the fake provider, a real `@aikit/ratelimit` limiter.
 */
import { memoryStore } from '@aikit/core'
import type { PriceTable } from '@aikit/cost'
import { createRateLimiter, type RateLimiter } from '@aikit/ratelimit'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import type { WrapOptions } from '../src/shared/types.js'
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

/** One wrapped non-streamed call per SDK, resolving to the provider's input + output tokens. */
const DRIVERS = [
  {
    name: 'anthropic',
    call: async (options: WrapOptions, text: string): Promise<number> => {
      const m = await wrapAnthropic(anthropic, options).messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 100,
        messages: [{ role: 'user', content: text }],
      })
      return m.usage.input_tokens + m.usage.output_tokens
    },
  },
  {
    name: 'openai',
    call: async (options: WrapOptions, text: string): Promise<number> => {
      const c = await wrapOpenAI(openai, options).chat.completions.create({
        model: 'gpt-4o-mini',
        max_completion_tokens: 100,
        messages: [{ role: 'user', content: text }],
      })
      return c.usage?.total_tokens ?? Number.NaN
    },
  },
]

/** A price table counting how often it is asked. */
const countingPrices = () => {
  const table = {
    asked: 0,
    priceOf: () => {
      table.asked++
      return 7
    },
  }
  return table
}

const limiterOf = (): RateLimiter =>
  createRateLimiter({
    store: memoryStore({ now: () => 1_000_000 }),
    limits: [{ limit: 10_000, window: '1h' }],
  })

const remaining = async (limiter: RateLimiter, key: string): Promise<number> =>
  (await limiter.check(key, { cost: 0 })).remaining

describe.each(DRIVERS)('$name: tokenLimit and pricing', (d) => {
  it('a token limit alone settles to the actual usage without pricing the call', async () => {
    const prices = countingPrices()
    const limiter = limiterOf()
    const options = {
      tokenLimit: limiter,
      subject: 'p1',
      priceTable: prices as unknown as PriceTable,
    }
    const first = await d.call(options, 'price nothing')
    const second = await d.call(options, 'still nothing')
    expect(await remaining(limiter, 'p1')).toBe(10_000 - first - second)
    expect(prices.asked).toBe(0)
  })

  it('with metrics too, each call is priced once and the cost reaches the metrics', async () => {
    const prices = countingPrices()
    const limiter = limiterOf()
    const { metrics } = recorders()
    const options = {
      tokenLimit: limiter,
      metrics,
      subject: 'p2',
      priceTable: prices as unknown as PriceTable,
    }
    const actual = await d.call(options, 'price me')
    expect(await remaining(limiter, 'p2')).toBe(10_000 - actual)
    expect(prices.asked).toBe(1)
    expect(metrics.calls).toHaveLength(1)
    expect(metrics.calls[0]?.costUsd).toBe(7 / 1_000_000)
  })
})
