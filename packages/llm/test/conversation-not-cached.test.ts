/**
 * A Responses call in a server-side conversation (`conversation`) adds its turn to that
 * conversation: it is never answered from the cache nor shared with an identical call in flight,
 * or the conversation would miss the turn and its next call would run on a history the caller
 * never saw. The real openai SDK calls the fake provider; its call count is what is checked.
 */
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapOpenAI } from '../src/openai/index.js'
import { mapCache } from './helpers.js'

let fake: FakeProvider

beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const RESPONSES = '/v1/responses'
const client = () =>
  wrapOpenAI(new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 }), {
    cache: mapCache(),
  })
const inConversation = {
  model: 'gpt-4o-mini',
  temperature: 0,
  input: 'next',
  conversation: 'conv_1',
}

describe('Responses calls in a server-side conversation', () => {
  it('reach the provider every time (two identical calls: two provider calls)', async () => {
    const openai = client()
    await openai.responses.create(inConversation)
    await openai.responses.create(inConversation)
    expect(fake.count(RESPONSES)).toBe(2)
  })

  it('are not shared with an identical call in flight', async () => {
    const openai = client()
    await Promise.all([
      openai.responses.create(inConversation),
      openai.responses.create(inConversation),
    ])
    expect(fake.count(RESPONSES)).toBe(2)
  })

  it('streamed too', async () => {
    const openai = client()
    for (let i = 0; i < 2; i++) {
      const stream = await openai.responses.create({ ...inConversation, stream: true })
      for await (const _event of stream) {
        // read to the end
      }
    }
    expect(fake.count(RESPONSES)).toBe(2)
  })

  it('while the same request outside a conversation is cached (one provider call)', async () => {
    const openai = client()
    const { conversation: _left, ...plain } = inConversation
    await openai.responses.create(plain)
    await openai.responses.create(plain)
    expect(fake.count(RESPONSES)).toBe(1)
  })
})
