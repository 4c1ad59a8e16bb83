// A client wrapped with a budget refuses the billed methods the wrapper cannot meter (OpenAI
// `embeddings.create`, `responses.compact`, legacy `completions.create`, `batches.create`;
// Anthropic `messages.batches.create`, `beta.messages.batches.create`, legacy
// `completions.create`) with `UnmeteredMethodError` (501 `UNMETERED_METHOD`, naming the method)
// before any request: a budget never fails open, and these would reach the provider uncharged.
// Its `withOptions()` copies refuse them too. Without a budget they pass through untouched, and the
// bare client is never changed.
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'

let fake: FakeProvider
let openai: OpenAI
let anthropic: Anthropic
beforeAll(async () => {
  fake = await startFakeProvider()
  openai = new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
  anthropic = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

/** A budget with room: the refusal is not about money left. */
const budget = () => createBudget({ limits: [{ period: 'day', usd: 1 }] })

const refused = (method: string) => ({
  code: 'UNMETERED_METHOD',
  status: 501,
  method,
  name: 'UnmeteredMethodError',
})

const batch = {
  requests: [
    {
      custom_id: 'a',
      params: {
        model: 'claude-haiku-4-5',
        max_tokens: 1000,
        messages: [{ role: 'user' as const, content: 'hi' }],
      },
    },
  ],
}

describe('OpenAI, wrapped with a budget', () => {
  it('refuses embeddings.create, responses.compact, completions.create and batches.create before any request', async () => {
    const client = wrapOpenAI(openai, { budget: budget(), subject: 'u' })
    const calls: Array<[string, () => PromiseLike<unknown>]> = [
      [
        'embeddings.create',
        () => client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' }),
      ],
      [
        'responses.compact',
        () => client.responses.compact({ model: 'gpt-4o-mini', input: 'a conversation' } as never),
      ],
      [
        'completions.create',
        () => client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'hi' }),
      ],
      [
        'batches.create',
        () =>
          client.batches.create({
            input_file_id: 'file-1',
            endpoint: '/v1/chat/completions',
            completion_window: '24h',
          }),
      ],
    ]
    for (const [method, call] of calls) {
      await expect(call()).rejects.toMatchObject(refused(method))
    }
    expect(fake.count()).toBe(0)
  })

  it('refuses through withResponse() and in withOptions() copies; the metered methods still answer', async () => {
    const client = wrapOpenAI(openai, { budget: budget(), subject: 'u' })
    const input = { model: 'text-embedding-3-small', input: 'hello' }
    await expect(client.embeddings.create(input).withResponse()).rejects.toMatchObject(
      refused('embeddings.create')
    )
    const copy = client.withOptions({ timeout: 5000 })
    await expect(copy.embeddings.create(input)).rejects.toMatchObject(refused('embeddings.create'))
    expect(fake.count()).toBe(0)
    const answer = await copy.chat.completions.create({
      model: 'gpt-4o-mini',
      max_completion_tokens: 20,
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(answer.choices[0]?.message.content).toBe('Echo: hi')
    expect(fake.count()).toBe(1)
  })

  it('without a budget, embeddings.create reaches the provider as with the bare client', async () => {
    const client = wrapOpenAI(openai, { subject: 'u' })
    const error = await client.embeddings
      .create({ model: 'text-embedding-3-small', input: 'hello' })
      .catch((e: unknown) => e)
    // The fake provider has no embeddings route: its 404 shows the request was sent.
    expect(error).toMatchObject({ status: 404 })
    expect(fake.count()).toBe(1)
  })

  it('leaves the bare client untouched', async () => {
    wrapOpenAI(openai, { budget: budget(), subject: 'u' })
    const error = await openai.embeddings
      .create({ model: 'text-embedding-3-small', input: 'hello' })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 404 })
    expect(fake.count()).toBe(1)
  })
})

describe('Anthropic, wrapped with a budget', () => {
  it('refuses messages.batches.create and beta.messages.batches.create before any request', async () => {
    const client = wrapAnthropic(anthropic, { budget: budget(), subject: 'u' })
    await expect(client.messages.batches.create(batch)).rejects.toMatchObject(
      refused('messages.batches.create')
    )
    await expect(client.beta.messages.batches.create(batch)).rejects.toMatchObject(
      refused('beta.messages.batches.create')
    )
    expect(fake.count()).toBe(0)
  })

  it('messages.create and the messages.stream() helper still go through the budget', async () => {
    const b = budget()
    const client = wrapAnthropic(anthropic, { budget: b, subject: 'u' })
    const params = {
      model: 'claude-haiku-4-5',
      max_tokens: 50,
      messages: [{ role: 'user' as const, content: 'hi' }],
    }
    await client.messages.create(params)
    await client.messages.stream(params).finalMessage()
    expect(fake.count('/v1/messages')).toBe(2)
    expect((await b.spend('u')).totalMicros).toBeGreaterThan(0)
  })
})
