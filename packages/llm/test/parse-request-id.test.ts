// The SDK helpers that post-process an answer (`chat.completions.parse()`, `responses.parse()`)
// call `_thenUnwrap` on what `create` returns, and build a new object from the answer. The SDK's
// own `_thenUnwrap` puts the request id back on it (`_request_id`, typed on every answer as
// `WithRequestID<T>`): the wrapper's does too, from the live call's `x-request-id`, and `null` for
// a cache hit (as `withResponse()`'s `request_id`).
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { LlmCallPromise } from '../src/shared/call-promise.js'
import { mapCache } from './helpers.js'
import { OPENAI_SDKS } from './openai-sdks.js'

let fake: FakeProvider

beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => {
  fake.reset()
  fake.setReply(() => '{"answer":42}')
})

const chatBody = (text: string) => ({
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [{ role: 'user' as const, content: text }],
  response_format: {
    type: 'json_schema' as const,
    json_schema: { name: 'answer', schema: { type: 'object' } },
  },
})
const responsesBody = (text: string) => ({
  model: 'gpt-4o-mini',
  temperature: 0,
  input: text,
  text: { format: { type: 'json_schema' as const, name: 'answer', schema: { type: 'object' } } },
})

for (const sdk of OPENAI_SDKS) {
  describe.skipIf(!sdk.runs)(`${sdk.name}: parse() helpers keep the request id`, () => {
    let raw: OpenAI
    beforeAll(() => {
      raw = new sdk.OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    })

    it('chat.completions.parse(): the parsed completion carries the live call’s _request_id, as the bare SDK’s', async () => {
      const bare = await raw.chat.completions.parse(chatBody('bare'))
      // The reference: the bare SDK puts the provider's request id on the parsed answer.
      expect(bare._request_id).toMatch(/^req_fake_/)

      const call = wrapOpenAI(raw, {}).chat.completions.parse(chatBody('wrapped'))
      const parsed = await call
      const { request_id } = await call.withResponse()
      expect(parsed.choices[0]?.message.parsed).toEqual({ answer: 42 })
      expect(request_id).toMatch(/^req_fake_/)
      expect(parsed._request_id).toBe(request_id)
      // Not enumerable, as the SDK's: a JSON copy of the answer is the answer.
      expect(Object.keys(parsed)).not.toContain('_request_id')
    })

    it('responses.parse(): the parsed response carries the live call’s _request_id, as the bare SDK’s', async () => {
      const bare = await raw.responses.parse(responsesBody('bare'))
      expect(bare._request_id).toMatch(/^req_fake_/)

      const call = wrapOpenAI(raw, {}).responses.parse(responsesBody('wrapped'))
      const parsed = await call
      const { request_id } = await call.withResponse()
      expect(parsed.output_parsed).toEqual({ answer: 42 })
      expect(request_id).toMatch(/^req_fake_/)
      expect(parsed._request_id).toBe(request_id)
      expect(Object.keys(parsed)).not.toContain('_request_id')
    })

    it('a parsed cache hit carries _request_id null (no provider request), as withResponse()', async () => {
      const client = wrapOpenAI(raw, { cache: mapCache() })
      await client.chat.completions.parse(chatBody('hit'))
      const call = client.chat.completions.parse(chatBody('hit'))
      const parsed = await call
      expect(fake.count('/v1/chat/completions')).toBe(1)
      expect(parsed.choices[0]?.message.parsed).toEqual({ answer: 42 })
      expect((await call.withResponse()).request_id).toBeNull()
      expect(parsed._request_id).toBeNull()
    })
  })
}

describe('LlmCallPromise._thenUnwrap', () => {
  const outcome = (requestId: unknown) =>
    Promise.resolve({
      data: { a: 1 },
      response: new Response(null),
      extras: { request_id: requestId },
      toResponse: () => new Response(null),
    })

  it('leaves arrays, primitives and frozen objects as the transform made them', async () => {
    const promise = new LlmCallPromise(outcome('req_1'))
    expect(await promise._thenUnwrap(() => [1, 2])).toEqual([1, 2])
    expect(Object.getOwnPropertyNames(await promise._thenUnwrap(() => [1]))).not.toContain(
      '_request_id'
    )
    expect(await promise._thenUnwrap(() => 'text')).toBe('text')
    const frozen = Object.freeze({ b: 2 })
    expect(await promise._thenUnwrap(() => frozen)).toBe(frozen)
  })

  it('sets _request_id on the transformed object (null without one)', async () => {
    const withId = await new LlmCallPromise(outcome('req_1'))._thenUnwrap((d) => ({ ...d }))
    expect((withId as { _request_id?: unknown })._request_id).toBe('req_1')
    const without = await new LlmCallPromise(outcome(undefined))._thenUnwrap((d) => ({ ...d }))
    expect((without as { _request_id?: unknown })._request_id).toBeNull()
  })
})

// Both SDKs put `_request_id` (not enumerable) on every answer of `create()`: the `x-request-id`
// header, or `null` without one. A plain `create()` cache hit carries `null`, as a parsed hit and
// `withResponse()`'s `request_id` do: never `undefined`, a value the SDK never gives.
describe('a create() cache hit', () => {
  it('OpenAI chat: carries _request_id null (not enumerable), as a parsed hit and withResponse() do', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const client = wrapOpenAI(raw, { cache: mapCache() })
    const params = {
      model: 'gpt-4o-mini',
      temperature: 0,
      messages: [{ role: 'user' as const, content: 'hit me' }],
    }
    const live = await client.chat.completions.create(params)
    expect(live._request_id).toEqual(expect.any(String))
    const call = client.chat.completions.create(params)
    const hit = await call
    expect(fake.count('/v1/chat/completions')).toBe(1)
    expect((await call.withResponse()).request_id).toBeNull()
    expect(Object.getOwnPropertyNames(hit)).toContain('_request_id')
    expect(hit._request_id).toBeNull()
    expect(Object.keys(hit)).not.toContain('_request_id')
  })

  it('Anthropic messages: carries _request_id null (not enumerable)', async () => {
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const client = wrapAnthropic(raw, { cache: mapCache() })
    const params = {
      model: 'claude-haiku-4-5',
      max_tokens: 20,
      temperature: 0,
      messages: [{ role: 'user' as const, content: 'hit me' }],
    }
    const live = await client.messages.create(params)
    expect(live._request_id).toEqual(expect.any(String))
    const hit = await client.messages.create(params)
    expect(fake.count('/v1/messages')).toBe(1)
    expect(Object.getOwnPropertyNames(hit)).toContain('_request_id')
    expect(hit._request_id).toBeNull()
    expect(Object.keys(hit)).not.toContain('_request_id')
  })
})
