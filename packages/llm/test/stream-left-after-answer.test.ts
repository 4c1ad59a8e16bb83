// A caller that leaves a stream (`break`) right after the whole answer came (the last
// `finish_reason`, Anthropic's `message_delta`, the text's `response.output_text.done`) is common:
// it has what it wanted. The trailer was still to come: OpenAI chat's usage chunk (asked for by
// the wrapper, hidden from a caller that did not ask), `message_stop`, `response.completed` (the
// Responses usage). Cancelling the stream there charged the call its estimate and never cached the
// whole answer. The caller's loop still ends at once; the wrapper reads the trailer, briefly.
// The SDK helpers (`messages.stream()`, `chat.completions.stream()`, `responses.stream()`) pass
// their own controller's signal to `create` and abort it on a `break`: that abort cut the
// provider call itself (every caller gone) before the signal group learnt to spare a whole answer.
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import type { WrapOptions } from '../src/shared/types.js'
import { mapCache, recorders, until } from './helpers.js'
import { OPENAI_SDKS } from './openai-sdks.js'

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

type Event = Record<string, unknown> & { type?: string }

/** One streamed API: how to call it, and the event a caller leaves after. */
interface StreamApi {
  readonly name: string
  readonly wrap: (options: WrapOptions) => unknown
  readonly open: (client: unknown, text: string) => Promise<AsyncIterable<Event>>
  /** The last event of the answer itself (what the caller breaks after). */
  readonly answered: (event: Event) => boolean
  /** SSE events the fake writes before it that the SDK does not yield (Anthropic's `ping`). */
  readonly unseen: number
}

const chatChoice = (e: Event) =>
  (e.choices as Array<{ finish_reason?: string | null }> | undefined)?.[0]

function apis(): StreamApi[] {
  const anthropic = (): Anthropic =>
    new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
  const list: StreamApi[] = [
    {
      name: 'anthropic messages',
      wrap: (o) => wrapAnthropic(anthropic(), { ...o, cacheSampling: true }),
      open: async (c, text) =>
        (await (c as Anthropic).messages.create({
          model: 'claude-haiku-4-5',
          max_tokens: 100,
          messages: [{ role: 'user', content: text }],
          stream: true,
        })) as unknown as AsyncIterable<Event>,
      answered: (e) => e.type === 'message_delta',
      unseen: 1,
    },
    {
      // The helper passes its own controller's signal to `create` and aborts it on a `break`.
      name: 'anthropic messages.stream() helper',
      wrap: (o) => wrapAnthropic(anthropic(), { ...o, cacheSampling: true }),
      open: async (c, text) =>
        (c as Anthropic).messages.stream({
          model: 'claude-haiku-4-5',
          max_tokens: 100,
          messages: [{ role: 'user', content: text }],
        }) as unknown as AsyncIterable<Event>,
      answered: (e) => e.type === 'message_delta',
      unseen: 1,
    },
  ]
  for (const sdk of OPENAI_SDKS.filter((s) => s.runs)) {
    const openai = (): OpenAI =>
      new sdk.OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    list.push(
      {
        name: `${sdk.name} chat (no usage asked for)`,
        wrap: (o) => wrapOpenAI(openai(), o),
        open: async (c, text) =>
          (await (c as OpenAI).chat.completions.create({
            model: 'gpt-4o-mini',
            temperature: 0,
            messages: [{ role: 'user', content: text }],
            stream: true,
          })) as unknown as AsyncIterable<Event>,
        answered: (e) => typeof chatChoice(e)?.finish_reason === 'string',
        unseen: 0,
      },
      {
        name: `${sdk.name} responses`,
        wrap: (o) => wrapOpenAI(openai(), o),
        open: async (c, text) =>
          (await (c as OpenAI).responses.create({
            model: 'gpt-4o-mini',
            temperature: 0,
            input: text,
            stream: true,
          })) as unknown as AsyncIterable<Event>,
        answered: (e) => e.type === 'response.output_text.done',
        unseen: 0,
      },
      {
        name: `${sdk.name} chat.completions.stream() helper`,
        wrap: (o) => wrapOpenAI(openai(), o),
        open: async (c, text) =>
          (c as OpenAI).chat.completions.stream({
            model: 'gpt-4o-mini',
            temperature: 0,
            messages: [{ role: 'user', content: text }],
          }) as unknown as AsyncIterable<Event>,
        answered: (e) => typeof chatChoice(e)?.finish_reason === 'string',
        unseen: 0,
      },
      {
        name: `${sdk.name} responses.stream() helper`,
        wrap: (o) => wrapOpenAI(openai(), o),
        open: async (c, text) =>
          (c as OpenAI).responses.stream({
            model: 'gpt-4o-mini',
            temperature: 0,
            input: text,
          }) as unknown as AsyncIterable<Event>,
        answered: (e) => e.type === 'response.output_text.done',
        unseen: 0,
      }
    )
  }
  return list
}

/** Reads `stream` until (and including) the answer's last event, then breaks; the events read. */
async function readToAnswer(stream: AsyncIterable<Event>, api: StreamApi): Promise<Event[]> {
  const read: Event[] = []
  for await (const e of stream) {
    read.push(e)
    if (api.answered(e)) break
  }
  return read
}

/** Every event of `stream`. */
async function readAll(stream: AsyncIterable<Event>): Promise<Event[]> {
  const read: Event[] = []
  for await (const e of stream) read.push(e)
  return read
}

describe.each(apis())('$name: a caller that breaks right after the whole answer', (api) => {
  it('is charged the usage the provider reported, and the answer is cached', async () => {
    // The usage of a stream read to its end (no cache: always the provider).
    const full = recorders()
    const fullEvents = await readAll(
      await api.open(api.wrap({ metrics: full.metrics }), 'a full read')
    )
    const { metrics, logger } = recorders()
    const cache = mapCache()
    const client = api.wrap({ cache, metrics, logger })
    const stream = await api.open(client, 'a full read')
    const read = await readToAnswer(stream, api)
    // The break aborts the caller's own stream controller, as the SDK's does.
    expect((stream as unknown as { controller: AbortController }).controller.signal.aborted).toBe(
      true
    )
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'ok', cache: 'miss', estimated: false })
    expect(metrics.calls[0]?.usage).toEqual(full.metrics.calls[0]?.usage)
    expect(metrics.calls[0]?.usage).toBeDefined()
    await until(() => cache.sets === 1)
    // The next identical call is answered from the cache: the whole stream, as this caller would
    // have read it to its end.
    await fake.idle()
    const calls = fake.calls.length
    const replayed = await readAll(await api.open(client, 'a full read'))
    expect(fake.calls.length).toBe(calls)
    expect(replayed.slice(0, read.length)).toEqual(read)
    expect(replayed).toHaveLength(fullEvents.length)
  })

  it("ends the caller's loop at once while the provider still holds the rest", async () => {
    const bare = await readAll(await api.open(api.wrap({}), 'held trailer'))
    const upTo = bare.findIndex(api.answered) + 1
    fake.reset()
    const hold = fake.holdStreamAfter(upTo + api.unseen)
    const { logger } = recorders()
    const cache = mapCache()
    try {
      const stream = await api.open(api.wrap({ cache, logger }), 'held trailer')
      // Returns although the provider sends nothing more until `release()` below.
      const read = await readToAnswer(stream, api)
      expect(read).toHaveLength(upTo)
      expect(logger.lines).toEqual([])
    } finally {
      hold.release()
    }
    await until(() => cache.sets === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'ok', estimated: false })
  })
})

describe('the trailer is not waited for without end', () => {
  it('a provider that holds it back: the stream is cut (aborted, charged what was produced, not cached)', async () => {
    const api = apis().find((a) => a.name.endsWith('chat (no usage asked for)')) as StreamApi
    const bare = await readAll(await api.open(api.wrap({}), 'never ends'))
    const upTo = bare.findIndex(api.answered) + 1
    fake.reset()
    const hold = fake.holdStreamAfter(upTo)
    const { logger } = recorders()
    const cache = mapCache()
    try {
      await readToAnswer(await api.open(api.wrap({ cache, logger }), 'never ends'), api)
      await until(() => logger.lines.length === 1)
      expect(logger.lines[0]).toMatchObject({ outcome: 'aborted', estimated: true })
      await fake.idle()
      expect(fake.calls[0]?.aborted).toBe(true)
      expect(cache.sets).toBe(0)
    } finally {
      hold.release()
    }
  })
})
