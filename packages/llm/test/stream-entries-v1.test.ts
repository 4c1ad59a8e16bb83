// Stream cache entries are `v: 2` since 2026-11-28 (the events as the provider sent them); before,
// `v: 1` (the events as the first caller saw them: an OpenAI chat stream's injected usage chunk
// and `usage: null` fields left out when that caller had not asked for usage). Each version read
// only its own: in a rolling deploy, old and new processes sharing a cache (a Redis tier) took
// each other's entries for misses, called the provider and overwrote them, so neither got hits
// until the deploy ended. A `v: 1` entry is now read wherever it gives the caller what a `v: 2`
// one would: any Anthropic or Responses stream (never filtered), an OpenAI chat stream for a
// caller that did not ask for usage, or one that did when the entry holds the usage chunk. Old
// processes still take `v: 2` entries for misses; the `v: 1` entry one writes then serves both.
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { mapCache, until } from './helpers.js'

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

type Event = Record<string, unknown>
type Entry = { v: number; kind: string; events: Event[] }

/** Every event of a stream. */
async function readAll(stream: AsyncIterable<unknown>): Promise<Event[]> {
  const out: Event[] = []
  for await (const e of stream) out.push(e as Event)
  return out
}

/** The one entry of `cache`, as stored (a stream entry). */
function onlyEntry(cache: ReturnType<typeof mapCache>): [string, Entry] {
  expect(cache.map.size).toBe(1)
  return [...cache.map.entries()][0] as [string, Entry]
}

/** What the pre-2026-11-28 code stored of a chat stream for a caller that had not asked for usage. */
const asOldHidden = (events: Event[]): Event[] =>
  events
    .filter((e) => !(Array.isArray(e.choices) && e.choices.length === 0 && e.usage))
    .map(({ usage, ...rest }) => (usage === null ? rest : { ...rest, usage }))

const chat = (client: OpenAI, includeUsage: boolean) =>
  client.chat.completions.create({
    model: 'gpt-4o-mini',
    temperature: 0,
    messages: [{ role: 'user', content: 'rolling deploy' }],
    stream: true,
    ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
  })

describe('a v: 1 stream entry (stored by the previous version) is read where it is whole', () => {
  it('anthropic: a hit, and the entry is left as it is', async () => {
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cache, cacheSampling: true })
    const ask = async () =>
      readAll(
        await client.messages.create({
          model: 'claude-haiku-4-5',
          max_tokens: 100,
          messages: [{ role: 'user', content: 'rolling deploy' }],
          stream: true,
        })
      )
    const live = await ask()
    const [key, entry] = onlyEntry(cache)
    cache.map.set(key, { ...entry, v: 1 })
    const sets = cache.sets
    const calls = fake.calls.length
    expect(await ask()).toEqual(live)
    expect(fake.calls.length).toBe(calls)
    expect(cache.sets).toBe(sets)
    expect((cache.map.get(key) as Entry).v).toBe(1)
  })

  it('responses: a hit', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const cache = mapCache()
    const client = wrapOpenAI(raw, { cache })
    const ask = async () =>
      readAll(
        await client.responses.create({
          model: 'gpt-4o-mini',
          temperature: 0,
          input: 'rolling deploy',
          stream: true,
        })
      )
    const live = await ask()
    const [key, entry] = onlyEntry(cache)
    cache.map.set(key, { ...entry, v: 1 })
    const calls = fake.calls.length
    expect(await ask()).toEqual(live)
    expect(fake.calls.length).toBe(calls)
  })

  it('chat, no usage asked for (the default key): the entry without the usage chunk is a hit', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const cache = mapCache()
    const client = wrapOpenAI(raw, { cache })
    const live = await readAll(await chat(client, false))
    const [key, entry] = onlyEntry(cache)
    cache.map.set(key, { v: 1, kind: 'stream', events: asOldHidden(entry.events) })
    const calls = fake.calls.length
    expect(await readAll(await chat(client, false))).toEqual(live)
    expect(fake.calls.length).toBe(calls)
    expect((cache.map.get(key) as Entry).v).toBe(1)
  })

  // Under a key that leaves `stream_options` out (as `llmCacheKey` does), callers that asked for
  // usage and callers that did not share one entry.
  const sharedKey = () => 'one entry'

  it('chat, shared key: an entry holding the usage chunk serves both kinds of callers', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const cache = mapCache()
    const client = wrapOpenAI(raw, { cache, cacheKey: sharedKey })
    const withUsage = await readAll(await chat(client, true))
    const [key, entry] = onlyEntry(cache)
    // The old code stored the events of a caller that asked for usage as the provider sent them.
    cache.map.set(key, { ...entry, v: 1 })
    const calls = fake.calls.length
    expect(await readAll(await chat(client, true))).toEqual(withUsage)
    expect(await readAll(await chat(client, false))).toEqual(asOldHidden(withUsage))
    expect(fake.calls.length).toBe(calls)
  })

  it('chat, shared key: an entry without the usage chunk is a miss for a caller that asked for usage', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const cache = mapCache()
    const client = wrapOpenAI(raw, { cache, cacheKey: sharedKey })
    await readAll(await chat(client, true))
    const [key, entry] = onlyEntry(cache)
    cache.map.set(key, { v: 1, kind: 'stream', events: asOldHidden(entry.events) })
    const calls = fake.calls.length
    const events = await readAll(await chat(client, true))
    expect(fake.calls.length).toBe(calls + 1)
    expect(events.at(-1)?.usage).toMatchObject({ completion_tokens: expect.any(Number) })
    // Replaced by the whole stream, which serves both kinds of callers from now on.
    await until(() => (cache.map.get(key) as Entry).v === 2)
  })
})
