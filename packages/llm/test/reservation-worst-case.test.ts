/**
 * The wrapper's reservation holds the call's whole worst case before the provider call, so a budget
 * is never overspent: every Responses input item (tool calls and tool outputs too), Anthropic
 * `cache_control` writes at the cache-write price of the longest TTL asked for, and an OpenAI
 * `service_tier` at that tier's rates. Streams (which count the input once for the meter) hold the
 * same as non-streamed calls. The real SDKs call the fake provider; it holds the request
 * (`holdNext`) while the test reads what the budget holds, then answers.
 */
import { type Budget, createBudget, estimateTokens, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { cacheWriteOf } from '../src/anthropic/cache-write.js'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { anthropicMessages } from '../src/anthropic/spec.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { openaiChat, openaiResponses } from '../src/openai/spec.js'

let fake: FakeProvider

beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const MESSAGES = '/v1/messages'
const CHAT = '/v1/chat/completions'
const RESPONSES = '/v1/responses'

const anthropicOn = (budget: Budget) =>
  wrapAnthropic(new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 }), {
    budget,
    subject: 'u1',
  })
const openaiOn = (budget: Budget) =>
  wrapOpenAI(new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 }), {
    budget,
    subject: 'u1',
  })

/**
 * What `budget` held for `u1` while the provider had the request of `call` (the fake holds it
 * until read): the call is then answered and, for a stream, read to its end.
 */
async function heldDuring(budget: Budget, call: () => Promise<unknown>): Promise<number> {
  const hold = fake.holdNext()
  const answered = call().then(async (res) => {
    if (typeof (res as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      for await (const _ of res as AsyncIterable<unknown>) void _
    }
  })
  await Promise.race([
    hold.reached,
    answered.then(() => {
      throw new Error('answered without reaching the provider')
    }),
  ])
  const held = (await budget.spend('u1')).heldMicros
  hold.release()
  await answered
  expect(fake.count()).toBe(1)
  return held
}

/** The call's rejection (`undefined` if it resolved). */
const rejection = (call: PromiseLike<unknown>): Promise<unknown> =>
  Promise.resolve(call).then(
    () => undefined,
    (e: unknown) => e
  )

describe('Responses input items without a role', () => {
  const MODEL = 'gpt-5'
  const toolOutput = 'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(6000)
  const input = [
    { role: 'user', content: 'Summarise the file.' },
    { type: 'function_call', call_id: 'call_1', name: 'read_file', arguments: '{"path":"a.txt"}' },
    { type: 'function_call_output', call_id: 'call_1', output: toolOutput },
  ]
  const inputTokens = estimateTokens(input as never, MODEL)

  it('counts function_call_output items: a tool output alone over the budget is rejected before the provider call', async () => {
    const worst = priceOf(MODEL, { inputTokens, outputTokens: 100 })
    const budget = createBudget({ limits: [{ period: 'day', micros: Math.floor(worst / 2) }] })
    const error = await rejection(
      openaiOn(budget).responses.create({
        model: MODEL,
        input: input as never,
        max_output_tokens: 100,
      })
    )
    expect(error).toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(fake.count(RESPONSES)).toBe(0)
  })

  it('holds every object item of the input (tool calls and outputs), as estimateTokens counts them', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const client = openaiOn(budget)
    const held = await heldDuring(budget, () =>
      client.responses.create({ model: MODEL, input: input as never, max_output_tokens: 100 })
    )
    expect(held).toBe(priceOf(MODEL, { inputTokens, outputTokens: 100 }))
    // The provider had every item.
    expect(fake.calls[0]?.body).toMatchObject({ input })
  })

  it('the estimate keeps every object item and skips anything else', () => {
    const mixed = [...input, 'stray', null, 7]
    const e = openaiResponses.estimate({ model: MODEL, input: mixed }, 10)
    expect(e.messages).toEqual(input)
    // Every item an object: the caller's array itself (no copy).
    const all = openaiResponses.estimate({ model: MODEL, input }, 10)
    expect(all.messages).toBe(input)
  })
})

describe('Anthropic cache_control writes', () => {
  const MODEL = 'claude-sonnet-4-5'
  const longText = 'You are a helpful assistant for the ACME support desk. '.repeat(400)
  const messages = [{ role: 'user' as const, content: 'hello' }]
  const system1h = [
    {
      type: 'text' as const,
      text: longText,
      cache_control: { type: 'ephemeral' as const, ttl: '1h' as const },
    },
  ]

  it('holds a 1-hour cache write at the cache-write price: the budget is not overspent', async () => {
    const E = estimateTokens(messages, MODEL, { system: system1h })
    // The plain-input worst case is the limit: a hold at the 1-hour write price (2×) does not fit.
    const limit = priceOf(MODEL, { inputTokens: E, outputTokens: 10 })
    const budget = createBudget({ limits: [{ period: 'day', micros: limit }] })
    const error = await rejection(
      anthropicOn(budget).messages.create({
        model: MODEL,
        max_tokens: 10,
        system: system1h,
        messages,
      })
    )
    expect(error).toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(fake.count(MESSAGES)).toBe(0)
    expect((await budget.spend('u1')).totalMicros).toBeLessThanOrEqual(limit)
  })

  it.each([false, true])(
    'holds the whole input at the 1-hour write price (stream: %s)',
    async (stream) => {
      const E = estimateTokens(messages, MODEL, { system: system1h })
      const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
      const client = anthropicOn(budget)
      const held = await heldDuring(budget, () =>
        client.messages.create({
          model: MODEL,
          max_tokens: 10,
          system: system1h,
          messages,
          ...(stream ? { stream: true as const } : {}),
        })
      )
      expect(held).toBe(priceOf(MODEL, { inputTokens: 0, cacheWrite1hTokens: E, outputTokens: 10 }))
      // The provider had the 1-hour breakpoint the hold was priced for.
      expect(fake.calls[0]?.body).toMatchObject({ system: system1h })
    }
  )

  it('holds a 5-minute breakpoint on a message block at the 5-minute write price', async () => {
    const blocks = [
      {
        role: 'user' as const,
        content: [
          { type: 'text' as const, text: longText, cache_control: { type: 'ephemeral' as const } },
          { type: 'text' as const, text: 'And a question.' },
        ],
      },
    ]
    const E = estimateTokens(blocks, MODEL)
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const client = anthropicOn(budget)
    const held = await heldDuring(budget, () =>
      client.messages.create({ model: MODEL, max_tokens: 10, messages: blocks })
    )
    expect(held).toBe(priceOf(MODEL, { inputTokens: 0, cacheWrite5mTokens: E, outputTokens: 10 }))
  })

  it('finds the longest TTL on the request, system, tools, message blocks and tool results', () => {
    const cc = (ttl?: '5m' | '1h') => ({ type: 'ephemeral', ...(ttl ? { ttl } : {}) })
    const user = (content: unknown) => ({ messages: [{ role: 'user', content }] })
    expect(
      cacheWriteOf({ messages: [{ role: 'user', content: 'hi' }], system: 'plain' })
    ).toBeUndefined()
    expect(cacheWriteOf({ ...user('hi'), cache_control: cc() })).toBe('5m')
    expect(cacheWriteOf({ ...user('hi'), cache_control: cc('1h') })).toBe('1h')
    expect(
      cacheWriteOf({
        ...user('hi'),
        system: [{ type: 'text', text: 's', cache_control: cc('5m') }],
      })
    ).toBe('5m')
    expect(
      cacheWriteOf({
        ...user('hi'),
        tools: [{ name: 't', input_schema: {}, cache_control: cc('1h') }],
      })
    ).toBe('1h')
    expect(cacheWriteOf(user([{ type: 'text', text: 'x', cache_control: cc() }]))).toBe('5m')
    // A tool result's own content blocks.
    expect(
      cacheWriteOf(
        user([
          {
            type: 'tool_result',
            tool_use_id: 't1',
            content: [{ type: 'text', text: 'r', cache_control: cc('1h') }],
          },
        ])
      )
    ).toBe('1h')
    // The longest TTL wins, wherever it is.
    expect(
      cacheWriteOf({
        system: [{ type: 'text', text: 's', cache_control: cc() }],
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'a', cache_control: cc('5m') }] },
          { role: 'assistant', content: 'b' },
          { role: 'user', content: [{ type: 'text', text: 'c', cache_control: cc('1h') }] },
        ],
      })
    ).toBe('1h')
    // `cache_control: null` (the SDK type allows it) is no breakpoint.
    expect(cacheWriteOf(user([{ type: 'text', text: 'x', cache_control: null }]))).toBeUndefined()
  })

  it('a request without cache_control is held at the plain input price', () => {
    const e = anthropicMessages.estimate({ model: MODEL, max_tokens: 10, messages }, 4096)
    expect(e.cacheWrite).toBeUndefined()
    expect('cacheWrite' in e).toBe(false)
  })
})

describe('Anthropic fast mode and US-only inference', () => {
  const MODEL = 'claude-opus-4-6'
  const messages = [{ role: 'user' as const, content: 'hello' }]

  it.each([false, true])(
    'holds a speed "fast", inference_geo "us" request at those multipliers (stream: %s)',
    async (stream) => {
      const E = estimateTokens(messages, MODEL)
      const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
      const client = anthropicOn(budget)
      const held = await heldDuring(budget, () =>
        client.messages.create({
          model: MODEL,
          max_tokens: 10,
          messages,
          speed: 'fast',
          inference_geo: 'us',
          ...(stream ? { stream: true as const } : {}),
        } as never)
      )
      const plain = priceOf(MODEL, { inputTokens: E, outputTokens: 10 })
      const expected = priceOf(MODEL, {
        inputTokens: E,
        outputTokens: 10,
        speed: 'fast',
        inferenceGeo: 'us',
      })
      expect(expected).toBeGreaterThanOrEqual(plain * 6.6)
      expect(held).toBe(expected)
    }
  )
})

describe('OpenAI service_tier', () => {
  const MODEL = 'gpt-4o'
  const messages = [{ role: 'user' as const, content: 'Write a haiku about budgets.' }]
  const E = estimateTokens(messages, MODEL)

  it('holds a "priority" request at the priority rates: the budget is not overspent', async () => {
    const limit = priceOf(MODEL, { inputTokens: E, outputTokens: 100 })
    const budget = createBudget({ limits: [{ period: 'day', micros: limit }] })
    const error = await rejection(
      openaiOn(budget).chat.completions.create({
        model: MODEL,
        messages,
        max_completion_tokens: 100,
        service_tier: 'priority',
      })
    )
    expect(error).toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(fake.count(CHAT)).toBe(0)
    expect((await budget.spend('u1')).totalMicros).toBeLessThanOrEqual(limit)
  })

  it.each([false, true])(
    "holds chat completions at the requested tier's rates (stream: %s)",
    async (stream) => {
      const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
      const client = openaiOn(budget)
      const held = await heldDuring(budget, () =>
        client.chat.completions.create({
          model: MODEL,
          messages,
          max_completion_tokens: 100,
          service_tier: 'priority',
          ...(stream ? { stream: true as const } : {}),
        })
      )
      expect(held).toBe(
        priceOf(MODEL, { inputTokens: E, outputTokens: 100, serviceTier: 'priority' })
      )
    }
  )

  it('holds a Responses "flex" request at the flex rates', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const client = openaiOn(budget)
    const held = await heldDuring(budget, () =>
      client.responses.create({
        model: 'gpt-5',
        input: 'Hi',
        max_output_tokens: 100,
        service_tier: 'flex',
      })
    )
    const inputTokens = estimateTokens([{ role: 'user', content: 'Hi' }], 'gpt-5')
    expect(held).toBe(priceOf('gpt-5', { inputTokens, outputTokens: 100, serviceTier: 'flex' }))
  })

  it('maps only "priority" and "flex" onto a tier: "auto", "default" and none hold the standard rates', () => {
    for (const tier of ['auto', 'default', 'scale', undefined]) {
      const params = { model: MODEL, messages, ...(tier ? { service_tier: tier } : {}) }
      expect('serviceTier' in openaiChat.estimate(params, 10)).toBe(false)
    }
    expect(
      openaiChat.estimate({ model: MODEL, messages, service_tier: 'priority' }, 10).serviceTier
    ).toBe('priority')
    expect(
      openaiResponses.estimate({ model: MODEL, input: 'x', service_tier: 'flex' }, 10).serviceTier
    ).toBe('flex')
  })
})
