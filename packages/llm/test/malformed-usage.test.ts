/**
 * A provider answer whose usage is malformed (a negative or fractional token count) still reached
 * the provider, which bills it: the caller gets the answer (or reads the whole stream), and the
 * budget charges the held worst case (a non-streamed answer, as for a missing usage) or the stream's
 * estimate, never $0, and frees the hold. Metrics carry no token usage for it; the log line says
 * `usageInvalid: true`. Provider answers come from an in-process `fetch` (no network).
 */
import { createBudget, estimateTokens, priceOf } from '@aikit/cost'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { recorders, until } from './helpers.js'

type Rec = Record<string, unknown>

/** A fetch answering every request with `body` (JSON), counting the calls. */
function jsonFetch(body: unknown): { fetch: typeof fetch; calls: () => number } {
  let n = 0
  return {
    fetch: (async () => {
      n++
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: { 'content-type': 'application/json', 'request-id': 'req_1' },
      })
    }) as unknown as typeof fetch,
    calls: () => n,
  }
}

/** A fetch answering with an SSE stream of `events` (named events, or `data:` lines only). */
function sseFetch(events: Rec[], named = true): typeof fetch {
  const text =
    events
      .map((e) =>
        named
          ? `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`
          : `data: ${JSON.stringify(e)}\n\n`
      )
      .join('') + (named ? '' : 'data: [DONE]\n\n')
  return (async () =>
    new Response(text, {
      status: 200,
      headers: { 'content-type': 'text/event-stream', 'request-id': 'req_1' },
    })) as unknown as typeof fetch
}

const MODEL = 'claude-haiku-4-5'
const params = {
  model: MODEL,
  max_tokens: 100,
  messages: [{ role: 'user' as const, content: 'hello' }],
}
const bad = {
  input_tokens: 12,
  output_tokens: -5,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
}
/** What the wrapper holds for `params`: the estimated input plus `max_tokens`. */
const worstCase = priceOf(MODEL, {
  inputTokens: estimateTokens(params.messages, MODEL),
  outputTokens: params.max_tokens,
})

const anthropicMessage = (usage: Rec): Rec => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: MODEL,
  content: [{ type: 'text', text: 'hi' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage,
})

const anthropicEvents = (finalUsage: Rec): Rec[] => [
  {
    type: 'message_start',
    message: {
      ...anthropicMessage({ ...bad, output_tokens: 1 }),
      content: [],
      stop_reason: null,
    },
  },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi there' } },
  { type: 'content_block_stop', index: 0 },
  {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: finalUsage,
  },
  { type: 'message_stop' },
]

describe('a non-streamed answer with malformed usage', () => {
  it('is returned to the caller (the provider billed it)', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const f = jsonFetch(anthropicMessage(bad))
    const client = wrapAnthropic(new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
      budget,
      subject: 'u1',
    })
    const msg = await client.messages.create(params)
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'hi' })
    expect(f.calls()).toBe(1)
  })

  it('charges the held worst case (never $0) and frees the hold', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const f = jsonFetch(anthropicMessage(bad))
    const client = wrapAnthropic(new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
      budget,
      subject: 'u1',
    })
    await client.messages.create(params).catch(() => undefined)
    expect(f.calls()).toBe(1)
    const spend = await budget.spend('u1')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
    expect(spend.totalMicros).toBe(worstCase)
  })

  it('records no token usage in the metrics, the worst case as cost, and usageInvalid in the log', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const { metrics, logger } = recorders()
    const f = jsonFetch(anthropicMessage(bad))
    const client = wrapAnthropic(new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
      budget,
      metrics,
      logger,
      subject: 'u1',
    })
    await client.messages.create(params)
    expect(metrics.calls).toHaveLength(1)
    expect(metrics.calls[0]?.usage).toBeUndefined()
    expect(metrics.calls[0]?.error).toBeUndefined()
    expect(metrics.calls[0]?.costUsd).toBe(worstCase / 1e6)
    expect(logger.lines).toHaveLength(1)
    expect(logger.lines[0]).toMatchObject({
      outcome: 'ok',
      usageInvalid: true,
      inputTokens: undefined,
      costMicros: worstCase,
    })
  })

  it('is returned by an OpenAI chat call with a fractional count too, charged the worst case', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const messages = [{ role: 'user' as const, content: 'hello' }]
    const f = jsonFetch({
      id: 'chatcmpl_1',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-2024-08-06',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'ok' },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 2.5, total_tokens: 12.5 },
    })
    const client = wrapOpenAI(new OpenAI({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
      budget,
      subject: 'u1',
    })
    const answer = await client.chat.completions.create({
      model: 'gpt-4o',
      messages,
      max_completion_tokens: 50,
    })
    expect(answer.choices[0]?.message.content).toBe('ok')
    const spend = await budget.spend('u1')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBe(
      priceOf('gpt-4o', { inputTokens: estimateTokens(messages, 'gpt-4o'), outputTokens: 50 })
    )
    // Charged under the model the provider answered with.
    expect(Object.keys(spend.byModel)).toEqual(['gpt-4o-2024-08-06'])
  })
})

describe('a stream with a malformed usage event', () => {
  it('settles (charged, hold freed) rather than leaving the hold to lapse at $0', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const client = wrapAnthropic(
      new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: sseFetch(anthropicEvents(bad)) }),
      { budget, subject: 'u1' }
    )
    try {
      const stream = await client.messages.create({ ...params, stream: true })
      for await (const _ of stream) {
        // read it all
      }
    } catch {
      // The budget must settle however the stream ends (the next test checks it does not fail).
    }
    let held = -1
    await until(() => {
      void budget.spend('u1').then((s) => (held = s.heldMicros))
      return held === 0
    })
    const spend = await budget.spend('u1')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
  })

  it('reaches the caller whole, without an error', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const events = anthropicEvents(bad)
    const client = wrapAnthropic(
      new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: sseFetch(events) }),
      { budget, subject: 'u1' }
    )
    const stream = await client.messages.create({ ...params, stream: true })
    const seen: unknown[] = []
    for await (const e of stream) seen.push(e)
    expect(seen.map((e) => (e as Rec).type)).toEqual(events.map((e) => e.type))
  })

  it('is charged the estimate (message_start input, streamed output) and logged as usageInvalid', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const { logger } = recorders()
    const client = wrapAnthropic(
      new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: sseFetch(anthropicEvents(bad)) }),
      { budget, logger, subject: 'u1' }
    )
    const stream = await client.messages.create({ ...params, stream: true })
    for await (const _ of stream) {
      // read it all
    }
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({
      outcome: 'ok',
      inputTokens: 12,
      estimated: true,
      usageInvalid: true,
    })
    const spend = await budget.spend('u1')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBe(logger.lines[0]?.costMicros)
    expect(spend.totalMicros).toBeGreaterThan(0)
  })

  it('keeps the last valid cumulative usage when a later usage event is malformed', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const events = anthropicEvents({ input_tokens: 12, output_tokens: 30 })
    // A second, malformed cumulative usage after the valid one.
    events.splice(5, 0, {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: bad,
    })
    const client = wrapAnthropic(
      new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: sseFetch(events) }),
      { budget, subject: 'u1' }
    )
    const stream = await client.messages.create({ ...params, stream: true })
    for await (const _ of stream) {
      // read it all
    }
    const expected = priceOf(MODEL, { inputTokens: 12, outputTokens: 30 })
    let total = -1
    await until(() => {
      void budget.spend('u1').then((s) => (total = s.totalMicros))
      return total === expected
    })
    expect((await budget.spend('u1')).heldMicros).toBe(0)
  })

  it('an OpenAI chat stream whose usage chunk is malformed still reaches the caller and settles', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const chunk = (extra: Rec): Rec => ({
      id: 'c1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'gpt-4o-2024-08-06',
      ...extra,
    })
    const chunks = [
      chunk({
        choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: null }],
      }),
      chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      chunk({ choices: [], usage: { prompt_tokens: -3, completion_tokens: 1, total_tokens: -2 } }),
    ]
    const client = wrapOpenAI(
      new OpenAI({ apiKey: 'k', maxRetries: 0, fetch: sseFetch(chunks, false) }),
      { budget, subject: 'u1' }
    )
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hello' }],
      stream: true,
    })
    const seen: unknown[] = []
    for await (const c of stream) seen.push(c)
    // The injected usage chunk stays hidden; the caller's chunks all arrive.
    expect(seen).toHaveLength(2)
    let held = -1
    await until(() => {
      void budget.spend('u1').then((s) => (held = s.heldMicros))
      return held === 0
    })
    expect((await budget.spend('u1')).totalMicros).toBeGreaterThan(0)
  })
})
