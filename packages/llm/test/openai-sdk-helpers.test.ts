// The OpenAI SDK helpers built on `create` go through the wrapper: `chat.completions.runTools()`
// (each turn charged and recorded), and zod 4 structured outputs through
// `chat.completions.parse()` / `responses.parse()` (parsed live and on a cache hit, charged once)
// and `chat.completions.stream()` (parsed).
import { createRequire } from 'node:module'
import { createBudget, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import OpenAI from 'openai'
import { zodResponseFormat, zodTextFormat } from 'openai/helpers/zod'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapOpenAI } from '../src/openai/index.js'
import { mapCache, recorders, until } from './helpers.js'

// zod 4, the copy openai resolves (not a dependency of this package: typed as the helpers take it).
const req = createRequire(createRequire(import.meta.url).resolve('openai'))
type ZodSchema = Parameters<typeof zodResponseFormat>[0]
const { z } = req('zod') as {
  z: { object(shape: Record<string, unknown>): ZodSchema; number(): unknown }
}

let fake: FakeProvider
let raw: OpenAI
beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const Answer = z.object({ answer: z.number() })

describe('openai SDK helpers', () => {
  it('chat.completions.runTools(): each turn is charged and recorded', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const { metrics } = recorders()
    const client = wrapOpenAI(raw, { budget, metrics, subject: 'u' })
    const runner = client.chat.completions.runTools({
      model: 'gpt-4o-mini',
      max_completion_tokens: 20,
      messages: [{ role: 'user', content: 'tools' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'f',
            description: 'f',
            parameters: { type: 'object', properties: {} },
            function: () => 'ok',
          },
        },
      ],
    })
    expect(await runner.finalContent()).toBe('Echo: tools')
    const completion = await runner.finalChatCompletion()
    expect((await budget.spend('u')).totalMicros).toBe(
      priceOf('gpt-4o-mini', completion.usage as never)
    )
    expect(metrics.calls).toHaveLength(1)
  })

  it('zod 4: chat.completions.parse and responses.parse parse live and on a hit, charged once; the stream helper parses', async () => {
    fake.setReply(() => '{"answer":4}')
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const cache = mapCache()
    const client = wrapOpenAI(raw, { budget, cache, subject: 'u' })
    const p = {
      model: 'gpt-4o-mini',
      temperature: 0,
      max_completion_tokens: 50,
      messages: [{ role: 'user' as const, content: '2+2' }],
      response_format: zodResponseFormat(Answer, 'a'),
    }
    const live = await client.chat.completions.parse(p)
    expect(live.choices[0]?.message.parsed).toEqual({ answer: 4 })
    const charged = (await budget.spend('u')).totalMicros
    expect(charged).toBe(priceOf('gpt-4o-mini', live.usage as never))
    await until(() => cache.sets === 1)
    const hit = await client.chat.completions.parse(p)
    expect(hit.choices[0]?.message.parsed).toEqual({ answer: 4 })
    const r = {
      model: 'gpt-4o-mini',
      temperature: 0,
      max_output_tokens: 50,
      input: '2+2',
      text: { format: zodTextFormat(Answer, 'a') },
    }
    const rl = await client.responses.parse(r)
    expect(rl.output_parsed).toEqual({ answer: 4 })
    await until(() => cache.sets === 2)
    const rh = await client.responses.parse(r)
    expect(rh.output_parsed).toEqual({ answer: 4 })
    const final = await client.chat.completions
      .stream({ ...p, messages: [{ role: 'user', content: 'streamed' }] })
      .finalChatCompletion()
    expect(final.choices[0]?.message.parsed).toEqual({ answer: 4 })
    expect(fake.count()).toBe(3)
  })
})
