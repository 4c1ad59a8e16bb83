/**
 * Only complete, successful answers are cached (DESIGN.md; the same rule as `@aikit/cache`'s LLM
 * cache): a refusal, a content-filtered or paused answer reaches its caller but is never replayed
 * to the next one. Each provider answers from an in-process `fetch` that counts the calls (the
 * fake provider answers only complete answers).
 */
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { mapCache } from './helpers.js'

type Rec = Record<string, unknown>

/** A fetch answering every request with `body` (JSON), or with `events` as SSE, counting calls. */
function provider(body: Rec | Rec[], named = true): { fetch: typeof fetch; calls: () => number } {
  let n = 0
  const sse = Array.isArray(body)
  const text = sse
    ? body
        .map((e) =>
          named
            ? `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`
            : `data: ${JSON.stringify(e)}\n\n`
        )
        .join('') + (named ? '' : 'data: [DONE]\n\n')
    : JSON.stringify(body)
  return {
    fetch: (async () => {
      n++
      return new Response(text, {
        status: 200,
        headers: {
          'content-type': sse ? 'text/event-stream' : 'application/json',
          'request-id': `req_${n}`,
        },
      })
    }) as unknown as typeof fetch,
    calls: () => n,
  }
}

const usage = { input_tokens: 5, output_tokens: 2 }
const message = (stopReason: string): Rec => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-haiku-4-5',
  content: [{ type: 'text', text: 'I cannot help with that.' }],
  stop_reason: stopReason,
  stop_sequence: null,
  usage,
})
const messageEvents = (stopReason: string): Rec[] => [
  { type: 'message_start', message: { ...message(stopReason), content: [], stop_reason: null } },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'No.' } },
  { type: 'content_block_stop', index: 0 },
  { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage },
  { type: 'message_stop' },
]
const anthropicParams = {
  model: 'claude-haiku-4-5',
  max_tokens: 50,
  temperature: 0,
  messages: [{ role: 'user' as const, content: 'same question' }],
}

/** Calls `call` twice on a fresh wrapped client; returns the provider calls made. */
async function twice(f: { calls: () => number }, call: () => Promise<void>): Promise<number> {
  await call()
  await call()
  return f.calls()
}

describe('Anthropic', () => {
  it.each([
    ['refusal', 2],
    ['pause_turn', 2],
    ['end_turn', 1],
    ['max_tokens', 1],
  ])('a non-streamed answer stopped for %s: %s provider call(s) for two', async (reason, calls) => {
    const f = provider(message(reason))
    const client = wrapAnthropic(new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
      cache: mapCache(),
    })
    const made = await twice(f, async () => {
      const answer = await client.messages.create(anthropicParams)
      expect(answer.stop_reason).toBe(reason)
    })
    expect(made).toBe(calls)
  })

  it.each([
    ['refusal', 2],
    ['end_turn', 1],
  ])('a stream stopped for %s: %s provider call(s) for two', async (reason, calls) => {
    const f = provider(messageEvents(reason))
    const client = wrapAnthropic(new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), {
      cache: mapCache(),
    })
    const made = await twice(f, async () => {
      const stream = await client.messages.create({ ...anthropicParams, stream: true })
      const types: string[] = []
      for await (const e of stream) types.push(e.type)
      expect(types.at(-1)).toBe('message_stop')
    })
    expect(made).toBe(calls)
  })
})

describe('OpenAI', () => {
  const chatParams = {
    model: 'gpt-4o-mini',
    temperature: 0,
    messages: [{ role: 'user' as const, content: 'same question' }],
  }
  const completion = (reasons: string[]): Rec => ({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: reasons.map((finish_reason, index) => ({
      index,
      message: { role: 'assistant', content: 'text' },
      finish_reason,
    })),
    usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
  })
  const chunk = (delta: Rec, finish: string | null): Rec => ({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta, finish_reason: finish }],
  })
  const responsesParams = { model: 'gpt-4o-mini', temperature: 0, input: 'same question' }
  /** A wrapped OpenAI client over `f`, with a cache of its own. */
  const cachedOpenAI = (f: { fetch: typeof fetch }) =>
    wrapOpenAI(new OpenAI({ apiKey: 'k', maxRetries: 0, fetch: f.fetch }), { cache: mapCache() })

  it.each([
    [['content_filter'], 2],
    [['stop', 'content_filter'], 2],
    [['stop'], 1],
    [['length', 'tool_calls'], 1],
  ])('a chat answer finishing %j: %s provider call(s) for two', async (reasons, calls) => {
    const f = provider(completion(reasons))
    const client = cachedOpenAI(f)
    const made = await twice(f, async () => {
      await client.chat.completions.create({ ...chatParams, n: reasons.length })
    })
    expect(made).toBe(calls)
  })

  it.each([
    ['content_filter', 2],
    ['stop', 1],
  ])('a chat stream finishing %s: %s provider call(s) for two', async (reason, calls) => {
    const f = provider(
      [chunk({ role: 'assistant', content: 'te' }, null), chunk({ content: 'xt' }, reason)],
      false
    )
    const client = cachedOpenAI(f)
    const made = await twice(f, async () => {
      const stream = await client.chat.completions.create({ ...chatParams, stream: true })
      let text = ''
      for await (const c of stream) text += c.choices[0]?.delta.content ?? ''
      expect(text).toBe('text')
    })
    expect(made).toBe(calls)
  })

  it('a chat refusal (finish_reason stop, message.refusal set) is returned but not cached', async () => {
    const refused = completion(['stop'])
    ;(refused.choices as Rec[])[0] = {
      index: 0,
      message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' },
      finish_reason: 'stop',
    }
    const f = provider(refused)
    const client = cachedOpenAI(f)
    const made = await twice(f, async () => {
      const answer = await client.chat.completions.create(chatParams)
      expect(answer.choices[0]?.message.refusal).toBe('I cannot help with that.')
    })
    expect(made).toBe(2)
  })

  it('a chat stream carrying delta.refusal is not cached', async () => {
    const f = provider(
      [chunk({ role: 'assistant', refusal: 'No.' }, null), chunk({}, 'stop')],
      false
    )
    const client = cachedOpenAI(f)
    const made = await twice(f, async () => {
      const stream = await client.chat.completions.create({ ...chatParams, stream: true })
      for await (const _ of stream) void _
    })
    expect(made).toBe(2)
  })

  it('a completed Responses answer holding a refusal part is not cached', async () => {
    const f = provider({
      id: 'resp_1',
      object: 'response',
      created_at: 1,
      model: 'gpt-4o-mini',
      status: 'completed',
      incomplete_details: null,
      output: [
        {
          type: 'message',
          id: 'msg_1',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'refusal', refusal: 'No.' }],
        },
      ],
      usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 },
    })
    const client = cachedOpenAI(f)
    const made = await twice(f, async () => {
      await client.responses.create(responsesParams)
    })
    expect(made).toBe(2)
  })

  it.each([
    ['completed', undefined, 1],
    ['incomplete', 'max_output_tokens', 1],
    ['incomplete', 'content_filter', 2],
  ])('a Responses answer %s (%s): %s provider call(s) for two', async (status, reason, calls) => {
    const f = provider({
      id: 'resp_1',
      object: 'response',
      created_at: 1,
      model: 'gpt-4o-mini',
      status,
      incomplete_details: reason === undefined ? null : { reason },
      output: [],
      usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 },
    })
    const client = cachedOpenAI(f)
    const made = await twice(f, async () => {
      await client.responses.create(responsesParams)
    })
    expect(made).toBe(calls)
  })
})
