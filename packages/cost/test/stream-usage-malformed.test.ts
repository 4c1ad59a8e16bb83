/**
 * A malformed usage event in a stream (a negative or fractional count) never throws out of the
 * meter: the provider has billed the call, and a meter that threw would leave it unsettled (the
 * hold lapsing at $0) and break the caller's stream. The event is ignored: the last valid figures
 * stay, or the cut-short estimate applies, and the result says `invalid: true`.
 */
import { createStreamUsage, meterStream, type StreamUsageResult } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

type Rec = Record<string, unknown>

const MODEL = 'claude-haiku-4-5'
const start = (usage: Rec): Rec => ({
  type: 'message_start',
  message: { id: 'msg_1', type: 'message', role: 'assistant', model: MODEL, content: [], usage },
})
const text = (t: string): Rec => ({
  type: 'content_block_delta',
  index: 0,
  delta: { type: 'text_delta', text: t },
})
const delta = (usage: Rec): Rec => ({
  type: 'message_delta',
  delta: { stop_reason: 'end_turn', stop_sequence: null },
  usage,
})

async function* from<T>(events: readonly T[]): AsyncGenerator<T> {
  for (const e of events) yield e
}

describe('createStreamUsage: malformed usage events', () => {
  it('Anthropic: a malformed message_delta is ignored; the last valid cumulative usage stands', () => {
    const u = createStreamUsage('anthropic', { model: MODEL })
    u.push(start({ input_tokens: 12, output_tokens: 1 }))
    u.push(text('hello there'))
    u.push(delta({ input_tokens: 12, output_tokens: 40 }))
    expect(() => u.push(delta({ output_tokens: -5 }))).not.toThrow()
    const r = u.result()
    expect(r).toMatchObject({ complete: true, invalid: true, model: MODEL })
    expect(r.usage).toMatchObject({ inputTokens: 12, outputTokens: 40 })
  })

  it('Anthropic: with no valid final usage, the result is the estimate from message_start and the streamed text', () => {
    const u = createStreamUsage('anthropic', { model: MODEL })
    u.push(start({ input_tokens: 12, output_tokens: 1 }))
    u.push(text('hi there, this is the answer'))
    expect(() =>
      u.push(delta({ input_tokens: 12, output_tokens: -5, cache_read_input_tokens: 0 }))
    ).not.toThrow()
    expect(u.complete).toBe(false)
    const r = u.result()
    expect(r).toMatchObject({ complete: false, invalid: true })
    expect(r.usage.estimated).toBe(true)
    expect(r.usage.inputTokens).toBe(12)
    expect(r.usage.outputTokens).toBeGreaterThan(1)
  })

  it('Anthropic: a malformed message_start never makes result() throw (the input estimate applies)', () => {
    const u = createStreamUsage('anthropic', { model: MODEL, inputTokens: 30 })
    expect(() => u.push(start({ input_tokens: 1.5, output_tokens: 1 }))).not.toThrow()
    u.push(text('partial'))
    const r = u.result()
    expect(r).toMatchObject({ complete: false, invalid: true })
    expect(r.usage).toMatchObject({ inputTokens: 30, estimated: true })
    // A later cumulative delta that carries every count again is valid: it is the final usage.
    u.push(delta({ input_tokens: 12, output_tokens: 7 }))
    expect(u.result()).toMatchObject({
      complete: true,
      usage: { inputTokens: 12, outputTokens: 7 },
    })
  })

  it('OpenAI chat: a malformed usage chunk is ignored; the estimate applies', () => {
    const u = createStreamUsage('openai-chat', { model: 'gpt-4o', inputTokens: 20 })
    u.push({
      object: 'chat.completion.chunk',
      model: 'gpt-4o',
      choices: [{ index: 0, delta: { content: 'ok then' } }],
    })
    expect(() =>
      u.push({
        object: 'chat.completion.chunk',
        model: 'gpt-4o',
        choices: [],
        usage: { prompt_tokens: 20, completion_tokens: -1 },
      })
    ).not.toThrow()
    const r = u.result()
    expect(r).toMatchObject({ complete: false, invalid: true })
    expect(r.usage).toMatchObject({ inputTokens: 20, estimated: true })
  })

  it('OpenAI Responses: a malformed response.completed usage is ignored; the estimate applies', () => {
    const u = createStreamUsage('openai-responses', { model: 'gpt-5', inputTokens: 20 })
    u.push({ type: 'response.output_text.delta', delta: 'ok then' })
    expect(() =>
      u.push({
        type: 'response.completed',
        response: { model: 'gpt-5', usage: { input_tokens: 'many', output_tokens: 3 } },
      })
    ).not.toThrow()
    const r = u.result()
    expect(r).toMatchObject({ complete: false, invalid: true })
    expect(r.usage).toMatchObject({ inputTokens: 20, estimated: true })
  })

  it('a valid stream reports invalid: false', () => {
    const u = createStreamUsage('anthropic', { model: MODEL })
    u.push(start({ input_tokens: 12, output_tokens: 1 }))
    u.push(delta({ output_tokens: 9 }))
    expect(u.result()).toMatchObject({ complete: true, invalid: false })
  })
})

describe('meterStream: malformed usage events', () => {
  it('passes every event through and reports once, with the malformed usage ignored', async () => {
    const events = [
      start({ input_tokens: 12, output_tokens: 1 }),
      text('hi there'),
      delta({ input_tokens: 12, output_tokens: -5 }),
      { type: 'message_stop' },
    ]
    const reports: StreamUsageResult[] = []
    const seen: unknown[] = []
    for await (const e of meterStream(from(events), {
      api: 'anthropic',
      model: MODEL,
      onDone: (r) => reports.push(r),
    })) {
      seen.push(e)
    }
    expect(seen).toEqual(events)
    expect(reports).toHaveLength(1)
    expect(reports[0]).toMatchObject({ complete: false, invalid: true, usage: { inputTokens: 12 } })
  })
})
