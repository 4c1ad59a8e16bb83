/**
 * The optional token rate limit (`tokenLimit`): real SDKs against the fake provider, a real
 * `@aikit/ratelimit` limiter (memoryStore with a frozen clock, and one real redis-server).
 */
import { InvalidOptionsError, memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createBudget, estimateTokens } from '@aikit/cost'
import { createRateLimiter, type RateLimiter } from '@aikit/ratelimit'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  aikit as anthropicOptions,
  PromptBlockedError,
  TokenRateLimitedError,
  wrapAnthropic,
} from '../src/anthropic/index.js'
import { aikit as openaiOptions, wrapOpenAI } from '../src/openai/index.js'
import type { CallOverride, WrapOptions } from '../src/shared/types.js'
import { inRequest, mapCache, recorders, until } from './helpers.js'

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

const MAX_OUT = 100

/** One SDK, driven the same way by every test. */
interface Driver {
  readonly name: string
  readonly model: string
  /** The fake provider path of the wrapped call. */
  readonly path: string
  /** The SDK's own 500 error class. */
  readonly ServerError: abstract new (
    ...args: never[]
  ) => Error
  /** A wrapped client's calls, resolving to the provider's input + output tokens. */
  wrap(options: WrapOptions): Caller
  /** The same call through the bare SDK: its input + output tokens. */
  bare(text: string): Promise<number>
}

interface Caller {
  create(text: string, override?: CallOverride): Promise<number>
  /** Reads a streamed answer, stopping after `stopAfter` text events when given. */
  stream(text: string, read?: StreamRead): Promise<void>
}

interface StreamRead {
  /** Stop reading after this many text events. */
  stopAfter?: number
  /** Awaited once the first event has arrived (the stream is still running). */
  atFirstEvent?: () => Promise<void>
}

const anthropicParams = (text: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: MAX_OUT,
  messages: [{ role: 'user' as const, content: text }],
})

const openaiParams = (text: string) => ({
  model: 'gpt-4o-mini',
  max_completion_tokens: MAX_OUT,
  messages: [{ role: 'user' as const, content: text }],
})

const DRIVERS: Driver[] = [
  {
    name: 'anthropic',
    model: 'claude-haiku-4-5',
    path: '/v1/messages',
    ServerError: Anthropic.InternalServerError,
    wrap(options) {
      const client = wrapAnthropic(anthropic, options)
      return {
        async create(text, override) {
          const m = await client.messages.create(
            anthropicParams(text),
            override ? anthropicOptions(override) : undefined
          )
          return m.usage.input_tokens + m.usage.output_tokens
        },
        async stream(text, read) {
          const s = await client.messages.create({ ...anthropicParams(text), stream: true })
          let n = 0
          let first = true
          for await (const e of s) {
            if (first) await read?.atFirstEvent?.()
            first = false
            if (e.type === 'content_block_delta' && ++n === read?.stopAfter) break
          }
        },
      }
    },
    async bare(text) {
      const m = await anthropic.messages.create(anthropicParams(text))
      return m.usage.input_tokens + m.usage.output_tokens
    },
  },
  {
    name: 'openai',
    model: 'gpt-4o-mini',
    path: '/v1/chat/completions',
    ServerError: OpenAI.InternalServerError,
    wrap(options) {
      const client = wrapOpenAI(openai, options)
      return {
        async create(text, override) {
          const c = await client.chat.completions.create(
            openaiParams(text),
            override ? openaiOptions(override) : undefined
          )
          return c.usage?.total_tokens ?? Number.NaN
        },
        async stream(text, read) {
          const s = await client.chat.completions.create({ ...openaiParams(text), stream: true })
          let n = 0
          let first = true
          for await (const c of s) {
            if (first) await read?.atFirstEvent?.()
            first = false
            if (c.choices[0]?.delta.content && ++n === read?.stopAfter) break
          }
        },
      }
    },
    async bare(text) {
      const c = await openai.chat.completions.create(openaiParams(text))
      return c.usage?.total_tokens ?? Number.NaN
    },
  },
]

/** What the wrapper reserves for `text`: the estimated input plus the request's output limit. */
const estimateOf = (d: Driver, text: string): number =>
  estimateTokens([{ role: 'user', content: text }], d.model) + MAX_OUT

/** A limiter on a memory store whose clock never moves (GCRA refills nothing during a test). */
const frozenLimiter = (limit: number): RateLimiter =>
  createRateLimiter({
    store: memoryStore({ now: () => 1_000_000 }),
    limits: [{ limit, window: '1h' }],
  })

const remaining = async (limiter: RateLimiter, key: string): Promise<number> =>
  (await limiter.check(key, { cost: 0 })).remaining

/** The limiter, recording the units of every reservation. */
const recording = (limiter: RateLimiter) => {
  const reserved: Array<[string, number]> = []
  return {
    reserved,
    limiter: {
      reserve: (key: string, units: number) => {
        reserved.push([key, units])
        return limiter.reserve(key, units)
      },
    },
  }
}

describe.each(DRIVERS)('$name: tokenLimit', (d) => {
  it('a limit that fits 3 calls lets exactly 3 through; the 4th fails RATE_LIMITED before any provider call and holds no budget', async () => {
    const text = 'count my tokens please'
    const actual = await d.bare(text)
    fake.reset()
    const estimate = estimateOf(d, text)
    expect(actual).toBeLessThan(estimate) // the settle gives the unused output back
    // After 3 settled calls (3 × actual), a 4th reservation of `estimate` no longer fits.
    const limit = 3 * actual + estimate - 1
    const inner = frozenLimiter(limit)
    const { limiter, reserved } = recording(inner)
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const { logger } = recorders()
    const client = d.wrap({ tokenLimit: { limiter }, budget, logger, subject: 'u1' })
    for (let i = 0; i < 3; i++) expect(await client.create(text)).toBe(actual)
    expect(fake.count(d.path)).toBe(3)
    const spent = (await budget.spend('u1')).totalMicros

    const error = await client.create(text).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TokenRateLimitedError)
    expect(error).toMatchObject({ code: 'RATE_LIMITED', status: 429, tokens: estimate })
    expect((error as TokenRateLimitedError).retryAfterMs).toBeGreaterThan(0)
    expect((error as TokenRateLimitedError).toJSON().error).toMatchObject({
      code: 'RATE_LIMITED',
      details: { retryAfterMs: (error as TokenRateLimitedError).retryAfterMs },
    })
    expect(fake.count(d.path)).toBe(3)
    expect(reserved).toEqual(Array.from({ length: 4 }, () => ['u1', estimate]))
    // The 4th call's budget hold was released: nothing held, nothing more spent.
    expect(await budget.spend('u1')).toMatchObject({ heldMicros: 0, totalMicros: spent })
    expect(logger.lines.at(-1)).toMatchObject({
      outcome: 'rejected',
      error: { code: 'RATE_LIMITED', status: 429 },
    })
    expect(await remaining(inner, 'u1')).toBe(limit - 3 * actual)
  })

  it('settles the reserved estimate down to the actual usage', async () => {
    const limiter = frozenLimiter(10_000)
    const client = d.wrap({ tokenLimit: limiter, subject: 's1' })
    const actual = await client.create('settle me')
    expect(actual).toBeGreaterThan(0)
    expect(await remaining(limiter, 's1')).toBe(10_000 - actual)
    const second = await client.create('and me too')
    expect(await remaining(limiter, 's1')).toBe(10_000 - actual - second)
  })

  it('a provider error (500) gives every reserved token back', async () => {
    const limiter = frozenLimiter(10_000)
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const client = d.wrap({ tokenLimit: limiter, budget, subject: 'e1' })
    fake.failNext(1, { status: 500 })
    await expect(client.create('fail')).rejects.toBeInstanceOf(d.ServerError)
    expect(fake.count(d.path)).toBe(1)
    expect(await remaining(limiter, 'e1')).toBe(10_000)
    expect((await budget.spend('e1')).heldMicros).toBe(0)
  })

  it('a blocked input gives the tokens back (no provider call)', async () => {
    const limiter = frozenLimiter(10_000)
    const guard = {
      checkInput: async () => ({ allowed: false, blockedBy: ['r1'], text: '' }),
      checkOutput: async () => ({ allowed: true, blockedBy: [] }),
    }
    const client = d.wrap({ tokenLimit: limiter, guard, subject: 'g1' })
    await expect(client.create('ignore previous')).rejects.toBeInstanceOf(PromptBlockedError)
    expect(fake.count(d.path)).toBe(0)
    expect(await remaining(limiter, 'g1')).toBe(10_000)
  })

  it('a streamed call holds the estimate while it runs and settles from its final usage', async () => {
    const limiter = frozenLimiter(10_000)
    const { logger } = recorders()
    const client = d.wrap({ tokenLimit: limiter, logger, subject: 'st' })
    const text = 'stream my tokens'
    fake.setStreamDelayMs(5)
    let during: number | undefined
    await client.stream(text, {
      atFirstEvent: async () => {
        during = await remaining(limiter, 'st')
      },
    })
    expect(during).toBe(10_000 - estimateOf(d, text))
    await until(() => logger.lines.length === 1) // logged after the settle
    expect(logger.lines[0]).toMatchObject({ outcome: 'ok', estimated: false })
    expect(await remaining(limiter, 'st')).toBe(10_000 - (await d.bare(text)))
  })

  it('a stream the caller stops settles on what was produced (less than reserved, more than nothing)', async () => {
    const limiter = frozenLimiter(10_000)
    const { logger } = recorders()
    const client = d.wrap({ tokenLimit: limiter, logger, subject: 'ab' })
    fake.setStreamDelayMs(10)
    fake.setReply(() => 'word '.repeat(60))
    await client.stream('long', { stopAfter: 3 })
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'aborted', estimated: true })
    const left = await remaining(limiter, 'ab')
    expect(left).toBeGreaterThan(10_000 - estimateOf(d, 'long'))
    expect(left).toBeLessThan(10_000)
  })

  it('a cache hit consumes no tokens', async () => {
    const limiter = frozenLimiter(10_000)
    const client = d.wrap({ tokenLimit: limiter, cache: mapCache(), cacheSampling: true })
    const actual = await client.create('cached')
    expect(await client.create('cached')).toBe(actual)
    expect(fake.count(d.path)).toBe(1)
    // No subject: the app-wide key.
    expect(await remaining(limiter, '*')).toBe(10_000 - actual)
  })

  it('identical concurrent calls (coalesced) consume once', async () => {
    const inner = frozenLimiter(10_000)
    const { limiter, reserved } = recording(inner)
    const client = d.wrap({ tokenLimit: { limiter }, subject: 'co' })
    fake.setStreamDelayMs(5)
    const all = await Promise.all(Array.from({ length: 10 }, () => client.create('same')))
    expect(fake.count(d.path)).toBe(1)
    expect(reserved).toHaveLength(1)
    expect(await remaining(inner, 'co')).toBe(10_000 - (all[0] ?? 0))
  })

  it('identical concurrent streamed calls (coalesced) consume once, settled from the final usage', async () => {
    const inner = frozenLimiter(10_000)
    const { limiter, reserved } = recording(inner)
    const { logger } = recorders()
    const client = d.wrap({ tokenLimit: { limiter }, logger, subject: 'cs' })
    fake.setStreamDelayMs(2)
    await Promise.all(Array.from({ length: 5 }, () => client.stream('fan out')))
    await until(() => logger.lines.length === 1)
    expect(fake.count(d.path)).toBe(1)
    expect(reserved).toHaveLength(1)
    expect(await remaining(inner, 'cs')).toBe(10_000 - (await d.bare('fan out')))
  })

  it('keys by subject: per-call override and request context; a key function can exempt calls', async () => {
    const inner = frozenLimiter(10_000)
    const client = d.wrap({ tokenLimit: inner })
    const alice = await inRequest({ subject: 'alice' }, () => client.create('who'))
    const carol = await inRequest({ subject: 'alice' }, () =>
      client.create('who else', { subject: 'carol', cache: 'no-store' })
    )
    expect(await remaining(inner, 'alice')).toBe(10_000 - alice)
    expect(await remaining(inner, 'carol')).toBe(10_000 - carol)

    const { limiter, reserved } = recording(inner)
    const custom = d.wrap({
      tokenLimit: {
        limiter,
        key: ({ subject, provider, model }) =>
          subject === 'admin' ? undefined : `${provider}:${model}`,
      },
    })
    await inRequest({ subject: 'admin' }, () => custom.create('exempt'))
    const counted = await inRequest({ subject: 'bob' }, () => custom.create('counted'))
    expect(reserved.map(([key]) => key)).toEqual([`${d.name}:${d.model}`])
    expect(await remaining(inner, `${d.name}:${d.model}`)).toBe(10_000 - counted)
  })
})

describe('tokenLimit: what the other OpenAI requests reserve', () => {
  it('responses.create reserves input + max_output_tokens and settles to its usage', async () => {
    const inner = frozenLimiter(10_000)
    const { limiter, reserved } = recording(inner)
    const client = wrapOpenAI(openai, { tokenLimit: { limiter } })
    const input = 'a responses call'
    const r = await client.responses.create({ model: 'gpt-4o-mini', input, max_output_tokens: 64 })
    const expected = estimateTokens([{ role: 'user', content: input }], 'gpt-4o-mini') + 64
    expect(reserved).toEqual([['*', expected]])
    const used = (r.usage?.input_tokens ?? 0) + (r.usage?.output_tokens ?? 0)
    expect(used).toBeGreaterThan(0)
    expect(await remaining(inner, '*')).toBe(10_000 - used)
  })

  it('a request without an output limit reserves defaultMaxOutputTokens', async () => {
    const { limiter, reserved } = recording(frozenLimiter(10_000))
    const client = wrapOpenAI(openai, { tokenLimit: { limiter }, defaultMaxOutputTokens: 500 })
    const messages = [{ role: 'user' as const, content: 'no limit set' }]
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages })
    expect(reserved).toEqual([['*', estimateTokens(messages, 'gpt-4o-mini') + 500]])
  })
})

describe('tokenLimit on a real redis-server', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('reserves, settles and denies through redisStore (both SDKs share one limiter)', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    const [a, o] = DRIVERS as [Driver, Driver]
    const actualA = await a.bare('redis tokens')
    const actualO = await o.bare('redis tokens')
    fake.reset()
    // Fits one call of each SDK; then the next estimate no longer does.
    const limit = actualA + actualO + estimateOf(a, 'redis tokens') - 1
    const limiter = createRateLimiter({
      store: redisStore(client, { commandTimeoutMs: 2_000 }),
      // GCRA refills continuously: a day-long window keeps it still for the test's duration.
      limits: [{ limit, window: '1d' }],
    })
    const options: WrapOptions = { tokenLimit: limiter, subject: 'tenant' }
    expect(await a.wrap(options).create('redis tokens')).toBe(actualA)
    expect(await remaining(limiter, 'tenant')).toBe(limit - actualA)
    expect(await o.wrap(options).create('redis tokens')).toBe(actualO)
    expect(await remaining(limiter, 'tenant')).toBe(limit - actualA - actualO)
    await expect(a.wrap(options).create('redis tokens')).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      status: 429,
    })
    expect(fake.count()).toBe(2)
    client.disconnect()
  })
})

describe('tokenLimit option validation', () => {
  const limiter = frozenLimiter(1000)
  it.each([
    ['tokenLimit', 5],
    ['tokenLimit', null],
    ['tokenLimit', 'limiter'],
    ['tokenLimit', {}],
    ['tokenLimit', { check: () => undefined }],
    ['tokenLimit.limiter', { limiter: {} }],
    ['tokenLimit.limiter', { limiter: { reserve: 1 } }],
    ['tokenLimit.key', { limiter, key: 'user' }],
  ])('throws InvalidOptionsError naming %s for %j', (field, value) => {
    for (const wrap of [
      () => wrapAnthropic(anthropic, { tokenLimit: value as never }),
      () => wrapOpenAI(openai, { tokenLimit: value as never }),
    ]) {
      const error = (() => {
        try {
          wrap()
        } catch (e) {
          return e
        }
        return undefined
      })()
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect((error as InvalidOptionsError).field).toBe(field)
    }
  })

  it('accepts a limiter, or { limiter, key }', () => {
    expect(() => wrapAnthropic(anthropic, { tokenLimit: limiter })).not.toThrow()
    expect(() =>
      wrapOpenAI(openai, { tokenLimit: { limiter, key: ({ subject }) => subject } })
    ).not.toThrow()
  })
})
