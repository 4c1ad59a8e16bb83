// `v: 1` stream entries were written by every version before 2026-11-28, including ones that
// stored a stream whatever its end (an Anthropic refusal or pause_turn, a Chat content_filter
// finish, an n > 1 Chat stream with a choice that never finished). A `v: 1` entry is served only
// when it holds a whole answer (`streamEnd`), as a `v: 2` entry always does; else it is a miss.
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
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

type Event = Record<string, unknown>

async function readAll(stream: AsyncIterable<unknown>): Promise<Event[]> {
  const out: Event[] = []
  for await (const e of stream) out.push(e as Event)
  return out
}

/** The one key of `cache` (after one whole stream was stored). */
function onlyKey(cache: ReturnType<typeof mapCache>): string {
  expect(cache.map.size).toBe(1)
  return [...cache.map.keys()][0] as string
}

describe('a v: 1 stream entry that is no whole answer (stored under the old rules)', () => {
  it('anthropic: a refusal stored as v: 1 is not replayed', async () => {
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cache, cacheSampling: true })
    const ask = async () =>
      readAll(
        await client.messages.create({
          model: 'claude-haiku-4-5',
          max_tokens: 100,
          messages: [{ role: 'user', content: 'old refusal' }],
          stream: true,
        })
      )
    await ask() // a whole answer: stored, its key known
    const key = onlyKey(cache)
    // What the code before 7289b2a stored for a refused answer to the same request.
    fake.answerNext(1, { refusal: 'I cannot help with that.' })
    const refused = await readAll(
      await raw.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'old refusal' }],
        stream: true,
      })
    )
    expect(refused.find((e) => e.type === 'message_delta')).toMatchObject({
      delta: { stop_reason: 'refusal' },
    })
    cache.map.set(key, { v: 1, kind: 'stream', events: refused })
    const calls = fake.calls.length
    const events = await ask()
    // The refusal is no answer to replay: the provider is asked again.
    expect(fake.calls.length).toBe(calls + 1)
    expect(events.find((e) => e.type === 'message_delta')).toMatchObject({
      delta: { stop_reason: 'end_turn' },
    })
  })

  it('chat: a content_filter finish stored as v: 1 is not replayed', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const cache = mapCache()
    const client = wrapOpenAI(raw, { cache })
    const params = {
      model: 'gpt-4o-mini',
      temperature: 0,
      messages: [{ role: 'user' as const, content: 'old filtered' }],
      stream: true as const,
    }
    await readAll(await client.chat.completions.create(params))
    const key = onlyKey(cache)
    fake.answerNext(1, { finishReasons: ['content_filter'] })
    const filtered = await readAll(await raw.chat.completions.create(params))
    cache.map.set(key, { v: 1, kind: 'stream', events: filtered })
    const calls = fake.calls.length
    const events = await readAll(await client.chat.completions.create(params))
    expect(fake.calls.length).toBe(calls + 1)
    expect(events.some((e) => JSON.stringify(e).includes('content_filter'))).toBe(false)
  })

  it('chat n: 2: a stream whose second choice never finished, stored as v: 1, is not replayed', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const cache = mapCache()
    const client = wrapOpenAI(raw, { cache })
    const params = {
      model: 'gpt-4o-mini',
      temperature: 0,
      n: 2,
      messages: [{ role: 'user' as const, content: 'old cut choice' }],
      stream: true as const,
    }
    fake.answerNext(1, { choices: ['one two three', 'four five six seven eight'] })
    const whole = await readAll(await client.chat.completions.create(params))
    const key = onlyKey(cache)
    // What the code before 4dc4b3f stored when the body ended mid second choice (any
    // `finish_reason` made a stream complete): the events up to the first choice's finish.
    type Choice = { index: number; finish_reason: string | null }
    const firstDone = whole.findIndex((e) =>
      (e.choices as Choice[]).some((c) => c.index === 0 && c.finish_reason !== null)
    )
    expect(firstDone).toBeGreaterThan(0)
    const cut = whole.slice(0, firstDone + 1)
    expect(cut.some((e) => (e.choices as Choice[]).some((c) => c.index === 1))).toBe(true)
    cache.map.set(key, { v: 1, kind: 'stream', events: cut })
    const calls = fake.calls.length
    const events = await readAll(await client.chat.completions.create(params))
    // A cut answer (the second choice stops mid-text, with no finish_reason) is no hit.
    expect(fake.calls.length).toBe(calls + 1)
    expect(events).toHaveLength(whole.length)
  })
})
