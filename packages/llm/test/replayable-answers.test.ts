/**
 * Only complete, successful answers are cached (DESIGN.md; the same rule as `@aikit/cache`'s LLM
 * cache): a refusal, a content-filtered or paused answer reaches its caller but is never replayed
 * to the next one. The real SDKs call the fake provider, whose `answerNext` plans shape each answer
 * (its stop or finish reasons, a refusal, an incomplete status); its call count is what is checked.
 */
import { type AnswerPlan, type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { mapCache } from './helpers.js'

let fake: FakeProvider

beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

/**
 * Calls `call` twice, each answer shaped by `plan` (when given); returns the provider calls made
 * to `path`.
 */
async function twice(
  path: string,
  plan: AnswerPlan | undefined,
  call: () => Promise<void>
): Promise<number> {
  if (plan) fake.answerNext(2, plan)
  await call()
  await call()
  return fake.count(path)
}

const anthropicParams = {
  model: 'claude-haiku-4-5',
  max_tokens: 50,
  temperature: 0,
  messages: [{ role: 'user' as const, content: 'same question' }],
}
/** A wrapped Anthropic client on the fake provider, with a cache of its own. */
const cachedAnthropic = () =>
  wrapAnthropic(new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 }), {
    cache: mapCache(),
  })

describe('Anthropic', () => {
  it.each([
    ['refusal', 2],
    ['pause_turn', 2],
    ['end_turn', 1],
    ['max_tokens', 1],
  ])('a non-streamed answer stopped for %s: %s provider call(s) for two', async (reason, calls) => {
    const client = cachedAnthropic()
    const made = await twice('/v1/messages', { stopReason: reason }, async () => {
      const answer = await client.messages.create(anthropicParams)
      expect(answer.stop_reason).toBe(reason)
    })
    expect(made).toBe(calls)
  })

  it.each([
    ['refusal', 2],
    ['end_turn', 1],
  ])('a stream stopped for %s: %s provider call(s) for two', async (reason, calls) => {
    const client = cachedAnthropic()
    const made = await twice('/v1/messages', { stopReason: reason }, async () => {
      const stream = await client.messages.create({ ...anthropicParams, stream: true })
      const events: Anthropic.RawMessageStreamEvent[] = []
      for await (const e of stream) events.push(e)
      expect(events.at(-1)?.type).toBe('message_stop')
      expect(events.find((e) => e.type === 'message_delta')).toMatchObject({
        delta: { stop_reason: reason },
      })
    })
    expect(made).toBe(calls)
  })
})

describe('OpenAI', () => {
  const CHAT = '/v1/chat/completions'
  const RESPONSES = '/v1/responses'
  const chatParams = {
    model: 'gpt-4o-mini',
    temperature: 0,
    messages: [{ role: 'user' as const, content: 'same question' }],
  }
  const responsesParams = { model: 'gpt-4o-mini', temperature: 0, input: 'same question' }
  /** A wrapped OpenAI client on the fake provider, with a cache of its own. */
  const cachedOpenAI = () =>
    wrapOpenAI(new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 }), {
      cache: mapCache(),
    })

  it.each([
    [['content_filter'], 2],
    [['stop', 'content_filter'], 2],
    [['stop'], 1],
    [['length', 'tool_calls'], 1],
  ])('a chat answer finishing %j: %s provider call(s) for two', async (reasons, calls) => {
    const client = cachedOpenAI()
    const made = await twice(CHAT, { finishReasons: reasons }, async () => {
      const answer = await client.chat.completions.create({ ...chatParams, n: reasons.length })
      expect(answer.choices.map((c) => c.finish_reason)).toEqual(reasons)
    })
    expect(made).toBe(calls)
  })

  it.each([
    ['content_filter', 2],
    ['stop', 1],
  ])('a chat stream finishing %s: %s provider call(s) for two', async (reason, calls) => {
    const client = cachedOpenAI()
    const made = await twice(CHAT, { finishReasons: [reason] }, async () => {
      const stream = await client.chat.completions.create({ ...chatParams, stream: true })
      let text = ''
      let finish: string | null | undefined
      for await (const c of stream) {
        text += c.choices[0]?.delta.content ?? ''
        finish = c.choices[0]?.finish_reason ?? finish
      }
      expect(text).toBe('Echo: same question')
      expect(finish).toBe(reason)
    })
    expect(made).toBe(calls)
  })

  it('a chat refusal (finish_reason stop, message.refusal set) is returned but not cached', async () => {
    const client = cachedOpenAI()
    const made = await twice(CHAT, { refusal: 'I cannot help with that.' }, async () => {
      const answer = await client.chat.completions.create(chatParams)
      expect(answer.choices[0]?.finish_reason).toBe('stop')
      expect(answer.choices[0]?.message.refusal).toBe('I cannot help with that.')
    })
    expect(made).toBe(2)
  })

  it('a chat stream carrying delta.refusal is not cached', async () => {
    const client = cachedOpenAI()
    const made = await twice(CHAT, { refusal: 'No.' }, async () => {
      const stream = await client.chat.completions.create({ ...chatParams, stream: true })
      let refusal = ''
      for await (const c of stream) refusal += c.choices[0]?.delta.refusal ?? ''
      expect(refusal).toBe('No.')
    })
    expect(made).toBe(2)
  })

  it('a completed Responses answer holding a refusal part is not cached', async () => {
    const client = cachedOpenAI()
    const made = await twice(RESPONSES, { refusal: 'No.' }, async () => {
      const answer = await client.responses.create(responsesParams)
      expect(answer.status).toBe('completed')
      expect(answer.output).toMatchObject([{ content: [{ type: 'refusal', refusal: 'No.' }] }])
    })
    expect(made).toBe(2)
  })

  it.each([
    ['completed', undefined, 1],
    ['incomplete', 'max_output_tokens', 1],
    ['incomplete', 'content_filter', 2],
  ])('a Responses answer %s (%s): %s provider call(s) for two', async (status, reason, calls) => {
    const client = cachedOpenAI()
    const plan = reason === undefined ? undefined : { incompleteReason: reason }
    const made = await twice(RESPONSES, plan, async () => {
      const answer = await client.responses.create(responsesParams)
      expect(answer.status).toBe(status)
      expect(answer.incomplete_details?.reason).toBe(reason)
    })
    expect(made).toBe(calls)
  })
})
