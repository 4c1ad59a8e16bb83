/**
 * The fake provider refuses what the real OpenAI API refuses, with the real error shapes, so a
 * wrapper that sends such a request fails in tests as it would in production.
 */
import OpenAI, * as O from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeProvider, startFakeProvider } from '../src/fake-provider/index.js'

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

const openai = () =>
  new OpenAI({ apiKey: 'sk-test', baseURL: p.openaiBaseURL, maxRetries: 0, timeout: 5000 })
const userMsg = (text: string) => [{ role: 'user' as const, content: text }]

/** A raw JSON POST, to read the error body exactly as sent. */
const post = (path: string, body: unknown) =>
  fetch(`${p.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

describe('Chat Completions: stream_options', () => {
  it("refuses stream_options on a non-streaming request (400, param 'stream_options')", async () => {
    // A wrapper that injects include_usage into non-streaming calls must fail here too.
    const error = await openai()
      .chat.completions.create({
        model: 'gpt-4o-mini',
        messages: userMsg('hi'),
        stream_options: { include_usage: true },
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(O.BadRequestError)
    expect((error as O.BadRequestError).param).toBe('stream_options')
  })

  it('answers with the real error body, also for an explicit stream: false', async () => {
    const res = await post('/v1/chat/completions', {
      model: 'gpt-4o-mini',
      messages: userMsg('hi'),
      stream: false,
      stream_options: { include_usage: true },
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      error: {
        message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        type: 'invalid_request_error',
        param: 'stream_options',
        code: null,
      },
    })
    expect(p.calls[0]?.status).toBe(400)
  })

  it('accepts stream_options on a streaming request', async () => {
    const stream = await openai().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: userMsg('hi'),
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('Echo: hi')
  })
})

describe('Responses: max_output_tokens', () => {
  it('refuses a max_output_tokens below 16 (400 integer_below_min_value)', async () => {
    const error = await openai()
      .responses.create({ model: 'gpt-4o-mini', input: 'hi', max_output_tokens: 10 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(O.BadRequestError)
    expect((error as O.BadRequestError).param).toBe('max_output_tokens')
    expect((error as O.BadRequestError).code).toBe('integer_below_min_value')
  })

  it('answers with the real error body, for a streaming request too', async () => {
    const res = await post('/v1/responses', {
      model: 'gpt-4o-mini',
      input: 'hi',
      max_output_tokens: 0,
      stream: true,
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      error: {
        message:
          "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 0 instead.",
        type: 'invalid_request_error',
        param: 'max_output_tokens',
        code: 'integer_below_min_value',
      },
    })
  })

  it('accepts max_output_tokens: 16', async () => {
    const res = await openai().responses.create({
      model: 'gpt-4o-mini',
      input: 'hi',
      max_output_tokens: 16,
    })
    expect(res.output_text).toBe('Echo: hi')
  })
})
