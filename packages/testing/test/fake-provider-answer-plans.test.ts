/**
 * answerNext (refusals, stop / finish reasons, incomplete answers, usage as given, the model
 * answered with, Chat `n` choices and their texts, Responses failures) and holdNext, through the real SDKs; and the request checks
 * that came with them (Chat `n`, `service_tier`, Responses tool outputs).
 */
import Anthropic from '@anthropic-ai/sdk'
import OpenAI, * as O from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { estimateTokens, type FakeProvider, startFakeProvider } from '../src/fake-provider/index.js'

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

const anthropic = () =>
  new Anthropic({ apiKey: 'test', baseURL: p.anthropicBaseURL, maxRetries: 0 })
const openai = () => new OpenAI({ apiKey: 'test', baseURL: p.openaiBaseURL, maxRetries: 0 })

const MODEL_A = 'claude-haiku-4-5'
const MODEL_O = 'gpt-4o-mini'
const userMsg = (text: string) => [{ role: 'user' as const, content: text }]
const ask = (text = 'hello') => ({ model: MODEL_A, max_tokens: 100, messages: userMsg(text) })
const chat = (text = 'hello') => ({ model: MODEL_O, messages: userMsg(text) })

/** A raw JSON POST, for requests the SDKs' types would not let through. */
const post = (path: string, body: unknown) =>
  fetch(`${p.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

/** Every event of an SDK stream. */
async function all<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const e of stream) out.push(e)
  return out
}

describe('answerNext: Anthropic', () => {
  it('a stop reason of the plan, in the answer and at the end of the stream', async () => {
    p.answerNext(2, { stopReason: 'pause_turn' })
    const msg = await anthropic().messages.create(ask())
    expect(msg.stop_reason).toBe('pause_turn')
    expect(msg.content).toEqual([{ type: 'text', text: 'Echo: hello' }])
    const events = await all(await anthropic().messages.create({ ...ask(), stream: true }))
    const delta = events.find((e) => e.type === 'message_delta')
    expect(delta).toMatchObject({ delta: { stop_reason: 'pause_turn' } })
    // Taken: the next answer is the default one.
    expect((await anthropic().messages.create(ask())).stop_reason).toBe('end_turn')
  })

  it("a refusal: its text, stop_reason 'refusal'", async () => {
    p.answerNext(2, { refusal: 'I cannot help with that.' })
    const msg = await anthropic().messages.create(ask())
    expect(msg).toMatchObject({
      stop_reason: 'refusal',
      content: [{ type: 'text', text: 'I cannot help with that.' }],
    })
    const final = await anthropic().messages.stream(ask()).finalMessage()
    expect(final).toMatchObject({
      stop_reason: 'refusal',
      content: [{ type: 'text', text: 'I cannot help with that.' }],
    })
  })

  it('a malformed usage is sent as given; message_start keeps the input count and 1 output token', async () => {
    p.answerNext(2, { usage: { inputTokens: 12, outputTokens: -5 } })
    const msg = await anthropic().messages.create(ask())
    expect(msg.usage).toMatchObject({ input_tokens: 12, output_tokens: -5 })
    const events = await all(await anthropic().messages.create({ ...ask(), stream: true }))
    expect(events[0]).toMatchObject({
      type: 'message_start',
      message: { usage: { input_tokens: 12, output_tokens: 1 } },
    })
    expect(events.filter((e) => e.type === 'message_delta')).toEqual([
      expect.objectContaining({ usage: expect.objectContaining({ output_tokens: -5 }) }),
    ])
  })

  it('usageUpdates: extra cumulative message_delta events before the final one, in order', async () => {
    p.setReply(() => 'hi')
    p.answerNext(1, {
      usage: { outputTokens: -5 },
      usageUpdates: [{ inputTokens: 12, outputTokens: 30 }, { outputTokens: 31 }],
    })
    const events = await all(await anthropic().messages.create({ ...ask(), stream: true }))
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_delta',
      'message_delta',
      'message_stop',
    ])
    const usages = events.flatMap((e) => (e.type === 'message_delta' ? [e.usage] : []))
    const input = estimateTokens('hello')
    expect(usages).toMatchObject([
      { input_tokens: 12, output_tokens: 30 },
      { input_tokens: input, output_tokens: 31 },
      { input_tokens: input, output_tokens: -5 },
    ])
  })

  it('the model answered with', async () => {
    p.answerNext(1, { model: 'claude-haiku-4-5-20251001' })
    expect((await anthropic().messages.create(ask())).model).toBe('claude-haiku-4-5-20251001')
  })
})

describe('answerNext: Chat Completions', () => {
  it('finishReasons per choice of an n = 3 request; usage bills every choice', async () => {
    p.answerNext(1, { finishReasons: ['stop', 'content_filter'] })
    const res = await openai().chat.completions.create({ ...chat('three'), n: 3 })
    expect(res.choices.map((c) => [c.index, c.finish_reason, c.message.content])).toEqual([
      [0, 'stop', 'Echo: three'],
      [1, 'content_filter', 'Echo: three'],
      [2, 'stop', 'Echo: three'],
    ])
    expect(res.usage?.completion_tokens).toBe(3 * estimateTokens('Echo: three'))
  })

  it('streams n choices, each with its own index and finish', async () => {
    p.answerNext(1, { finishReasons: ['length', 'tool_calls'] })
    const chunks = await all(
      await openai().chat.completions.create({ ...chat('two'), n: 2, stream: true })
    )
    const text = [0, 1].map((i) =>
      chunks
        .flatMap((c) => c.choices)
        .filter((c) => c.index === i)
        .map((c) => c.delta.content ?? '')
        .join('')
    )
    expect(text).toEqual(['Echo: two', 'Echo: two'])
    const finishes = chunks.flatMap((c) => c.choices.filter((x) => x.finish_reason !== null))
    expect(finishes.map((c) => [c.index, c.finish_reason])).toEqual([
      [0, 'length'],
      [1, 'tool_calls'],
    ])
  })

  it('a refusal: message.refusal with content null, or delta.refusal chunks; finish_reason stop', async () => {
    p.answerNext(2, { refusal: 'No can do.' })
    const res = await openai().chat.completions.create(chat())
    expect(res.choices[0]).toMatchObject({
      finish_reason: 'stop',
      message: { content: null, refusal: 'No can do.' },
    })
    const chunks = await all(await openai().chat.completions.create({ ...chat(), stream: true }))
    const deltas = chunks.map((c) => c.choices[0]?.delta)
    expect(deltas.map((d) => d?.refusal ?? '').join('')).toBe('No can do.')
    expect(deltas.every((d) => !d?.content)).toBe(true)
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop')
  })

  it('a fractional usage is sent as given, under the model the plan names', async () => {
    p.answerNext(1, {
      model: 'gpt-4o-2024-08-06',
      usage: { inputTokens: 10, outputTokens: 2.5 },
    })
    const res = await openai().chat.completions.create({ ...chat(), model: 'gpt-4o' })
    expect(res.model).toBe('gpt-4o-2024-08-06')
    expect(res.usage).toMatchObject({
      prompt_tokens: 10,
      completion_tokens: 2.5,
      total_tokens: 12.5,
    })
  })

  it('the usage chunk of a stream carries the plan usage', async () => {
    p.answerNext(1, { usage: { inputTokens: -3, outputTokens: 1 } })
    const chunks = await all(
      await openai().chat.completions.create({
        ...chat(),
        stream: true,
        stream_options: { include_usage: true },
      })
    )
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: -3, completion_tokens: 1, total_tokens: -2 },
    })
  })
})

describe('answerNext: Chat Completions choices', () => {
  it('each choice its own text (one beyond the list keeps the reply); usage bills them all', async () => {
    p.answerNext(1, { choices: ['first one', 'the second, longer one'] })
    const res = await openai().chat.completions.create({ ...chat('three'), n: 3 })
    expect(res.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([
      [0, 'first one', 'stop'],
      [1, 'the second, longer one', 'stop'],
      [2, 'Echo: three', 'stop'],
    ])
    expect(res.usage?.completion_tokens).toBe(
      estimateTokens('first one') +
        estimateTokens('the second, longer one') +
        estimateTokens('Echo: three')
    )
  })

  it('streams the choices interleaved, each finishing right after its last delta', async () => {
    // Given deltas are sent as given (a word split across two); a string is split into words.
    p.answerNext(1, { choices: [['the LE', 'AK is here'], 'one two three'] })
    const chunks = await all(
      await openai().chat.completions.create({ ...chat(), n: 2, stream: true })
    )
    const seen = chunks.flatMap((c) =>
      c.choices.map((x) => [x.index, x.finish_reason ?? x.delta.content] as const)
    )
    expect(seen).toEqual([
      [0, ''],
      [1, ''],
      [0, 'the LE'],
      [1, 'one '],
      [0, 'AK is here'],
      [1, 'two '],
      [0, 'stop'],
      [1, 'three'],
      [1, 'stop'],
    ])
  })

  it('cuts each choice at the request limit on its own (finish_reason length for a cut one)', async () => {
    // max_tokens 4: 16 characters (the fake's 4 per token), inside the second delta.
    p.answerNext(2, { choices: ['short', ['a much longer ', 'answer that is cut']] })
    const res = await openai().chat.completions.create({ ...chat(), n: 2, max_tokens: 4 })
    expect(res.choices.map((c) => [c.message.content, c.finish_reason])).toEqual([
      ['short', 'stop'],
      ['a much longer an', 'length'],
    ])
    const chunks = await all(
      await openai().chat.completions.create({ ...chat(), n: 2, max_tokens: 4, stream: true })
    )
    const deltas1 = chunks
      .flatMap((c) => c.choices)
      .filter((c) => c.index === 1)
      .map((c) => c.finish_reason ?? c.delta.content)
    expect(deltas1).toEqual(['', 'a much longer ', 'an', 'length'])
  })

  it('answers 500 for more choices than the request asks for', async () => {
    p.answerNext(1, { choices: ['a', 'b'] })
    const err = await openai()
      .chat.completions.create(chat())
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.InternalServerError)
    expect(String((err as Error).message)).toMatch(/2 choices planned for a request of n = 1/)
  })
})

describe('answerNext: Responses', () => {
  it('a refusal is a refusal content part, completed; streamed as response.refusal events', async () => {
    p.answerNext(2, { refusal: 'No.' })
    const res = await openai().responses.create({ model: MODEL_O, input: 'hello' })
    expect(res.status).toBe('completed')
    expect(res.output).toMatchObject([
      { type: 'message', content: [{ type: 'refusal', refusal: 'No.' }] },
    ])
    expect(res.output_text).toBe('')
    const events = await all(
      await openai().responses.create({ model: MODEL_O, input: 'hello', stream: true })
    )
    const types = events.map((e) => e.type)
    expect(types).toContain('response.refusal.delta')
    expect(types).toContain('response.refusal.done')
    expect(types).not.toContain('response.output_text.delta')
    expect(events.at(-1)).toMatchObject({
      type: 'response.completed',
      response: { output: [{ content: [{ type: 'refusal', refusal: 'No.' }] }] },
    })
  })

  it('incompleteReason ends the answer incomplete with that reason, the stream with response.incomplete', async () => {
    p.answerNext(2, { incompleteReason: 'content_filter' })
    const res = await openai().responses.create({ model: MODEL_O, input: 'hello' })
    expect(res).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'content_filter' },
    })
    const events = await all(
      await openai().responses.create({ model: MODEL_O, input: 'hello', stream: true })
    )
    expect(events.at(-1)).toMatchObject({
      type: 'response.incomplete',
      response: { status: 'incomplete', incomplete_details: { reason: 'content_filter' } },
    })
  })
})

describe('answerNext: a Responses failure', () => {
  it('the answer is failed with the error; the stream sends its deltas, then response.failed', async () => {
    const failure = { code: 'server_error', message: 'The model failed.' }
    p.answerNext(2, { failure })
    const res = await openai().responses.create({ model: MODEL_O, input: 'hello' })
    expect(res).toMatchObject({ status: 'failed', error: failure, incomplete_details: null })
    const events = await all(
      await openai().responses.create({ model: MODEL_O, input: 'hello', stream: true })
    )
    const types = events.map((e) => e.type)
    expect(types).toContain('response.output_text.delta')
    expect(types.filter((t) => t.endsWith('.done'))).toEqual([])
    expect(events.at(-1)).toMatchObject({
      type: 'response.failed',
      response: { status: 'failed', error: failure },
    })
    // Numbered as every event of a Responses stream.
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
  })
})

describe('answerNext: the queue and the plan checks', () => {
  it('is taken only by answered requests: not by a failed one nor by one refused as malformed', async () => {
    p.failNext(1, { status: 500 })
    p.answerNext(1, { stopReason: 'refusal' })
    await expect(anthropic().messages.create(ask())).rejects.toBeInstanceOf(
      Anthropic.InternalServerError
    )
    const bad = await post('/v1/messages', { model: MODEL_A, messages: userMsg('x') })
    expect(bad.status).toBe(400)
    expect((await anthropic().messages.create(ask())).stop_reason).toBe('refusal')
    expect((await anthropic().messages.create(ask())).stop_reason).toBe('end_turn')
  })

  it('refuses a plan with an unknown field or a field of the wrong type, naming it', () => {
    expect(() => p.answerNext(1, { stopreason: 'x' } as never)).toThrow(
      /unknown field 'stopreason'/
    )
    expect(() => p.answerNext(1, { usage: { outputTokens: '5' } } as never)).toThrow(
      /answerNext\.usage\.outputTokens: must be a number/
    )
    expect(() => p.answerNext(1, { usage: { output_tokens: 5 } } as never)).toThrow(
      /unknown field 'output_tokens'/
    )
    expect(() => p.answerNext(1, { finishReasons: 'stop' } as never)).toThrow(/finishReasons/)
    expect(() => p.answerNext(1, { refusal: '' })).toThrow(/refusal/)
    expect(() => p.answerNext(1, { choices: [] })).toThrow(/answerNext\.choices/)
    expect(() => p.answerNext(1, { choices: [['a', '']] })).toThrow(/answerNext\.choices/)
    expect(() => p.answerNext(1, { choices: [3] } as never)).toThrow(/answerNext\.choices/)
    expect(() => p.answerNext(1, { failure: { code: 'x' } } as never)).toThrow(
      /answerNext\.failure\.message/
    )
    expect(() =>
      p.answerNext(1, { failure: { code: 'x', message: 'y', status: 1 } } as never)
    ).toThrow(/unknown field 'status'/)
  })

  it('refuses a plan of two answers that exclude each other', () => {
    const failure = { code: 'x', message: 'y' }
    expect(() => p.answerNext(1, { choices: ['a'], refusal: 'no' })).toThrow(
      /'choices' and 'refusal' exclude each other/
    )
    expect(() => p.answerNext(1, { failure, refusal: 'no' })).toThrow(/'failure' and 'refusal'/)
    expect(() => p.answerNext(1, { failure, incompleteReason: 'content_filter' })).toThrow(
      /'failure' and 'incompleteReason'/
    )
  })

  it('answers 500 when the plan has a field the request API cannot honour', async () => {
    p.answerNext(1, { finishReasons: ['stop'] })
    const err = await anthropic()
      .messages.create(ask())
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Anthropic.InternalServerError)
    expect(String((err as Error).message)).toMatch(
      /'finishReasons' does not apply to anthropic requests/
    )
  })
})

describe('request checks', () => {
  it.each([
    [0, 'integer_below_min_value'],
    [129, 'integer_above_max_value'],
    [1.5, 'invalid_type'],
    ['2', 'invalid_type'],
  ])('refuses Chat n = %j with 400 %s', async (n, code) => {
    const res = await post('/v1/chat/completions', { ...chat(), n })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: { param: 'n', code } })
  })

  it('refuses an unknown service_tier and reports the tier served', async () => {
    const bad = await post('/v1/chat/completions', { ...chat(), service_tier: 'fast' })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: { param: 'service_tier' } })
    const priority = await openai().chat.completions.create({ ...chat(), service_tier: 'priority' })
    expect(priority.service_tier).toBe('priority')
    const auto = await openai().chat.completions.create({ ...chat(), service_tier: 'auto' })
    expect(auto.service_tier).toBe('default')
    const flex = await openai().responses.create({
      model: MODEL_O,
      input: 'hi',
      service_tier: 'flex',
    })
    expect(flex.service_tier).toBe('flex')
  })

  it('refuses a Responses function_call_output that answers no function_call of the input', async () => {
    const output = { type: 'function_call_output' as const, call_id: 'call_9', output: 'x' }
    const err = await openai()
      .responses.create({ model: MODEL_O, input: [{ role: 'user', content: 'hi' }, output] })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(O.BadRequestError)
    expect(err).toMatchObject({ param: 'input' })
    const ok = await openai().responses.create({
      model: MODEL_O,
      input: [
        { role: 'user', content: 'hi' },
        { type: 'function_call', call_id: 'call_9', name: 'f', arguments: '{}' },
        output,
      ],
    })
    expect(ok.status).toBe('completed')
  })
})

describe('holdNext', () => {
  it('records the request, then answers it only on release()', async () => {
    const hold = p.holdNext()
    let answered = false
    const pending = anthropic()
      .messages.create(ask('held'))
      .then((m) => {
        answered = true
        return m
      })
    await hold.reached
    expect(p.calls).toHaveLength(1)
    expect(p.calls[0]).toMatchObject({ path: '/v1/messages', status: undefined })
    // A few turns of the event loop: still unanswered.
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 5))
    expect(answered).toBe(false)
    hold.release()
    expect((await pending).content).toEqual([{ type: 'text', text: 'Echo: held' }])
    // Only the next request was held.
    expect((await anthropic().messages.create(ask('free'))).content[0]).toMatchObject({
      text: 'Echo: free',
    })
  })

  it('holds a stream before its headers; reset() releases a held request', async () => {
    const hold = p.holdNext()
    let opened = false
    const pending = openai()
      .chat.completions.create({ ...chat('later'), stream: true })
      .then((s) => {
        opened = true
        return s
      })
    await hold.reached
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 5))
    expect(opened).toBe(false)
    p.reset()
    const chunks = await all(await pending)
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Echo: later')
  })

  it('close() ends a held request', async () => {
    const own = await startFakeProvider()
    const hold = own.holdNext()
    const client = new OpenAI({ apiKey: 'test', baseURL: own.openaiBaseURL, maxRetries: 0 })
    const pending = client.chat.completions.create(chat()).catch((e: unknown) => e)
    await hold.reached
    await own.close()
    // Released by close(): the socket is gone, so the client sees a connection error.
    expect(await pending).toBeInstanceOf(O.APIConnectionError)
  })
})
