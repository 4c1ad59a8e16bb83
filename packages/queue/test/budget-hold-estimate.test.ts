/**
 * The enqueue hold covers the request's worst case as `@aikit/llm` prices it (the worker's
 * wrapped client has no budget: the queue's hold is the only protection), and a request without
 * an output limit is sent with the one that was held.
 */
import { redisStore } from '@aikit/core/redis'
import { createBudget } from '@aikit/cost'
import type { LlmApi, LlmProvider } from '@aikit/queue'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

const budgetOn = (usd: number) =>
  createBudget({
    store: redisStore(h.redis.client(), {
      prefix: `b${Math.random().toString(36).slice(2, 8)}`,
      commandTimeoutMs: 5000,
    }),
    limits: [{ period: 'rolling', window: '1d', usd }],
  })

/** The µ$ a fresh queue holds for one job (no worker: the job stays pending). */
async function heldFor(
  provider: LlmProvider,
  api: LlmApi,
  params: Record<string, unknown>
): Promise<number> {
  const budget = budgetOn(1000)
  const q = h.queue({ name: h.name(), budget })
  await q.enqueue({ provider, api, subject: 'est', params })
  return (await budget.status('est')).tightest?.heldMicros ?? 0
}

describe('the budget hold covers the worst case of the request', () => {
  it("holds a `service_tier: 'priority'` job at the priority rates", async () => {
    const base = { model: 'gpt-4o', max_output_tokens: 1000, input: 'hi' }
    const standard = await heldFor('openai', 'responses', base)
    const priority = await heldFor('openai', 'responses', { ...base, service_tier: 'priority' })
    expect(priority).toBeGreaterThan(standard)
    const chat = { model: 'gpt-4o', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] }
    expect(await heldFor('openai', 'chat', { ...chat, service_tier: 'priority' })).toBeGreaterThan(
      await heldFor('openai', 'chat', chat)
    )
  })

  it("counts a Responses job's tool outputs (input items without a role) as input", async () => {
    const base = {
      model: 'gpt-4o',
      max_output_tokens: 16,
      input: [{ role: 'user', content: 'summarise the file' }],
    }
    const withToolOutput = {
      ...base,
      input: [
        ...base.input,
        { type: 'function_call', call_id: 'c1', name: 'read', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: 'lorem ipsum '.repeat(5000) },
      ],
    }
    const small = await heldFor('openai', 'responses', base)
    const big = await heldFor('openai', 'responses', withToolOutput)
    expect(big).toBeGreaterThan(10 * small)
  })

  it('holds the input of an Anthropic job with a cache_control breakpoint at the cache-write price', async () => {
    const long = 'lorem ipsum '.repeat(5000)
    const withBlock = (block: Record<string, unknown>) => ({
      model: 'claude-haiku-4-5',
      max_tokens: 1,
      messages: [{ role: 'user', content: [{ type: 'text', text: long, ...block }] }],
    })
    const plain = await heldFor('anthropic', 'messages', withBlock({}))
    const fiveMin = await heldFor(
      'anthropic',
      'messages',
      withBlock({ cache_control: { type: 'ephemeral' } })
    )
    const oneHour = await heldFor(
      'anthropic',
      'messages',
      withBlock({ cache_control: { type: 'ephemeral', ttl: '1h' } })
    )
    expect(fiveMin).toBeGreaterThan(plain)
    expect(oneHour).toBeGreaterThan(fiveMin)
  })
})

describe('the hold is the one `@aikit/llm` computes for the same request', () => {
  it("counts a structured output's JSON schema as input (Chat, Responses, Anthropic)", async () => {
    const schema = {
      type: 'object',
      properties: Object.fromEntries(
        Array.from({ length: 400 }, (_, i) => [`field_${i}`, { type: 'string' }])
      ),
    }
    const format = { type: 'json_schema', name: 'out', schema }
    const chat = { model: 'gpt-4o', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }
    expect(
      await heldFor('openai', 'chat', {
        ...chat,
        response_format: { type: 'json_schema', json_schema: format },
      })
    ).toBeGreaterThan(10 * (await heldFor('openai', 'chat', chat)))
    const responses = { model: 'gpt-4o', max_output_tokens: 16, input: 'hi' }
    expect(
      await heldFor('openai', 'responses', { ...responses, text: { format } })
    ).toBeGreaterThan(10 * (await heldFor('openai', 'responses', responses)))
    const claude = {
      model: 'claude-haiku-4-5',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    }
    expect(
      await heldFor('anthropic', 'messages', {
        ...claude,
        output_config: { format: { type: 'json_schema', schema } },
      })
    ).toBeGreaterThan(10 * (await heldFor('anthropic', 'messages', claude)))
  })

  it("holds an Anthropic job asking for fast mode at the model's fast-mode rates", async () => {
    const claude = {
      model: 'claude-opus-4-6',
      max_tokens: 1000,
      messages: [{ role: 'user', content: 'hi' }],
    }
    const standard = await heldFor('anthropic', 'messages', claude)
    expect(await heldFor('anthropic', 'messages', { ...claude, speed: 'fast' })).toBeGreaterThan(
      5 * standard
    )
  })
})

describe('a held request without an output limit', () => {
  it('a held Chat job whose request sets no output limit is sent with the limit that was held', async () => {
    const name = h.name()
    const budget = budgetOn(1)
    const q = h.queue({ name, budget, defaultMaxOutputTokens: 64 })
    h.provider.reset()
    h.worker({ name, budget })
    const { jobId } = await q.enqueue({
      provider: 'openai',
      api: 'chat',
      subject: 'cap',
      params: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'write a novel' }] },
    })
    await q.result(jobId)
    const body = h.provider.calls[0]?.body as Record<string, unknown>
    expect(body.max_completion_tokens).toBe(64)
  })

  it('a held Responses job whose request sets no output limit is sent with the limit that was held', async () => {
    const name = h.name()
    const budget = budgetOn(1)
    const q = h.queue({ name, budget, defaultMaxOutputTokens: 64 })
    h.provider.reset()
    h.worker({ name, budget })
    const { jobId } = await q.enqueue({
      provider: 'openai',
      api: 'responses',
      subject: 'cap',
      params: { model: 'gpt-4o-mini', input: 'write a novel' },
    })
    await q.result(jobId)
    const body = h.provider.calls[0]?.body as Record<string, unknown>
    expect(body.max_output_tokens).toBe(64)
  })

  it("a request's own limit is sent as it is", async () => {
    const name = h.name()
    const budget = budgetOn(1)
    const q = h.queue({ name, budget, defaultMaxOutputTokens: 64 })
    h.provider.reset()
    h.worker({ name, budget })
    const { jobId } = await q.enqueue({
      provider: 'openai',
      api: 'chat',
      subject: 'own',
      params: {
        model: 'gpt-4o-mini',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'short story' }],
      },
    })
    await q.result(jobId)
    const body = h.provider.calls[0]?.body as Record<string, unknown>
    expect(body.max_tokens).toBe(100)
    expect(body.max_completion_tokens).toBeUndefined()
  })
})
