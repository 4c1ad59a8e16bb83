/**
 * `enqueue` refuses, with InvalidRequestError (400), params a queued job cannot carry: params that
 * are not JSON data (or that JSON would change: NaN, Infinity, a Map, a Set, a class instance; a
 * `toJSON` is honoured and its result checked), and a Chat request for several choices (a job
 * streams one text).
 */
import { InvalidRequestError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createBudget } from '@aikit/cost'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

const errorOf = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e
  )

describe('params that are not JSON data', () => {
  // They used to reach the key's hashing: a raw TypeError (BigInt) or RangeError (cycle), a 500.
  it('a BigInt, a cycle or a function in params is refused with InvalidRequestError (400) naming it', async () => {
    const q = h.queue({ name: h.name() })
    const circular: Record<string, unknown> = { ...messages('x') }
    circular.metadata = { self: circular }
    const cases: [Record<string, unknown>, string][] = [
      [{ ...messages('x'), metadata: { user_id: 10n } }, 'params.metadata.user_id'],
      [circular, 'params.metadata.self'],
      [{ ...messages('x'), metadata: { f: () => 1 } }, 'params.metadata.f'],
    ]
    for (const [params, field] of cases) {
      const error = await errorOf(
        q.enqueue({ provider: 'anthropic', api: 'messages', subject: 'bad', params })
      )
      expect(error).toBeInstanceOf(InvalidRequestError)
      expect(error).toMatchObject({ status: 400, details: { field } })
    }
    expect(await q.queue.count()).toBe(0)
  })

  it('shared (not circular) objects and undefined members are fine', async () => {
    const q = h.queue({ name: h.name() })
    const shared = { role: 'user', content: 'same' }
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'ok',
      params: { ...messages('x'), messages: [shared, shared], metadata: undefined },
    })
    expect(typeof jobId).toBe('string')
  })
})

describe('params JSON would change silently', () => {
  // JSON writes NaN and ±Infinity as `null` and a Map or a Set as `{}`: they were accepted and the
  // request sent changed (`max_completion_tokens: Infinity`, held at `defaultMaxOutputTokens`,
  // went out as `null`: no limit at all; a Map of metadata went out empty).
  it('NaN, ±Infinity, a Map, a Set or a class instance is refused with a 400 naming it', async () => {
    const q = h.queue({ name: h.name() })
    class Tag {
      constructor(readonly hidden = 'kept out of JSON') {}
      get label(): string {
        return this.hidden
      }
    }
    const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'write a novel' }] }
    const cases: [Record<string, unknown>, string][] = [
      [
        { ...chat, max_completion_tokens: Number.POSITIVE_INFINITY },
        'params.max_completion_tokens',
      ],
      [{ ...chat, temperature: Number.NaN }, 'params.temperature'],
      [{ ...chat, logit_bias: { '50256': Number.NEGATIVE_INFINITY } }, 'params.logit_bias.50256'],
      [{ ...chat, metadata: new Map([['user_id', 'u-42']]) }, 'params.metadata'],
      [{ ...chat, stop: new Set(['END']) }, 'params.stop'],
      [{ ...chat, metadata: { tag: new Tag() } }, 'params.metadata.tag'],
    ]
    for (const [params, field] of cases) {
      const error = await errorOf(
        q.enqueue({ provider: 'openai', api: 'chat', subject: 'lossy', params })
      )
      expect(error).toBeInstanceOf(InvalidRequestError)
      expect(error).toMatchObject({ status: 400, details: { field } })
    }
    expect(await q.queue.count()).toBe(0)
  })

  it('a Chat job with max_completion_tokens: Infinity is refused, not sent unlimited', async () => {
    const budget = createBudget({
      store: redisStore(h.redis.client(), {
        prefix: `ei${Math.random().toString(36).slice(2)}`,
        commandTimeoutMs: 5_000,
      }),
      limits: [{ period: 'rolling', window: '1d', usd: 1 }],
    })
    const name = h.name()
    const q = h.queue({ name, budget, defaultMaxOutputTokens: 64 })
    const error = await errorOf(
      q.enqueue({
        provider: 'openai',
        api: 'chat',
        subject: 'inf',
        params: {
          model: 'gpt-4o-mini',
          max_completion_tokens: Number.POSITIVE_INFINITY,
          messages: [{ role: 'user', content: 'write a novel' }],
        },
      })
    )
    expect(error).toMatchObject({ status: 400, details: { field: 'params.max_completion_tokens' } })
    expect(await q.queue.count()).toBe(0)
    expect((await budget.spend('inf')).heldMicros).toBe(0)
  })
})

describe('a value with its own JSON (toJSON)', () => {
  // `checkJsonData` stopped at a `toJSON` without looking at what it returns: a BigInt from it
  // reached BullMQ's JSON.stringify of the job data, a raw TypeError (a 500), after the hold and
  // the meta key were written. What a `toJSON` returns is now checked like any value.
  it('a toJSON that returns a BigInt, a Map or throws is refused with a 400 naming it', async () => {
    const q = h.queue({ name: h.name() })
    const cases: [unknown, string][] = [
      [{ toJSON: () => 42n }, 'params.metadata.user_id'],
      [{ toJSON: () => new Map([['a', 1]]) }, 'params.metadata.user_id'],
      [{ toJSON: () => ({ deep: [Number.NaN] }) }, 'params.metadata.user_id.deep[0]'],
      [
        {
          toJSON: () => {
            throw new Error('no JSON for you')
          },
        },
        'params.metadata.user_id',
      ],
    ]
    for (const [value, field] of cases) {
      const error = await errorOf(
        q.enqueue({
          provider: 'anthropic',
          api: 'messages',
          subject: 'tojson',
          params: { ...messages('x'), metadata: { user_id: value } },
        })
      )
      expect(error).toBeInstanceOf(InvalidRequestError)
      expect(error).toMatchObject({ status: 400, details: { field } })
    }
    expect(await q.queue.count()).toBe(0)
  })

  it('a Date, a URL and a null-prototype object are JSON data', async () => {
    const q = h.queue({ name: h.name() })
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { user_id: 'u-1' })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'ok',
      params: {
        ...messages('x'),
        metadata: bare,
        extra: { at: new Date(0), link: new URL('https://a.example/') },
      },
    })
    const job = await q.queue.getJob(jobId)
    expect(job?.data.params).toMatchObject({
      metadata: { user_id: 'u-1' },
      extra: { at: '1970-01-01T00:00:00.000Z', link: 'https://a.example/' },
    })
  })
})

describe('a Chat Completions job asks for one choice', () => {
  // A streamed answer with `n` choices interleaves them: the job's text mixed the choices word
  // by word, an answer no choice gave. A queued job streams one text: `n > 1` is refused.
  it('n > 1 is refused at enqueue with InvalidRequestError (400) naming `n`', async () => {
    const q = h.queue({ name: h.name() })
    const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }
    const error = await errorOf(
      q.enqueue({ provider: 'openai', api: 'chat', subject: 'nn', params: { ...chat, n: 2 } })
    )
    expect(error).toBeInstanceOf(InvalidRequestError)
    expect(error).toMatchObject({ status: 400, details: { field: 'n' } })
    expect((error as Error).message).toContain('n')
    expect(await q.queue.count()).toBe(0)
    const one = await q.enqueue({
      provider: 'openai',
      api: 'chat',
      subject: 'nn',
      params: { ...chat, n: 1 },
    })
    expect(one.deduplicated).toBe(false)
  })
})
