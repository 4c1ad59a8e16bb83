// An answer cut at the output limit the WRAPPER injected (the budget's `defaultMaxOutputTokens`,
// sent as `max_completion_tokens` / `max_output_tokens` because the caller set no limit) is not
// stored: the cache key is the caller's request, which asked for no limit, and another client
// sharing the cache (unmetered) would otherwise be served the cut answer for its uncut request.
// Streamed or not. An answer that stopped on its own under the injected limit is cached as before,
// and so is one cut at a limit the caller set itself.
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapOpenAI } from '../src/openai/index.js'
import { mapCache, recorders, until } from './helpers.js'

let fake: FakeProvider
let raw: OpenAI
beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const ask = (text: string) => ({
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [{ role: 'user' as const, content: text }],
})

/** A metered client injecting a limit of `limit` output tokens, and its log and cache. */
function metered(limit: number) {
  const cache = mapCache()
  const { logger } = recorders()
  const client = wrapOpenAI(raw, {
    budget: createBudget({ limits: [{ period: 'day', usd: 1 }] }),
    subject: 'u',
    cache,
    logger,
    defaultMaxOutputTokens: limit,
  })
  return { client, cache, logger }
}

/** Lets a store the call may have started finish (nothing awaits it). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20))

describe('an answer cut at the limit the wrapper injected', () => {
  it('is not stored: an unmetered client sharing the cache gets its own whole answer', async () => {
    const { client, cache, logger } = metered(3)
    const request = ask('tell me a long story about a lighthouse keeper')
    const cut = await client.chat.completions.create(request)
    const sent = fake.calls[0]?.body as { max_completion_tokens?: number } | undefined
    expect(sent?.max_completion_tokens).toBe(3)
    expect(cut.choices[0]?.finish_reason).toBe('length')
    await until(() => logger.lines.length === 1)
    await settle()
    expect(cache.sets).toBe(0)

    const unmetered = wrapOpenAI(raw, { cache, subject: 'u' })
    const full = await unmetered.chat.completions.create(request)
    expect(fake.count()).toBe(2)
    expect(full.choices[0]?.finish_reason).toBe('stop')
    expect(full.choices[0]?.message.content).toBe(`Echo: ${request.messages[0]?.content}`)
  })

  it('streamed: not stored either', async () => {
    const { client, cache, logger } = metered(3)
    const stream = await client.chat.completions.create({
      ...ask('another long story, streamed'),
      stream: true,
    })
    const reasons: unknown[] = []
    for await (const chunk of stream) reasons.push(chunk.choices[0]?.finish_reason)
    expect(reasons).toContain('length')
    await until(() => logger.lines.length === 1)
    await settle()
    expect(cache.sets).toBe(0)
  })

  it('Responses: an answer incomplete at the injected max_output_tokens is not stored', async () => {
    fake.setReply(() => 'word '.repeat(100))
    const { client, cache, logger } = metered(16)
    const answer = await client.responses.create({
      model: 'gpt-4o-mini',
      temperature: 0,
      input: 'long',
    })
    expect(answer.incomplete_details?.reason).toBe('max_output_tokens')
    await until(() => logger.lines.length === 1)
    await settle()
    expect(cache.sets).toBe(0)
  })

  it('an answer that stopped on its own under the injected limit is cached', async () => {
    const { client, cache } = metered(500)
    const first = await client.chat.completions.create(ask('short'))
    expect(first.choices[0]?.finish_reason).toBe('stop')
    await until(() => cache.sets === 1)
    await client.chat.completions.create(ask('short'))
    expect(fake.count()).toBe(1)
  })

  it("an answer cut at the caller's own limit is cached (the key holds that limit)", async () => {
    const { client, cache } = metered(500)
    const request = { ...ask('a long story with a limit of its own'), max_completion_tokens: 3 }
    const cut = await client.chat.completions.create(request)
    expect(cut.choices[0]?.finish_reason).toBe('length')
    await until(() => cache.sets === 1)
    await client.chat.completions.create(request)
    expect(fake.count()).toBe(1)
  })
})
