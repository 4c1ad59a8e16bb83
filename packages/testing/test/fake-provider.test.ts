import Anthropic, * as A from '@anthropic-ai/sdk'
import OpenAI, * as O from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { estimateTokens, type FakeProvider, startFakeProvider } from '../src/fake-provider/index.js'

const SECRET = 'sk-test-secret-do-not-log'
const MODEL_A = 'fake-claude-model'
const MODEL_O = 'gpt-4o-mini'

let p: FakeProvider

beforeAll(async () => {
  p = await startFakeProvider()
})
afterAll(async () => {
  await p.close()
})
beforeEach(() => {
  p.reset()
})

function anthropic(opts: { maxRetries?: number; timeout?: number } = {}): Anthropic {
  return new Anthropic({ apiKey: SECRET, baseURL: p.anthropicBaseURL, maxRetries: 0, ...opts })
}

function openai(opts: { maxRetries?: number; timeout?: number } = {}): OpenAI {
  return new OpenAI({ apiKey: SECRET, baseURL: p.openaiBaseURL, maxRetries: 0, ...opts })
}

const userMsg = (text: string) => [{ role: 'user' as const, content: text }]

/** A raw JSON POST, for requests the SDKs' types would not let through. */
const post = (path: string, body: unknown) =>
  fetch(`${p.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

describe('Anthropic Messages', () => {
  it('answers non-streaming with echo text and derived usage', async () => {
    const msg = await anthropic().messages.create({
      model: MODEL_A,
      max_tokens: 100,
      messages: userMsg('hello there'),
    })
    expect(msg.type).toBe('message')
    expect(msg.role).toBe('assistant')
    expect(msg.model).toBe(MODEL_A)
    expect(msg.content).toEqual([{ type: 'text', text: 'Echo: hello there' }])
    expect(msg.stop_reason).toBe('end_turn')
    expect(msg.usage).toEqual({
      input_tokens: estimateTokens('hello there'),
      output_tokens: estimateTokens('Echo: hello there'),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    })
    expect(p.count('/v1/messages')).toBe(1)
  })

  it('streams the real event sequence; finalMessage has text and cumulative usage', async () => {
    const stream = anthropic().messages.stream({
      model: MODEL_A,
      max_tokens: 100,
      messages: userMsg('stream me a few words please'),
    })
    const types: string[] = []
    const deltas: string[] = []
    stream.on('streamEvent', (ev) => types.push(ev.type))
    stream.on('text', (delta) => deltas.push(delta))
    const final = await stream.finalMessage()
    const expected = 'Echo: stream me a few words please'
    expect(final.content).toEqual([{ type: 'text', text: expected }])
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltas.join('')).toBe(expected)
    expect(final.stop_reason).toBe('end_turn')
    expect(final.usage.output_tokens).toBe(estimateTokens(expected))
    expect(final.usage.input_tokens).toBe(estimateTokens('stream me a few words please'))
    expect(types[0]).toBe('message_start')
    expect(types[1]).toBe('content_block_start')
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop'])
    expect(types.filter((t) => t === 'content_block_delta')).toHaveLength(deltas.length)
  })

  it('counts tokens', async () => {
    const res = await anthropic().messages.countTokens({
      model: MODEL_A,
      system: 'be brief',
      messages: userMsg('how many tokens is this?'),
    })
    expect(res.input_tokens).toBe(estimateTokens('be brief\nhow many tokens is this?'))
    expect(p.count('/v1/messages/count_tokens')).toBe(1)
  })

  it('cuts the answer at max_tokens and reports stop_reason max_tokens', async () => {
    p.setReply(() => 'x'.repeat(100))
    const msg = await anthropic().messages.create({
      model: MODEL_A,
      max_tokens: 3,
      messages: userMsg('long please'),
    })
    expect(msg.stop_reason).toBe('max_tokens')
    expect(msg.usage.output_tokens).toBe(3)
  })

  it('rejects an invalid request with 400 invalid_request_error', async () => {
    const err = await anthropic()
      .messages.create({ model: MODEL_A, max_tokens: 10, messages: [] })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(A.BadRequestError)
    expect((err as A.BadRequestError).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error' },
    })
  })

  it.each([0, -1, 1.5, '10'])(
    'rejects max_tokens %j with 400 invalid_request_error (an integer >= 1 is required)',
    async (maxTokens) => {
      const res = await post('/v1/messages', {
        model: MODEL_A,
        max_tokens: maxTokens,
        messages: userMsg('hello'),
      })
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringMatching(/^max_tokens: /) },
      })
    }
  )

  it('counts tokens without max_tokens', async () => {
    const res = await post('/v1/messages/count_tokens', { model: MODEL_A, messages: userMsg('a') })
    expect(res.status).toBe(200)
  })
})

describe('OpenAI Chat Completions', () => {
  it('rejects an empty messages array with 400 invalid_request_error', async () => {
    const err = await openai()
      .chat.completions.create({ model: MODEL_O, messages: [] })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(O.BadRequestError)
    expect((err as O.BadRequestError).error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringContaining("'messages'"),
    })
    expect(p.calls[0]?.status).toBe(400)
  })

  it('answers non-streaming with usage details', async () => {
    const res = await openai().chat.completions.create({
      model: MODEL_O,
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'hi chat' },
      ],
    })
    expect(res.object).toBe('chat.completion')
    expect(res.model).toBe(MODEL_O)
    expect(res.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Echo: hi chat' })
    expect(res.choices[0]?.finish_reason).toBe('stop')
    const prompt = estimateTokens('sys\nhi chat')
    const completion = estimateTokens('Echo: hi chat')
    expect(res.usage).toMatchObject({
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    })
  })

  it('streams chunks without a usage chunk unless include_usage is set', async () => {
    const stream = await openai().chat.completions.create({
      model: MODEL_O,
      messages: userMsg('no usage please'),
      stream: true,
    })
    let text = ''
    const chunks = []
    for await (const chunk of stream) {
      chunks.push(chunk)
      text += chunk.choices[0]?.delta.content ?? ''
    }
    expect(text).toBe('Echo: no usage please')
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true)
    expect(chunks.every((c) => c.choices.length === 1 && c.usage == null)).toBe(true)
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop')
  })

  it('streams a final choices:[] chunk with usage when include_usage is set', async () => {
    const stream = await openai().chat.completions.create({
      model: MODEL_O,
      messages: userMsg('usage please'),
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    const last = chunks.at(-1)
    expect(last?.choices).toEqual([])
    expect(last?.usage).toMatchObject({
      prompt_tokens: estimateTokens('usage please'),
      completion_tokens: estimateTokens('Echo: usage please'),
    })
    expect(chunks.slice(0, -1).every((c) => c.usage === null && c.choices.length === 1)).toBe(true)
  })
})

describe('OpenAI Responses', () => {
  it('answers non-streaming; output_text works', async () => {
    const res = await openai().responses.create({ model: MODEL_O, input: 'hi responses' })
    expect(res.object).toBe('response')
    expect(res.status).toBe('completed')
    expect(res.output_text).toBe('Echo: hi responses')
    expect(res.usage).toMatchObject({
      input_tokens: estimateTokens('hi responses'),
      output_tokens: estimateTokens('Echo: hi responses'),
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    })
  })

  it('streams typed events with responses.stream()', async () => {
    const stream = openai().responses.stream({
      model: MODEL_O,
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'stream this' }] }],
    })
    const deltas: string[] = []
    stream.on('response.output_text.delta', (ev) => deltas.push(ev.delta))
    const final = await stream.finalResponse()
    expect(final.output_text).toBe('Echo: stream this')
    expect(deltas.join('')).toBe('Echo: stream this')
    expect(final.usage?.output_tokens).toBe(estimateTokens('Echo: stream this'))
  })

  it('streams with create({ stream: true }) in the documented order', async () => {
    const stream = await openai().responses.create({
      model: MODEL_O,
      input: 'order',
      stream: true,
    })
    const types: string[] = []
    for await (const ev of stream) types.push(ev.type)
    expect(types.filter((t) => t !== 'response.output_text.delta')).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ])
    expect(types).toContain('response.output_text.delta')
  })

  it('cuts the answer at max_output_tokens: status incomplete, reason max_output_tokens', async () => {
    p.setReply(() => 'word '.repeat(200))
    const res = await openai().responses.create({
      model: MODEL_O,
      input: 'long please',
      max_output_tokens: 16,
    })
    expect(res.status).toBe('incomplete')
    expect(res.incomplete_details).toEqual({ reason: 'max_output_tokens' })
    expect(res.max_output_tokens).toBe(16)
    expect(res.usage?.output_tokens).toBe(16)
    expect(res.output_text).toBe('word '.repeat(200).slice(0, 64))
    expect(res.output[0]).toMatchObject({ type: 'message', status: 'incomplete' })
  })

  it('ends a cut stream with response.incomplete instead of response.completed', async () => {
    p.setReply(() => 'word '.repeat(200))
    const stream = await openai().responses.create({
      model: MODEL_O,
      input: 'long please',
      max_output_tokens: 16,
      stream: true,
    })
    const events = []
    for await (const ev of stream) events.push(ev)
    const types = events.map((e) => e.type)
    expect(types).not.toContain('response.completed')
    const last = events.at(-1)
    expect(last?.type).toBe('response.incomplete')
    if (last?.type !== 'response.incomplete') throw new Error('unreachable')
    expect(last.response).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      usage: { output_tokens: 16 },
    })
    expect(last.sequence_number).toBe(events.length - 1)
    // responses.stream() takes the final response from response.incomplete too.
    const final = await openai()
      .responses.stream({ model: MODEL_O, input: 'again', max_output_tokens: 16 })
      .finalResponse()
    expect(final.status).toBe('incomplete')
    expect(final.output_text).toBe('word '.repeat(200).slice(0, 64))
  })

  it('reports completed with no incomplete_details when the answer fits', async () => {
    const res = await openai().responses.create({
      model: MODEL_O,
      input: 'short',
      max_output_tokens: 16,
    })
    expect(res.status).toBe('completed')
    expect(res.incomplete_details).toBeNull()
    expect(res.output_text).toBe('Echo: short')
  })
})

describe('control API', () => {
  it('uses setReply and setUsage', async () => {
    p.setReply(({ api, lastUserText }) => `${api}:${lastUserText.toUpperCase()}`)
    p.setUsage({ inputTokens: 11, outputTokens: 22, cachedInputTokens: 5, reasoningTokens: 3 })
    const chat = await openai().chat.completions.create({
      model: MODEL_O,
      messages: userMsg('abc'),
    })
    expect(chat.choices[0]?.message.content).toBe('openai-chat:ABC')
    expect(chat.usage).toMatchObject({
      prompt_tokens: 11,
      completion_tokens: 22,
      prompt_tokens_details: { cached_tokens: 5 },
      completion_tokens_details: { reasoning_tokens: 3 },
    })
    const msg = await anthropic().messages.create({
      model: MODEL_A,
      max_tokens: 50,
      messages: userMsg('abc'),
    })
    expect(msg.content).toEqual([{ type: 'text', text: 'anthropic:ABC' }])
    expect(msg.usage).toMatchObject({ input_tokens: 11, cache_read_input_tokens: 5 })
  })

  it('streams with a delay between chunks', async () => {
    p.setStreamDelayMs(5)
    const final = await anthropic()
      .messages.stream({ model: MODEL_A, max_tokens: 50, messages: userMsg('slow one') })
      .finalMessage()
    expect(final.content).toEqual([{ type: 'text', text: 'Echo: slow one' }])
  })

  it('counts calls per path and reset clears them', async () => {
    await openai().responses.create({ model: MODEL_O, input: 'a' })
    await openai().chat.completions.create({ model: MODEL_O, messages: userMsg('b') })
    await openai().chat.completions.create({ model: MODEL_O, messages: userMsg('c') })
    expect(p.count()).toBe(3)
    expect(p.count('/v1/chat/completions')).toBe(2)
    expect(p.calls[1]?.body).toMatchObject({ messages: userMsg('b') })
    p.reset()
    expect(p.count()).toBe(0)
  })

  it('answers bad JSON with 400 and unknown routes with 404 in the provider shape', async () => {
    const bad = await fetch(`${p.openaiBaseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error' } })
    const missing = await fetch(`${p.url}/v1/messages/batches`, { method: 'POST', body: '{}' })
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error' },
    })
    expect(p.calls.map((c) => c.status)).toEqual([400, 404])
  })

  it('redacts x-api-key and authorization in recorded headers', async () => {
    await anthropic().messages.create(
      { model: MODEL_A, max_tokens: 10, messages: userMsg('k') },
      { headers: { 'x-api-key': SECRET } }
    )
    await openai().chat.completions.create({ model: MODEL_O, messages: userMsg('k') })
    expect(p.calls[0]?.headers['x-api-key']).toBe('[redacted]')
    expect(p.calls[1]?.headers.authorization).toBe('[redacted]')
    for (const call of p.calls) {
      expect(call.headers.authorization ?? '[redacted]').toBe('[redacted]')
    }
    expect(JSON.stringify(p.calls)).not.toContain(SECRET)
  })
})

describe('injected failures', () => {
  it('429 surfaces as RateLimitError with retry-after (Anthropic)', async () => {
    p.failNext(1, { status: 429, retryAfter: 7 })
    const err = await anthropic()
      .messages.create({ model: MODEL_A, max_tokens: 10, messages: userMsg('x') })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(A.RateLimitError)
    const rl = err as A.RateLimitError
    expect(rl.status).toBe(429)
    expect(rl.headers.get('retry-after')).toBe('7')
    expect(rl.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } })
    expect(p.count()).toBe(1)
  })

  it('sends a retry-after header given in spec.headers as is, in any case', async () => {
    p.failNext(1, { status: 429, headers: { 'retry-after': '7' } })
    p.failNext(1, { status: 429, headers: { 'Retry-After': '9' } })
    const first = await post('/v1/messages', {
      model: MODEL_A,
      max_tokens: 10,
      messages: userMsg('x'),
    })
    expect(first.status).toBe(429)
    expect(first.headers.get('retry-after')).toBe('7')
    const second = await post('/v1/chat/completions', { model: MODEL_O, messages: userMsg('x') })
    expect(second.headers.get('retry-after')).toBe('9')
  })

  it('adds no retry-after to a 429 that carries retry-after-ms (as OpenAI sends)', async () => {
    p.failNext(1, { status: 429, headers: { 'retry-after-ms': '250' } })
    const res = await post('/v1/chat/completions', { model: MODEL_O, messages: userMsg('x') })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after-ms')).toBe('250')
    expect(res.headers.get('retry-after')).toBeNull()
  })

  it('retryAfter: null sends no retry-after; a number replaces the header; 429 defaults to 1', async () => {
    p.failNext(1, { status: 429, retryAfter: null })
    p.failNext(1, { status: 429, retryAfter: 2, headers: { 'retry-after': '7' } })
    p.failNext(1, { status: 429 })
    p.failNext(1, { status: 500 })
    const got = []
    for (let i = 0; i < 4; i++) {
      const res = await post('/v1/chat/completions', { model: MODEL_O, messages: userMsg('x') })
      got.push(res.headers.get('retry-after'))
    }
    expect(got).toEqual([null, '2', '1', null])
  })

  it('429 surfaces as RateLimitError with OpenAI error shape', async () => {
    p.failNext(1, { status: 429, retryAfter: 3 })
    const err = await openai()
      .chat.completions.create({ model: MODEL_O, messages: userMsg('x') })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(O.RateLimitError)
    const rl = err as O.RateLimitError
    expect(rl.headers.get('retry-after')).toBe('3')
    expect(rl.code).toBe('rate_limit_exceeded')
    expect(rl.error).toMatchObject({ type: 'requests', param: null })
  })

  it('the SDK retries once after a 429 (maxRetries 1) and succeeds', async () => {
    p.failNext(1, { status: 429, retryAfter: 0.01 })
    const msg = await anthropic({ maxRetries: 1 }).messages.create({
      model: MODEL_A,
      max_tokens: 10,
      messages: userMsg('retry'),
    })
    expect(msg.content).toEqual([{ type: 'text', text: 'Echo: retry' }])
    expect(p.calls.map((c) => c.status)).toEqual([429, 200])
    expect(p.calls[1]?.headers['x-stainless-retry-count']).toBe('1')

    p.reset()
    p.failNext(1, { status: 429, retryAfter: 0.01 })
    const res = await openai({ maxRetries: 1 }).responses.create({ model: MODEL_O, input: 'r' })
    expect(res.output_text).toBe('Echo: r')
    expect(p.calls.map((c) => c.status)).toEqual([429, 200])
  })

  it('529 is an OverloadedError (an InternalServerError) in the Anthropic SDK', async () => {
    p.failNext(1, { status: 529 })
    const err = await anthropic()
      .messages.create({ model: MODEL_A, max_tokens: 10, messages: userMsg('x') })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(A.OverloadedError)
    expect(err).toBeInstanceOf(A.InternalServerError)
    expect((err as A.APIError).error).toMatchObject({ error: { type: 'overloaded_error' } })
  })

  it('500 is an InternalServerError in both SDKs', async () => {
    p.failNext(2, { status: 500 })
    const a = await anthropic()
      .messages.create({ model: MODEL_A, max_tokens: 10, messages: userMsg('x') })
      .catch((e: unknown) => e)
    expect(a).toBeInstanceOf(A.InternalServerError)
    expect((a as A.APIError).error).toMatchObject({ error: { type: 'api_error' } })
    const o = await openai()
      .responses.create({ model: MODEL_O, input: 'x' })
      .catch((e: unknown) => e)
    expect(o).toBeInstanceOf(O.InternalServerError)
    expect((o as O.APIError).type).toBe('server_error')
  })

  it('400 is a BadRequestError; failNext and hangNext queue in order', async () => {
    p.failNext(1, { status: 400, body: { error: { message: 'custom', type: 'x', code: 'y' } } })
    const err = await openai()
      .chat.completions.create({ model: MODEL_O, messages: userMsg('x') })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(O.BadRequestError)
    expect((err as O.APIError).code).toBe('y')
    const ok = await openai().chat.completions.create({ model: MODEL_O, messages: userMsg('z') })
    expect(ok.choices[0]?.message.content).toBe('Echo: z')
  })

  it('a hung request hits the SDK timeout and the server records the abort', async () => {
    p.hangNext(1)
    const err = await anthropic({ timeout: 200 })
      .messages.create({ model: MODEL_A, max_tokens: 10, messages: userMsg('hang') })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(A.APIConnectionTimeoutError)
    await p.idle()
    expect(p.calls).toHaveLength(1)
    expect(p.calls[0]).toMatchObject({ status: undefined, aborted: true, broken: false })

    p.reset()
    p.hangNext(1)
    const oerr = await openai({ timeout: 200 })
      .chat.completions.create({ model: MODEL_O, messages: userMsg('hang') })
      .catch((e: unknown) => e)
    expect(oerr).toBeInstanceOf(O.APIConnectionTimeoutError)
    await p.idle()
    expect(p.calls[0]?.aborted).toBe(true)
  })

  it('records a client abort mid-stream', async () => {
    p.setStreamDelayMs(20)
    const controller = new AbortController()
    const stream = await openai().chat.completions.create(
      { model: MODEL_O, messages: userMsg('one two three four five six'), stream: true },
      { signal: controller.signal }
    )
    for await (const _chunk of stream) {
      controller.abort()
    }
    await p.idle()
    expect(p.calls[0]).toMatchObject({ status: 200, aborted: true })
  })

  it('breakStreamAfter drops the connection mid-answer', async () => {
    p.breakStreamAfter(4)
    const stream = anthropic().messages.stream({
      model: MODEL_A,
      max_tokens: 50,
      messages: userMsg('this answer will be cut off'),
    })
    const deltas: string[] = []
    stream.on('text', (d) => deltas.push(d))
    const err = await stream.finalMessage().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect(deltas).toEqual(['Echo: '])
    await p.idle()
    expect(p.calls[0]).toMatchObject({ broken: true, aborted: false })

    p.reset()
    const ok = await anthropic()
      .messages.stream({ model: MODEL_A, max_tokens: 50, messages: userMsg('fine now') })
      .finalMessage()
    expect(ok.content).toEqual([{ type: 'text', text: 'Echo: fine now' }])
  })
})

describe('errorStreamAfter', () => {
  it('sends the in-stream error event of each API after the first events', async () => {
    p.errorStreamAfter(2, 'Overloaded mid-stream')
    const anthropicStream = await anthropic().messages.create({
      model: MODEL_A,
      max_tokens: 50,
      messages: userMsg('one two three'),
      stream: true,
    })
    const seen: string[] = []
    const aErr = await (async () => {
      for await (const e of anthropicStream) seen.push(e.type)
    })().catch((e: unknown) => e)
    expect(seen).toEqual(['message_start', 'content_block_start'])
    expect(aErr).toBeInstanceOf(A.APIError)
    expect((aErr as A.APIError).error).toMatchObject({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded mid-stream' },
    })

    p.errorStreamAfter(1)
    const chat = await openai().chat.completions.create({
      model: MODEL_O,
      messages: userMsg('one two'),
      stream: true,
    })
    let chunks = 0
    const cErr = await (async () => {
      for await (const _ of chat) chunks++
    })().catch((e: unknown) => e)
    expect(chunks).toBe(1)
    expect(cErr).toBeInstanceOf(O.APIError)

    p.errorStreamAfter(1, 'failed here')
    const responses = await openai().responses.create({
      model: MODEL_O,
      input: 'one two',
      stream: true,
    })
    const types: string[] = []
    for await (const e of responses) types.push(e.type)
    expect(types).toEqual(['response.created', 'error'])
    expect(p.calls.map((c) => c.status)).toEqual([200, 200, 200])
  })
})

describe('holdStreamAfter', () => {
  it('sends the first events, then nothing until release()', async () => {
    const hold = p.holdStreamAfter(1)
    const stream = await openai().chat.completions.create({
      model: MODEL_O,
      messages: userMsg('held back answer'),
      stream: true,
    })
    const reader = stream[Symbol.asyncIterator]()
    const first = await reader.next()
    expect(first.value?.choices[0]?.delta.role).toBe('assistant')
    await hold.reached
    let delivered = false
    const second = reader.next().then((r) => {
      delivered = true
      return r
    })
    // A few turns of the event loop with the socket idle: the rest is still held back.
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 5))
    expect(delivered).toBe(false)
    expect(p.calls[0]).toMatchObject({ status: 200, aborted: false })
    hold.release()
    let text = (await second).value?.choices[0]?.delta.content ?? ''
    for (let r = await reader.next(); !r.done; r = await reader.next()) {
      text += r.value.choices[0]?.delta.content ?? ''
    }
    expect(text).toBe('Echo: held back answer')
  })

  it('close() ends a held stream; reset() forgets a pending hold', async () => {
    const own = await startFakeProvider()
    const hold = own.holdStreamAfter(1)
    const client = new OpenAI({ apiKey: SECRET, baseURL: own.openaiBaseURL, maxRetries: 0 })
    const stream = await client.chat.completions.create({
      model: MODEL_O,
      messages: userMsg('never finished'),
      stream: true,
    })
    const reading = (async () => {
      for await (const _ of stream) {
        // drain until the connection ends
      }
    })().catch((e: unknown) => e)
    await hold.reached
    await own.close()
    await reading
    expect(own.calls[0]?.aborted).toBe(false)

    p.holdStreamAfter(0)
    p.reset() // forgets the pending hold: the next stream is not held
    const done = await openai().chat.completions.create({
      model: MODEL_O,
      messages: userMsg('not held'),
      stream: true,
    })
    let text = ''
    for await (const c of done) text += c.choices[0]?.delta.content ?? ''
    expect(text).toBe('Echo: not held')
  })
})

describe('close()', () => {
  it('destroys hung sockets so pending requests fail and close resolves', async () => {
    const own = await startFakeProvider()
    own.hangNext(1)
    const client = new OpenAI({ apiKey: SECRET, baseURL: own.openaiBaseURL, maxRetries: 0 })
    const pending = client.chat.completions
      .create({ model: MODEL_O, messages: userMsg('forever') })
      .catch((e: unknown) => e)
    while (own.count() === 0) await new Promise((r) => setTimeout(r, 5))
    await own.close()
    expect(await pending).toBeInstanceOf(O.APIConnectionError)
    expect(own.calls[0]?.aborted).toBe(false)
    await own.close()
  })
})
