/**
 * The wrapper's reservation holds the call's whole worst case before the provider call, so a budget
 * is never overspent: every Responses input item (tool calls and tool outputs too), Anthropic
 * `cache_control` writes at the cache-write price of the longest TTL asked for, and an OpenAI
 * `service_tier` at that tier's rates. Streams (which count the input once for the meter) hold the
 * same as non-streamed calls. Provider answers come from an in-process `fetch` (no network); the
 * held amount is read from inside it, while the call is in flight.
 */
import { type Budget, createBudget, estimateTokens, priceOf } from '@aikit/cost'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { cacheWriteOf } from '../src/anthropic/cache-write.js'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { anthropicMessages } from '../src/anthropic/spec.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { openaiChat, openaiResponses } from '../src/openai/spec.js'

type Rec = Record<string, unknown>

/**
 * A fetch answering every request with `body` (JSON, or an SSE text for a stream), counting the
 * calls and noting what `budget` held for `subject` when the request arrived.
 */
function providerFetch(
  budget: Budget,
  body: unknown,
  sse?: string
): { fetch: typeof fetch; calls: () => number; held: () => number[] } {
  let n = 0
  const held: number[] = []
  return {
    fetch: (async () => {
      n++
      held.push((await budget.spend('u1')).heldMicros)
      return sse === undefined
        ? new Response(JSON.stringify(body), {
            status: 200,
            headers: { 'content-type': 'application/json', 'request-id': 'req_1' },
          })
        : new Response(sse, {
            status: 200,
            headers: { 'content-type': 'text/event-stream', 'request-id': 'req_1' },
          })
    }) as unknown as typeof fetch,
    calls: () => n,
    held: () => held,
  }
}

const anthropicMessage = (model: string, usage: Rec): Rec => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model,
  content: [{ type: 'text', text: 'hi' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage,
})

const anthropicSse = (model: string): string =>
  [
    {
      type: 'message_start',
      message: {
        ...anthropicMessage(model, { input_tokens: 5, output_tokens: 1 }),
        content: [],
        stop_reason: null,
      },
    },
    {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 2 },
    },
    { type: 'message_stop' },
  ]
    .map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
    .join('')

const chatCompletion = (usage: Rec, tier?: string): Rec => ({
  id: 'chatcmpl_1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-2024-08-06',
  ...(tier === undefined ? {} : { service_tier: tier }),
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'ok' },
      finish_reason: 'length',
      logprobs: null,
    },
  ],
  usage,
})

describe('Responses input items without a role', () => {
  const MODEL = 'gpt-5'
  const toolOutput = 'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(6000)
  const input = [
    { role: 'user', content: 'Summarise the file.' },
    { type: 'function_call', call_id: 'call_1', name: 'read_file', arguments: '{"path":"a.txt"}' },
    { type: 'function_call_output', call_id: 'call_1', output: toolOutput },
  ]
  const inputTokens = estimateTokens(input as never, MODEL)
  const response = {
    id: 'resp_1',
    object: 'response',
    created_at: 1,
    status: 'completed',
    model: MODEL,
    output: [],
    usage: {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 100,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: inputTokens + 100,
    },
  }

  it('counts function_call_output items: a tool output alone over the budget is rejected before the provider call', async () => {
    const worst = priceOf(MODEL, { inputTokens, outputTokens: 100 })
    const budget = createBudget({ limits: [{ period: 'day', micros: Math.floor(worst / 2) }] })
    const f = providerFetch(budget, response)
    const client = wrapOpenAI(new OpenAI({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
      budget,
      subject: 'u1',
    })
    const error = await client.responses
      .create({ model: MODEL, input: input as never, max_output_tokens: 100 })
      .then(
        () => undefined,
        (e: unknown) => e
      )
    expect(error).toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(f.calls()).toBe(0)
  })

  it('holds every object item of the input (tool calls and outputs), as estimateTokens counts them', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const f = providerFetch(budget, response)
    const client = wrapOpenAI(new OpenAI({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
      budget,
      subject: 'u1',
    })
    await client.responses.create({ model: MODEL, input: input as never, max_output_tokens: 100 })
    expect(f.held()).toEqual([priceOf(MODEL, { inputTokens, outputTokens: 100 })])
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
    // The provider reports no more input than the (deliberately high) estimate: all of it but the
    // user's words written to the 1-hour cache.
    const written = E - 5
    const f = providerFetch(
      budget,
      anthropicMessage(MODEL, {
        input_tokens: 5,
        cache_creation_input_tokens: written,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: written },
        cache_read_input_tokens: 0,
        output_tokens: 10,
      })
    )
    const client = wrapAnthropic(new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
      budget,
      subject: 'u1',
    })
    const error = await client.messages
      .create({ model: MODEL, max_tokens: 10, system: system1h, messages })
      .then(
        () => undefined,
        (e: unknown) => e
      )
    expect(error).toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(f.calls()).toBe(0)
    expect((await budget.spend('u1')).totalMicros).toBeLessThanOrEqual(limit)
  })

  it.each([false, true])(
    'holds the whole input at the 1-hour write price (stream: %s)',
    async (stream) => {
      const E = estimateTokens(messages, MODEL, { system: system1h })
      const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
      const f = providerFetch(
        budget,
        anthropicMessage(MODEL, { input_tokens: 5, output_tokens: 2 }),
        stream ? anthropicSse(MODEL) : undefined
      )
      const client = wrapAnthropic(new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
        budget,
        subject: 'u1',
      })
      const res = await client.messages.create({
        model: MODEL,
        max_tokens: 10,
        system: system1h,
        messages,
        ...(stream ? { stream: true as const } : {}),
      })
      if (stream) for await (const _ of res as AsyncIterable<unknown>) void _
      expect(f.held()).toEqual([
        priceOf(MODEL, { inputTokens: 0, cacheWrite1hTokens: E, outputTokens: 10 }),
      ])
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
    const f = providerFetch(budget, anthropicMessage(MODEL, { input_tokens: 5, output_tokens: 2 }))
    const client = wrapAnthropic(new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
      budget,
      subject: 'u1',
    })
    await client.messages.create({ model: MODEL, max_tokens: 10, messages: blocks })
    expect(f.held()).toEqual([
      priceOf(MODEL, { inputTokens: 0, cacheWrite5mTokens: E, outputTokens: 10 }),
    ])
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
      const f = providerFetch(
        budget,
        anthropicMessage(MODEL, { input_tokens: 5, output_tokens: 2, speed: 'fast' }),
        stream ? anthropicSse(MODEL) : undefined
      )
      const client = wrapAnthropic(new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
        budget,
        subject: 'u1',
      })
      const res = await client.messages.create({
        model: MODEL,
        max_tokens: 10,
        messages,
        speed: 'fast',
        inference_geo: 'us',
        ...(stream ? { stream: true as const } : {}),
      } as never)
      if (stream) for await (const _ of res as unknown as AsyncIterable<unknown>) void _
      const plain = priceOf(MODEL, { inputTokens: E, outputTokens: 10 })
      const held = priceOf(MODEL, {
        inputTokens: E,
        outputTokens: 10,
        speed: 'fast',
        inferenceGeo: 'us',
      })
      expect(held).toBeGreaterThanOrEqual(plain * 6.6)
      expect(f.held()).toEqual([held])
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
    const f = providerFetch(
      budget,
      chatCompletion(
        { prompt_tokens: E, completion_tokens: 100, total_tokens: E + 100 },
        'priority'
      )
    )
    const client = wrapOpenAI(new OpenAI({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
      budget,
      subject: 'u1',
    })
    const error = await client.chat.completions
      .create({ model: MODEL, messages, max_completion_tokens: 100, service_tier: 'priority' })
      .then(
        () => undefined,
        (e: unknown) => e
      )
    expect(error).toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(f.calls()).toBe(0)
    expect((await budget.spend('u1')).totalMicros).toBeLessThanOrEqual(limit)
  })

  it.each([false, true])(
    "holds chat completions at the requested tier's rates (stream: %s)",
    async (stream) => {
      const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
      const sse = `data: ${JSON.stringify({
        id: 'c1',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'gpt-4o-2024-08-06',
        choices: [{ index: 0, delta: { content: 'ok' }, finish_reason: 'stop' }],
      })}\n\ndata: [DONE]\n\n`
      const f = providerFetch(
        budget,
        chatCompletion({ prompt_tokens: E, completion_tokens: 1, total_tokens: E + 1 }, 'priority'),
        stream ? sse : undefined
      )
      const client = wrapOpenAI(new OpenAI({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
        budget,
        subject: 'u1',
      })
      const res = await client.chat.completions.create({
        model: MODEL,
        messages,
        max_completion_tokens: 100,
        service_tier: 'priority',
        ...(stream ? { stream: true as const } : {}),
      })
      if (stream) for await (const _ of res as AsyncIterable<unknown>) void _
      expect(f.held()).toEqual([
        priceOf(MODEL, { inputTokens: E, outputTokens: 100, serviceTier: 'priority' }),
      ])
    }
  )

  it('holds a Responses "flex" request at the flex rates', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const f = providerFetch(budget, {
      id: 'resp_1',
      object: 'response',
      created_at: 1,
      status: 'completed',
      model: 'gpt-5',
      service_tier: 'flex',
      output: [],
      usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
    })
    const client = wrapOpenAI(new OpenAI({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
      budget,
      subject: 'u1',
    })
    await client.responses.create({
      model: 'gpt-5',
      input: 'Hi',
      max_output_tokens: 100,
      service_tier: 'flex',
    })
    const inputTokens = estimateTokens([{ role: 'user', content: 'Hi' }], 'gpt-5')
    expect(f.held()).toEqual([
      priceOf('gpt-5', { inputTokens, outputTokens: 100, serviceTier: 'flex' }),
    ])
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
