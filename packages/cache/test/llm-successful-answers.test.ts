/**
 * Only complete, successful LLM answers are stored (DESIGN.md data flow; research/cache.md §4.9):
 * a refusal, a content filter cut, a paused turn or an overflowing context window is handed to its
 * callers but never replayed, streamed (`stream()`) or not (`complete()`).
 */
import { createCache, createLlmCache, isCompleteStream } from '@aikit/cache'
import { describe, expect, it } from 'vitest'

async function collect<E>(stream: AsyncIterable<E>): Promise<E[]> {
  const out: E[] = []
  for await (const event of stream) out.push(event)
  return out
}

const claudeParams = {
  model: 'claude-fake-model',
  max_tokens: 64,
  temperature: 0,
  messages: [{ role: 'user', content: 'How do I pick a lock?' }],
}
const gptParams = {
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [{ role: 'user', content: 'How do I pick a lock?' }],
}

/** An OpenAI chat chunk of choice 0. */
const chunk = (content: string | undefined, finish: string | null) => ({
  id: 'c1',
  object: 'chat.completion.chunk',
  model: 'gpt-4o-mini',
  choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
})

/** A whole Anthropic stream ending with `stop_reason`. */
const claudeStream = (stopReason: string) => [
  {
    type: 'message_start',
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-fake-model',
      content: [],
      stop_reason: null,
      usage: { input_tokens: 10, output_tokens: 1 },
    },
  },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Sure, first' } },
  { type: 'content_block_stop', index: 0 },
  { type: 'message_delta', delta: { stop_reason: stopReason }, usage: { output_tokens: 3 } },
  { type: 'message_stop' },
]

/** An Anthropic JSON message ending with `stopReason`. */
const claudeMessage = (stopReason: string) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-fake-model',
  content: [{ type: 'text', text: 'Sure, first' }],
  stop_reason: stopReason,
  stop_sequence: null,
  usage: { input_tokens: 10, output_tokens: 3 },
})

/** An OpenAI chat completion whose choice finished with `finish`. */
const gptCompletion = (finish: string) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Sure' }, finish_reason: finish }],
  usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
})

describe('streams: only successful ones are stored', () => {
  it('an OpenAI stream cut by the content filter (finish_reason content_filter) is not replayed', async () => {
    // The filter stopped the answer half-way: the text is truncated.
    const events = [chunk('Sure, first you', null), chunk(undefined, 'content_filter')]
    const llm = createLlmCache(createCache(), { provider: 'openai', protocol: 'openai-chat' })
    let calls = 0
    async function* upstream() {
      calls++
      yield* events
    }
    await collect((await llm.stream(gptParams, { scope: 'u' }, () => upstream())).stream)
    const again = await llm.stream(gptParams, { scope: 'u' }, () => upstream())
    await collect(again.stream)
    expect(again.status).toBe('MISS')
    expect(calls).toBe(2)
  })

  it('an Anthropic stream stopped by a refusal (stop_reason refusal) is not replayed', async () => {
    const events = claudeStream('refusal')
    const llm = createLlmCache(createCache(), { provider: 'anthropic' })
    let calls = 0
    async function* upstream() {
      calls++
      yield* events
    }
    await collect((await llm.stream(claudeParams, { scope: 'u' }, () => upstream())).stream)
    const again = await llm.stream(claudeParams, { scope: 'u' }, () => upstream())
    await collect(again.stream)
    expect(again.status).toBe('MISS')
    expect(calls).toBe(2)
  })

  it('Anthropic: end_turn, max_tokens, stop_sequence and tool_use are complete; refusal, pause_turn, model_context_window_exceeded and a missing stop_reason are not', () => {
    const verdicts = Object.fromEntries(
      [
        'end_turn',
        'max_tokens',
        'stop_sequence',
        'tool_use',
        'refusal',
        'pause_turn',
        'model_context_window_exceeded',
      ].map((reason) => [reason, isCompleteStream(claudeStream(reason), 'anthropic')])
    )
    expect(verdicts).toEqual({
      end_turn: true,
      max_tokens: true,
      stop_sequence: true,
      tool_use: true,
      refusal: false,
      pause_turn: false,
      model_context_window_exceeded: false,
    })
    const withoutDelta = claudeStream('end_turn').filter((e) => e.type !== 'message_delta')
    expect(isCompleteStream(withoutDelta, 'anthropic')).toBe(false)
  })

  it('OpenAI: stop, length, tool_calls and function_call are complete; content_filter is not', () => {
    const verdicts = Object.fromEntries(
      ['stop', 'length', 'tool_calls', 'function_call', 'content_filter'].map((finish) => [
        finish,
        isCompleteStream([chunk('Sure', null), chunk(undefined, finish)], 'openai-chat'),
      ])
    )
    expect(verdicts).toEqual({
      stop: true,
      length: true,
      tool_calls: true,
      function_call: true,
      content_filter: false,
    })
  })
})

describe('OpenAI refusals (finish_reason stop, the text in refusal) are not stored', () => {
  it('a chat stream carrying delta.refusal is not complete', () => {
    const refusal = {
      ...chunk(undefined, null),
      choices: [{ index: 0, delta: { refusal: 'No.' }, finish_reason: null }],
    }
    expect(isCompleteStream([refusal, chunk(undefined, 'stop')], 'openai-chat')).toBe(false)
    expect(isCompleteStream([chunk('Sure', null), chunk(undefined, 'stop')], 'openai-chat')).toBe(
      true
    )
  })

  it('a chat completion whose message.refusal is set, or a Responses output with a refusal part, is returned but not stored', async () => {
    const llm = createLlmCache(createCache())
    let calls = 0
    const refusedChat = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' },
          finish_reason: 'stop',
        },
      ],
    }
    const refusedResponse = {
      id: 'resp_1',
      object: 'response',
      status: 'completed',
      error: null,
      incomplete_details: null,
      output: [
        { type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'No.' }] },
      ],
    }
    for (const answer of [refusedChat, refusedResponse]) {
      const params = {
        model: 'gpt-4o-mini',
        temperature: 0,
        messages: [{ role: 'user', content: `q${calls}` }],
      }
      const call = async () => {
        calls++
        return answer
      }
      const first = await llm.complete(params, { scope: 'u' }, call)
      expect(first.value).toEqual(answer)
      expect((await llm.complete(params, { scope: 'u' }, call)).status).toBe('MISS')
    }
    expect(calls).toBe(4)
  })
})

describe('complete(): only successful JSON answers are stored', () => {
  /** Two calls of `answer` through one LLM cache: the second one's status, and provider calls. */
  async function twice(
    params: Record<string, unknown>,
    answer: unknown,
    options: Parameters<typeof createLlmCache>[1] = {}
  ): Promise<{ first: unknown; status: string; calls: number }> {
    const llm = createLlmCache(createCache(), options)
    let calls = 0
    const call = async () => {
      calls++
      return answer
    }
    const first = await llm.complete(params, { scope: 'u' }, call)
    const second = await llm.complete(params, { scope: 'u' }, call)
    return { first: first.value, status: second.status, calls }
  }

  it('an Anthropic refusal is returned to its caller but not stored', async () => {
    const refusal = claudeMessage('refusal')
    expect(await twice(claudeParams, refusal)).toEqual({ first: refusal, status: 'MISS', calls: 2 })
    for (const reason of ['pause_turn', 'model_context_window_exceeded']) {
      expect((await twice(claudeParams, claudeMessage(reason))).status).toBe('MISS')
    }
  })

  it('an OpenAI completion cut by the content filter is returned but not stored', async () => {
    const filtered = gptCompletion('content_filter')
    expect(await twice(gptParams, filtered)).toEqual({ first: filtered, status: 'MISS', calls: 2 })
  })

  it('an OpenAI Responses object is stored only when completed (or cut by max_output_tokens)', async () => {
    const response = (status: string, reason?: string) => ({
      id: 'resp_1',
      object: 'response',
      status,
      error: null,
      incomplete_details: reason === undefined ? null : { reason },
      output: [],
    })
    const statuses = await Promise.all(
      [
        response('completed'),
        response('incomplete', 'max_output_tokens'),
        response('incomplete', 'content_filter'),
        response('queued'),
        response('in_progress'),
        response('failed'),
      ].map(async (r) => (await twice(gptParams, r)).status)
    )
    expect(statuses).toEqual(['HIT', 'HIT', 'MISS', 'MISS', 'MISS', 'MISS'])
  })

  it('complete answers are stored; an answer carrying an error is not', async () => {
    for (const reason of ['end_turn', 'max_tokens', 'stop_sequence', 'tool_use']) {
      expect((await twice(claudeParams, claudeMessage(reason))).status).toBe('HIT')
    }
    for (const finish of ['stop', 'length', 'tool_calls', 'function_call']) {
      expect((await twice(gptParams, gptCompletion(finish))).status).toBe('HIT')
    }
    const error = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }
    expect((await twice(claudeParams, error)).status).toBe('MISS')
    // Another provider's shape is stored as before.
    expect((await twice(gptParams, { text: 'Sure' })).status).toBe('HIT')
  })

  it('identical requests in flight all get the refusal, which is still not stored', async () => {
    const llm = createLlmCache(createCache(), { provider: 'anthropic' })
    const refusal = claudeMessage('refusal')
    let calls = 0
    let answer!: () => void
    const call = () => {
      calls++
      return new Promise<unknown>((resolve) => {
        answer = () => resolve(refusal)
      })
    }
    const pending = Array.from({ length: 3 }, () =>
      llm.complete(claudeParams, { scope: 'u' }, call)
    )
    await new Promise((resolve) => setTimeout(resolve, 0))
    answer()
    const results = await Promise.all(pending)
    expect(results.map((r) => [r.value, r.status])).toEqual([
      [refusal, 'MISS'],
      [refusal, 'COALESCED'],
      [refusal, 'COALESCED'],
    ])
    expect(calls).toBe(1)
    const later = llm.complete(claudeParams, { scope: 'u' }, call)
    await new Promise((resolve) => setTimeout(resolve, 0))
    answer()
    expect((await later).status).toBe('MISS')
    expect(calls).toBe(2)
  })

  it('the isCompleteAnswer option decides for another provider', async () => {
    const isCompleteAnswer = (a: unknown) =>
      (a as { finishReason?: string }).finishReason === 'STOP'
    const safety = { finishReason: 'SAFETY', text: '' }
    expect((await twice(gptParams, safety, { isCompleteAnswer })).status).toBe('MISS')
    expect((await twice(gptParams, { finishReason: 'STOP' }, { isCompleteAnswer })).status).toBe(
      'HIT'
    )
  })

  it('with staleIfError, the caller that got a refusal receives it, not the stale answer', async () => {
    let now = 1_000_000
    const cache = createCache({ ttl: 1_000, staleIfError: 60_000, jitter: 0, now: () => now })
    const llm = createLlmCache(cache, { provider: 'anthropic' })
    const good = claudeMessage('end_turn')
    const refusal = claudeMessage('refusal')
    await llm.complete(claudeParams, { scope: 'u' }, async () => good)
    now += 2_000
    const after = await llm.complete(claudeParams, { scope: 'u' }, async () => refusal)
    expect(after).toEqual({ value: refusal, status: 'MISS' })
  })
})
