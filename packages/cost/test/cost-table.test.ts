/**
 * Must-show: recorded provider usages (responses and streams, as the APIs send them) cost out to
 * hand-computed values, to the micro-dollar. Each `expected` is worked out in the comment beside it,
 * in USD per million tokens × tokens = micro-dollars, rounded up once per call.
 */
import { createStreamUsage, extractUsage, priceOf, type UsageApi } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

interface Row {
  name: string
  /** A complete response, or the stream's events in order. */
  response?: unknown
  stream?: { api: UsageApi; events: unknown[]; model?: string; inputTokens?: number }
  model: string
  expected: number
}

const message = (model: string, usage: Record<string, unknown>) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model,
  content: [{ type: 'text', text: 'ok' }],
  stop_reason: 'end_turn',
  usage,
})
const chat = (
  model: string,
  usage: Record<string, unknown>,
  extra: Record<string, unknown> = {}
) => ({
  id: 'chatcmpl_1',
  object: 'chat.completion',
  model,
  choices: [],
  usage,
  ...extra,
})
const response = (model: string, usage: Record<string, unknown>) => ({
  id: 'resp_1',
  object: 'response',
  model,
  status: 'completed',
  output: [],
  usage,
})
const textDelta = (text: string) => ({
  type: 'content_block_delta',
  index: 0,
  delta: { type: 'text_delta', text },
})
const chatChunk = (model: string, content: string) => ({
  object: 'chat.completion.chunk',
  model,
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
})

const rows: Row[] = [
  {
    name: 'Anthropic, plain',
    response: message('claude-sonnet-4-5-20250929', { input_tokens: 1000, output_tokens: 500 }),
    model: 'claude-sonnet-4-5-20250929',
    expected: 10_500, // 1000×3 + 500×15
  },
  {
    name: 'Anthropic, cache read (input_tokens excludes it)',
    response: message('claude-sonnet-4-5-20250929', {
      input_tokens: 100,
      cache_read_input_tokens: 20_000,
      cache_creation_input_tokens: 0,
      output_tokens: 300,
    }),
    model: 'claude-sonnet-4-5-20250929',
    expected: 10_800, // 100×3 + 20000×0.3 + 300×15
  },
  {
    name: 'Anthropic, 5-minute cache write without TTL split',
    response: message('claude-haiku-4-5-20251001', {
      input_tokens: 50,
      cache_creation_input_tokens: 10_000,
      cache_read_input_tokens: 0,
      output_tokens: 200,
    }),
    model: 'claude-haiku-4-5-20251001',
    expected: 13_550, // 50×1 + 10000×1.25 + 200×5
  },
  {
    name: 'Anthropic, 5m and 1h cache writes split, plus a cache read',
    response: message('claude-opus-4-5-20251101', {
      input_tokens: 10,
      cache_creation_input_tokens: 3000,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
      cache_read_input_tokens: 5000,
      output_tokens: 100,
    }),
    model: 'claude-opus-4-5-20251101',
    expected: 31_300, // 10×5 + 1000×6.25 + 2000×10 + 5000×0.5 + 100×25
  },
  {
    name: 'Anthropic, long context: 210k input tokens (cache reads count) → every token at the >200k tier',
    response: message('claude-sonnet-4-5', {
      input_tokens: 150_000,
      cache_read_input_tokens: 60_000,
      output_tokens: 1000,
    }),
    model: 'claude-sonnet-4-5',
    expected: 958_500, // 150000×6 + 60000×0.6 + 1000×22.5
  },
  {
    name: 'Anthropic, exactly 200k input stays on the base tier',
    response: message('claude-sonnet-4-5', {
      input_tokens: 140_000,
      cache_read_input_tokens: 60_000,
      output_tokens: 1000,
    }),
    model: 'claude-sonnet-4-5',
    expected: 453_000, // 140000×3 + 60000×0.3 + 1000×15
  },
  {
    name: 'OpenAI chat, cached tokens inside prompt_tokens',
    response: chat('gpt-4o-2024-08-06', {
      prompt_tokens: 2000,
      completion_tokens: 300,
      prompt_tokens_details: { cached_tokens: 1024 },
    }),
    model: 'gpt-4o-2024-08-06',
    expected: 6720, // 976×2.5 + 1024×1.25 + 300×10
  },
  {
    name: 'OpenAI chat, reasoning tokens already inside completion_tokens (not added twice)',
    response: chat('gpt-5-2025-08-07', {
      prompt_tokens: 1200,
      completion_tokens: 5000,
      completion_tokens_details: { reasoning_tokens: 4000 },
    }),
    model: 'gpt-5-2025-08-07',
    expected: 51_500, // 1200×1.25 + 5000×10
  },
  {
    name: 'OpenAI chat, priority service tier',
    response: chat(
      'gpt-4.1-2025-04-14',
      { prompt_tokens: 1000, completion_tokens: 100 },
      { service_tier: 'priority' }
    ),
    model: 'gpt-4.1-2025-04-14',
    expected: 4900, // 1000×3.5 + 100×14
  },
  {
    name: 'OpenAI chat, priority tier with cached input (cached at the priority cached rate)',
    response: chat(
      'gpt-5-2025-08-07',
      {
        prompt_tokens: 3000,
        prompt_tokens_details: { cached_tokens: 2048 },
        completion_tokens: 200,
      },
      { service_tier: 'priority' }
    ),
    model: 'gpt-5-2025-08-07',
    expected: 6892, // 952×2.5 + 2048×0.25 + 200×20 = 2380 + 512 + 4000
  },
  {
    name: 'OpenAI chat, flex tier with cached input',
    response: chat(
      'gpt-5-mini',
      {
        prompt_tokens: 3000,
        prompt_tokens_details: { cached_tokens: 2048 },
        completion_tokens: 200,
      },
      { service_tier: 'flex' }
    ),
    model: 'gpt-5-mini',
    expected: 345, // 952×0.125 + 2048×0.0125 + 200×1 = 119 + 25.6 + 200 = 344.6 → 345
  },
  {
    name: 'OpenAI chat, tiny call rounds up to a whole micro-dollar',
    response: chat('gpt-4.1-nano', { prompt_tokens: 7, completion_tokens: 3 }),
    model: 'gpt-4.1-nano',
    expected: 2, // 7×0.1 + 3×0.4 = 1.9 → 2
  },
  {
    name: 'OpenAI Responses, cached input and reasoning, fractional total rounds up',
    response: response('gpt-5-mini', {
      input_tokens: 3000,
      input_tokens_details: { cached_tokens: 2048 },
      output_tokens: 800,
      output_tokens_details: { reasoning_tokens: 512 },
      total_tokens: 3800,
    }),
    model: 'gpt-5-mini',
    expected: 1890, // 952×0.25 + 2048×0.025 + 800×2 = 238 + 51.2 + 1600 = 1889.2 → 1890
  },
  {
    name: 'OpenAI Responses, long context above 272k',
    response: response('gpt-5.5', {
      input_tokens: 300_000,
      input_tokens_details: { cached_tokens: 100_000 },
      output_tokens: 2000,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 302_000,
    }),
    model: 'gpt-5.5',
    expected: 2_190_000, // 200000×10 + 100000×1 + 2000×45
  },
  {
    name: 'Anthropic stream: message_delta usage is cumulative, the last one counts',
    stream: {
      api: 'anthropic',
      events: [
        {
          type: 'message_start',
          message: {
            model: 'claude-sonnet-4-5-20250929',
            usage: { input_tokens: 500, cache_read_input_tokens: 0, output_tokens: 1 },
          },
        },
        textDelta('Hi'),
        { type: 'message_delta', delta: { stop_reason: null }, usage: { output_tokens: 10 } },
        { type: 'message_delta', delta: { stop_reason: null }, usage: { output_tokens: 50 } },
        {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn' },
          usage: { output_tokens: 120 },
        },
        { type: 'message_stop' },
      ],
    },
    model: 'claude-sonnet-4-5-20250929',
    expected: 3300, // 500×3 + 120×15 (not 180×15)
  },
  {
    name: 'Anthropic stream cut short: message_start input + streamed text estimate',
    stream: {
      api: 'anthropic',
      events: [
        {
          type: 'message_start',
          message: {
            model: 'claude-sonnet-4-5-20250929',
            usage: { input_tokens: 500, cache_read_input_tokens: 1000, output_tokens: 1 },
          },
        },
        textDelta('abcdefghij'),
        textDelta('abcdefghij'),
        textDelta('abcdefghij'),
      ],
    },
    model: 'claude-sonnet-4-5-20250929',
    expected: 1950, // 500×3 + 1000×0.3 + ceil(30/3)=10 output ×15
  },
  {
    name: 'OpenAI chat stream with the usage chunk',
    stream: {
      api: 'openai-chat',
      events: [
        chatChunk('gpt-4o-mini-2024-07-18', 'Hello'),
        {
          object: 'chat.completion.chunk',
          model: 'gpt-4o-mini-2024-07-18',
          choices: [],
          usage: {
            prompt_tokens: 4000,
            completion_tokens: 1000,
            prompt_tokens_details: { cached_tokens: 2000 },
          },
        },
      ],
    },
    model: 'gpt-4o-mini-2024-07-18',
    expected: 1050, // 2000×0.15 + 2000×0.075 + 1000×0.6
  },
  {
    name: 'OpenAI chat stream cut short: input estimate + streamed text (o200k)',
    stream: {
      api: 'openai-chat',
      model: 'gpt-4o',
      inputTokens: 1000,
      events: [
        chatChunk('gpt-4o-2024-08-06', 'hello hello'),
        chatChunk('gpt-4o-2024-08-06', ' hello hello'),
      ],
    },
    model: 'gpt-4o-2024-08-06',
    expected: 2540, // 1000×2.5 + 4 tokens ("hello" + 3×" hello") ×10
  },
  {
    name: 'OpenAI Responses stream: response.completed carries the usage',
    stream: {
      api: 'openai-responses',
      events: [
        { type: 'response.created', response: { model: 'gpt-4.1', usage: null } },
        { type: 'response.output_text.delta', delta: 'Hi' },
        {
          type: 'response.completed',
          response: {
            model: 'gpt-4.1',
            usage: {
              input_tokens: 5000,
              input_tokens_details: { cached_tokens: 4000 },
              output_tokens: 250,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: 5250,
            },
          },
        },
      ],
    },
    model: 'gpt-4.1',
    expected: 6000, // 1000×2 + 4000×0.5 + 250×8
  },
  {
    name: 'OpenAI Responses stream cut short: input estimate + streamed text',
    stream: {
      api: 'openai-responses',
      inputTokens: 200,
      events: [
        { type: 'response.created', response: { model: 'gpt-4.1', usage: null } },
        { type: 'response.output_text.delta', delta: 'hello hello hello hello' },
      ],
    },
    model: 'gpt-4.1',
    expected: 432, // 200×2 + 4×8
  },
]

describe('recorded provider usages cost out to hand-computed micro-dollars', () => {
  for (const row of rows) {
    it(row.name, () => {
      let model: string
      let usage: Parameters<typeof priceOf>[1]
      if (row.response !== undefined) {
        const extracted = extractUsage(row.response)
        expect(extracted).toBeDefined()
        model = extracted!.model
        usage = extracted!.usage
      } else {
        const s = row.stream!
        const tracker = createStreamUsage(s.api, {
          ...(s.model === undefined ? {} : { model: s.model }),
          ...(s.inputTokens === undefined ? {} : { inputTokens: s.inputTokens }),
        })
        for (const e of s.events) tracker.push(e)
        const result = tracker.result()
        model = result.model
        usage = result.usage
        const cut = !s.events.some(
          (e) =>
            (e as { type?: string }).type === 'message_delta' ||
            (e as { type?: string }).type === 'response.completed' ||
            (e as { usage?: unknown }).usage
        )
        expect(result.complete).toBe(!cut)
        expect(result.usage.estimated === true).toBe(cut)
      }
      expect(model).toBe(row.model)
      expect(priceOf(model, usage)).toBe(row.expected)
    })
  }
})
