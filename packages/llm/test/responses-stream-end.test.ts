// How a Responses stream ended is read from its terminal event, with the rule of `@aikit/cache`'s
// LLM cache: `response.completed`, and `response.incomplete` cut at `max_output_tokens` (the API's
// normal end for an answer cut at the caller's limit), are whole answers: logged 'ok' and cached,
// as the same answer non-streamed (and as Anthropic `max_tokens` / Chat `finish_reason: 'length'`
// streams). An answer cut by a content filter is logged 'ok' and never cached. A failure the
// provider reports in the stream (`response.failed`, or an `error` event, which openai 6 hands to
// the reader instead of throwing) is logged 'error', recorded as an error in the metrics, and never
// cached, as an in-stream error of Chat or Anthropic.
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapOpenAI } from '../src/openai/index.js'
import { responsesStreamEnd } from '../src/openai/responses-end.js'
import { mapCache, recorders, until } from './helpers.js'

let fake: FakeProvider
let raw: OpenAI

beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

// The fake cuts the answer at max_output_tokens (16, the API's least), as the API does: status
// 'incomplete', incomplete_details.reason 'max_output_tokens'. The echoed answer runs well past it.
const cut = (text: string) => ({
  model: 'gpt-4o-mini',
  input: `${text}: a long question whose answer runs well past the sixteen tokens the request allows`,
  max_output_tokens: 16,
  temperature: 0,
})

const lastType = (events: unknown[]) => (events.at(-1) as { type?: string } | undefined)?.type

/** Reads a stream to its end; its events. */
async function readAll(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const events: unknown[] = []
  for await (const e of stream) events.push(e)
  return events
}

describe('a Responses stream that ends with response.incomplete for max_output_tokens', () => {
  it("is logged with outcome 'ok' (the stream ended as the provider ended it), not 'aborted'", async () => {
    const { logger } = recorders()
    const client = wrapOpenAI(raw, { logger })
    const events = await readAll(await client.responses.create({ ...cut('log'), stream: true }))
    // The premise: the provider ended the stream normally, with its incomplete response.
    expect(lastType(events)).toBe('response.incomplete')
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ stream: true, outcome: 'ok' })
  })

  it('is cached and replayed like the same answer non-streamed (no second provider call)', async () => {
    const cache = mapCache()
    const { logger } = recorders()
    const client = wrapOpenAI(raw, { cache, logger })
    // The reference: the non-streamed incomplete answer is stored and served from the cache.
    const plain = await client.responses.create(cut('plain'))
    expect(plain.status).toBe('incomplete')
    await client.responses.create(cut('plain'))
    expect(fake.count('/v1/responses')).toBe(1)

    const first = await readAll(await client.responses.create({ ...cut('streamed'), stream: true }))
    expect(lastType(first)).toBe('response.incomplete')
    expect(fake.count('/v1/responses')).toBe(2)
    // The stream's log line is written once it has settled; its store follows in the same step.
    await until(() => logger.lines.some((l) => l.stream === true))
    await until(() => cache.sets === 2)
    const again = await readAll(await client.responses.create({ ...cut('streamed'), stream: true }))
    expect(fake.count('/v1/responses')).toBe(2)
    expect(again).toEqual(first)
  })
})

describe('a Responses stream that ends with response.incomplete for a content filter', () => {
  it("is logged with outcome 'ok' and never cached (not an answer to replay)", async () => {
    // Both answers cut by the filter (the request would be cut at max_output_tokens anyway).
    fake.answerNext(2, { incompleteReason: 'content_filter' })
    const cache = mapCache()
    const { logger, metrics } = recorders()
    const client = wrapOpenAI(raw, { cache, logger, metrics })
    const events = await readAll(
      await client.responses.create({ ...cut('filtered'), stream: true })
    )
    expect(events.at(-1)).toMatchObject({
      type: 'response.incomplete',
      response: { incomplete_details: { reason: 'content_filter' } },
    })
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ stream: true, outcome: 'ok' })
    expect(metrics.calls[0]?.error).toBeUndefined()
    await client.responses.create({ ...cut('filtered'), stream: true })
    expect(fake.count('/v1/responses')).toBe(2)
    expect(cache.sets).toBe(0)
  })
})

describe('a Responses stream that ends with a failure reported in the stream', () => {
  it("an error event (openai 6 yields it) is logged 'error', recorded as an error in the metrics, as an in-stream error of Chat, and not cached", async () => {
    const cache = mapCache()
    const { logger, metrics } = recorders()
    const client = wrapOpenAI(raw, { logger, metrics, cache })
    // The reference: a Chat stream's in-stream error is logged and counted as an error.
    fake.errorStreamAfter(2)
    await readAll(
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'chat' }],
        stream: true,
      })
    ).catch(() => undefined)
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'error' })
    expect(metrics.calls[0]?.error).toBeDefined()

    fake.errorStreamAfter(2)
    const events = await readAll(
      await client.responses.create({
        model: 'gpt-4o-mini',
        input: 'responses',
        temperature: 0,
        stream: true,
      })
    )
    // The premise: openai 6 hands the provider's error event to the reader as the last event.
    expect(lastType(events)).toBe('error')
    await until(() => logger.lines.length === 2)
    expect(logger.lines[1]).toMatchObject({ stream: true, outcome: 'error' })
    // The SDK's APIError, as openai 7 throws it for that event.
    expect(metrics.calls[1]?.error).toBeInstanceOf(OpenAI.APIError)
    expect(metrics.calls[1]?.error).toMatchObject({ code: 'server_error' })
    expect(cache.sets).toBe(0)
  })

  it("response.failed is logged 'error', recorded with the response's error in the metrics, and not cached", async () => {
    fake.answerNext(1, { failure: { code: 'server_error', message: 'The model failed (test).' } })
    const cache = mapCache()
    const { logger, metrics } = recorders()
    const client = wrapOpenAI(raw, { cache, logger, metrics })
    const events = await readAll(
      await client.responses.create({
        model: 'gpt-4o-mini',
        input: 'failing',
        temperature: 0,
        stream: true,
      })
    )
    expect(lastType(events)).toBe('response.failed')
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ stream: true, outcome: 'error' })
    expect(metrics.calls[0]?.error).toBeInstanceOf(OpenAI.APIError)
    expect(metrics.calls[0]?.error).toMatchObject({
      code: 'server_error',
      message: 'The model failed (test).',
    })
    expect(cache.sets).toBe(0)
  })
})

describe('responsesStreamEnd (the terminal event)', () => {
  const incomplete = (reason: string) => ({
    type: 'response.incomplete',
    response: { status: 'incomplete', incomplete_details: { reason } },
  })

  it('reads only a terminal last event: anything else is a stream cut short', () => {
    expect(responsesStreamEnd([])).toEqual({ kind: 'cut' })
    expect(
      responsesStreamEnd([{ type: 'response.completed' }, { type: 'response.output_text.delta' }])
    ).toEqual({ kind: 'cut' })
    expect(responsesStreamEnd([{ type: 'response.completed' }])).toEqual({ kind: 'whole' })
    expect(responsesStreamEnd([incomplete('max_output_tokens')])).toEqual({ kind: 'whole' })
    expect(responsesStreamEnd([incomplete('content_filter')])).toEqual({ kind: 'unstored' })
    expect(responsesStreamEnd([{ type: 'response.incomplete' }])).toEqual({ kind: 'unstored' })
  })

  it('a failure without details is still an error', () => {
    const failed = responsesStreamEnd([{ type: 'response.failed', response: { error: null } }])
    expect(failed.kind).toBe('error')
    const error = responsesStreamEnd([{ type: 'error' }])
    expect(error.kind === 'error' && error.error).toBeInstanceOf(OpenAI.APIError)
  })
})
