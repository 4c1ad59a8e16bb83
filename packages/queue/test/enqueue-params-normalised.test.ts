/**
 * `params` are read as JSON makes them, once: the checks, the hold's estimate, the held output
 * limit and the dedupe key all see what BullMQ stores and the worker sends. A `toJSON` (at the
 * top or nested) used to be followed by the checks and the key but not by the estimate, which
 * read the object's own fields (a 1-token request held, a 32 000-token one sent). And bad output
 * limits or a getter that throws are a 400, not a raw error or a hold priced on something else.
 */
import { InvalidRequestError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createBudget } from '@aikit/cost'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

const big = () => ({
  model: 'claude-haiku-4-5',
  max_tokens: 32_000,
  messages: [{ role: 'user', content: 'a'.repeat(20_000) }],
})

describe('params with a toJSON', () => {
  it('are held, stored and sent as their JSON (top level and nested)', async () => {
    const name = h.name()
    const budget = createBudget({
      store: redisStore(h.redis.client(), { prefix: name, commandTimeoutMs: 5000 }),
      limits: [{ period: 'rolling', window: '1d', usd: 100 }],
    })
    const q = h.queue({ name, budget })
    const plain = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'plain',
      params: big(),
    })
    const top = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'top',
      params: {
        model: 'claude-haiku-4-5',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'a' }],
        toJSON: () => big(),
      },
    })
    const nested = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'nested',
      params: { ...big(), messages: { toJSON: () => big().messages } },
    })
    const held = async (s: string) => (await budget.spend(s)).heldMicros
    const plainHeld = await held('plain')
    expect(plainHeld).toBeGreaterThan(0)
    expect(await held('top')).toBe(plainHeld)
    expect(await held('nested')).toBe(plainHeld)
    for (const { jobId } of [plain, top, nested]) {
      expect((await q.queue.getJob(jobId))?.data.params).toEqual(big())
    }
  })
})

describe('bad params', () => {
  const base = () => ({
    model: 'claude-haiku-4-5',
    max_tokens: 10,
    messages: [{ role: 'user', content: 'a' }],
  })
  const bad: [string, () => Record<string, unknown>, string][] = [
    ['a string max_tokens', () => ({ ...base(), max_tokens: '100000' }), 'max_tokens'],
    ['a negative max_tokens', () => ({ ...base(), max_tokens: -5 }), 'max_tokens'],
    [
      'a getter that throws',
      () =>
        Object.defineProperty(base(), 'boom', {
          enumerable: true,
          get() {
            throw new Error('x')
          },
        }),
      'params.boom',
    ],
  ]
  for (const [what, params, field] of bad) {
    it(`${what} is a 400 naming ${field}`, async () => {
      const q = h.queue({ name: h.name() })
      const error = await q
        .enqueue({ provider: 'anthropic', api: 'messages', subject: 'u', params: params() })
        .then(
          () => undefined,
          (e: unknown) => e
        )
      expect(error).toBeInstanceOf(InvalidRequestError)
      expect((error as InvalidRequestError).details).toMatchObject({ field })
    })
  }
  it('a negative max_output_tokens (Responses) and a string max_completion_tokens (Chat) are 400s', async () => {
    const q = h.queue({ name: h.name() })
    for (const [api, params] of [
      ['responses', { model: 'gpt-4o-mini', input: 'a', max_output_tokens: -1 }],
      ['chat', { model: 'gpt-4o-mini', messages: [], max_completion_tokens: '9' }],
    ] as const) {
      await expect(
        q.enqueue({ provider: 'openai', api, subject: 'u', params: { ...params } })
      ).rejects.toBeInstanceOf(InvalidRequestError)
    }
  })
})
