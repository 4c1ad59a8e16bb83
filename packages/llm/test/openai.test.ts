import { createBudget, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import type OpenAI from 'openai'
import { Stream } from 'openai/core/streaming'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aikit, wrapOpenAI } from '../src/openai/index.js'
import { inRequest, mapCache, recorders, until } from './helpers.js'
import {
  ask,
  chatParams as chat,
  completeStream,
  deltaText,
  OPENAI_MODEL as MODEL,
  messagesOf,
  OPENAI_APIS,
  openStream,
  PATH,
  responsesParams as resp,
  streamEvents,
} from './openai-calls.js'
import { OPENAI_SDKS } from './openai-sdks.js'

/** Provider failures and the SDK error class each must surface as. */
const FAILURES = [
  { name: '429', status: 429, errorClass: 'RateLimitError' },
  { name: '500', status: 500, errorClass: 'InternalServerError' },
  { name: '529 (overloaded)', status: 529, errorClass: 'InternalServerError' },
  { name: 'timeout', status: undefined, errorClass: 'APIConnectionTimeoutError' },
] as const

const CASES = OPENAI_APIS.flatMap((api) =>
  [false, true].flatMap((stream) => FAILURES.map((failure) => ({ api, stream, failure })))
)

for (const sdk of OPENAI_SDKS) {
  // openai 7 needs Node 22+ (its engines field): skipped on Node 20, run by CI's Node 24 leg.
  describe.runIf(sdk.runs)(sdk.name, () => {
    let fake: FakeProvider
    let raw: OpenAI

    beforeAll(async () => {
      fake = await startFakeProvider()
      raw = new sdk.OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    })
    afterAll(() => fake.close())
    beforeEach(() => fake.reset())

    /** The stream a wrapped client returns keeps the SDK's Stream API. */
    const expectSdkStream = (stream: unknown): void => {
      // The wrapper builds streams with the `Stream` class of the `openai` it resolves (the app's
      // own copy in production): here openai 6's, also for the openai 7 client. Same API either way.
      expect(stream).toBeInstanceOf(Stream)
      expect((stream as Stream<unknown>).controller).toBeInstanceOf(AbortController)
    }

    it(`is openai ${sdk.major}`, () => {
      expect(sdk.version.split('.')[0]).toBe(String(sdk.major))
    })

    describe('chat.completions.create', () => {
      it('caches the second identical call (0 provider calls) and charges priceOf(usage) exactly', async () => {
        const cache = mapCache()
        const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
        const { metrics, logger } = recorders()
        const client = wrapOpenAI(raw, {
          cacheSampling: true,
          cache,
          budget,
          metrics,
          logger,
          subject: 'u1',
        })
        const first = await client.chat.completions.create(chat())
        expect(first.choices[0]?.message.content).toBe('Echo: hello')
        const expected = priceOf(MODEL, first.usage as unknown as Record<string, unknown>)
        expect((await budget.spend('u1')).totalMicros).toBe(expected)
        const second = await client.chat.completions.create(chat())
        expect(second).toEqual(first)
        expect(fake.count('/v1/chat/completions')).toBe(1)
        expect(metrics.calls).toHaveLength(1)
        expect(metrics.calls[0]).toMatchObject({ provider: 'openai', costUsd: expected / 1e6 })
        expect(logger.lines.map((l) => l.cache)).toEqual(['miss', 'hit'])
      })

      it('streams with include_usage injected, hides the usage chunk from the caller, settles exactly, replays from cache', async () => {
        const cache = mapCache()
        const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
        const client = wrapOpenAI(raw, { cacheSampling: true, cache, budget, subject: 'u2' })
        const stream = await client.chat.completions.create({ ...chat('stream it'), stream: true })
        expectSdkStream(stream)
        const chunks: OpenAI.ChatCompletionChunk[] = []
        for await (const c of stream) chunks.push(c)
        expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(
          'Echo: stream it'
        )
        expect(chunks.every((c) => c.choices.length > 0 && !('usage' in c))).toBe(true)
        const sent = fake.calls[0]?.body as { stream_options?: { include_usage?: boolean } }
        expect(sent.stream_options?.include_usage).toBe(true)
        await until(() => cache.sets === 1)
        const plain = await raw.chat.completions.create({ ...chat('stream it'), stream: false })
        expect((await budget.spend('u2')).totalMicros).toBe(priceOf(MODEL, plain.usage as never))

        const again = await client.chat.completions.create({ ...chat('stream it'), stream: true })
        const replayed: unknown[] = []
        for await (const c of again) replayed.push(c)
        expect(replayed).toEqual(chunks)
        expect(fake.count('/v1/chat/completions')).toBe(2) // the stream once + the bare comparison call
      })

      it('keeps the usage chunk when the caller asked for it', async () => {
        const client = wrapOpenAI(raw, {})
        const stream = await client.chat.completions.create({
          ...chat('mine'),
          stream: true,
          stream_options: { include_usage: true },
        })
        const chunks: OpenAI.ChatCompletionChunk[] = []
        for await (const c of stream) chunks.push(c)
        expect(chunks.at(-1)?.usage?.completion_tokens).toBeGreaterThan(0)
      })

      it('coalesces 10 identical concurrent calls into 1 provider call', async () => {
        const client = wrapOpenAI(raw, {})
        const all = await Promise.all(
          Array.from({ length: 10 }, () => client.chat.completions.create(chat('same')))
        )
        expect(fake.count('/v1/chat/completions')).toBe(1)
        expect(new Set(all.map((r) => r.id)).size).toBe(1)
      })

      it('routes chat.completions.parse (the SDK helper) through the wrapper', async () => {
        const cache = mapCache()
        const client = wrapOpenAI(raw, { cacheSampling: true, cache })
        const parsed = await client.chat.completions.parse(chat('parse me'))
        expect(parsed.choices[0]?.message.content).toBe('Echo: parse me')
        expect(cache.sets).toBe(1)
      })
    })

    describe('responses.create', () => {
      it('caches, charges exactly, and keeps withResponse()', async () => {
        const cache = mapCache()
        const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
        const client = wrapOpenAI(raw, { cacheSampling: true, cache, budget, subject: 'r1' })
        const { data, request_id } = await client.responses.create(resp('resp')).withResponse()
        expect(data.output_text).toBe('Echo: resp')
        expect(request_id).toBeDefined()
        expect((await budget.spend('r1')).totalMicros).toBe(priceOf(MODEL, data.usage as never))
        const again = await client.responses.create(resp('resp'))
        expect(again.id).toBe(data.id)
        expect(fake.count('/v1/responses')).toBe(1)
      })

      it('streams through, settles from response.completed, replays from the cache', async () => {
        const cache = mapCache()
        const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
        const { metrics } = recorders()
        const client = wrapOpenAI(raw, {
          cacheSampling: true,
          cache,
          budget,
          metrics,
          subject: 'r2',
        })
        const stream = await client.responses.create({ ...resp('streamed'), stream: true })
        expectSdkStream(stream)
        const types: string[] = []
        let usage: unknown
        for await (const e of stream) {
          types.push(e.type)
          if (e.type === 'response.completed') usage = e.response.usage
        }
        expect(types.at(-1)).toBe('response.completed')
        await until(() => cache.sets === 1)
        expect((await budget.spend('r2')).totalMicros).toBe(priceOf(MODEL, usage as never))
        const again = await client.responses.create({ ...resp('streamed'), stream: true })
        const replayed: string[] = []
        for await (const e of again) replayed.push(e.type)
        expect(replayed).toEqual(types)
        expect(fake.count('/v1/responses')).toBe(1)
        expect(metrics.calls).toHaveLength(1)
      })

      it('asResponse() of a stream is the SSE the caller would have read', async () => {
        const client = wrapOpenAI(raw, {})
        const response = await client.chat.completions
          .create({ ...chat('sse'), stream: true })
          .asResponse()
        expect(response.headers.get('content-type')).toBe('text/event-stream')
        const text = await response.text()
        expect(text).toContain('"content":"Echo')
        expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
        expect(text).not.toContain('"usage"')
      })

      it('uses the subject of the request context and the per-call override', async () => {
        const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
        const client = wrapOpenAI(raw, { budget })
        await inRequest({ subject: 'ctx-user' }, () => client.responses.create(resp('ctx')))
        await client.responses.create(resp('ctx'), aikit({ subject: 'call-user' }))
        expect((await budget.spend('ctx-user')).totalMicros).toBeGreaterThan(0)
        expect((await budget.spend('call-user')).totalMicros).toBeGreaterThan(0)
      })
    })

    describe('SDK stream helpers', () => {
      it('chat.completions.stream() goes through the wrapper (cached afterwards)', async () => {
        const cache = mapCache()
        const client = wrapOpenAI(raw, { cacheSampling: true, cache })
        const body = { model: MODEL, messages: [{ role: 'user' as const, content: 'helper' }] }
        const final = await client.chat.completions.stream(body).finalChatCompletion()
        expect(final.choices[0]?.message.content).toBe('Echo: helper')
        await until(() => cache.sets === 1)
        const again = await client.chat.completions.stream(body).finalChatCompletion()
        expect(again).toEqual(final)
        expect(fake.count('/v1/chat/completions')).toBe(1)
      })

      it('responses.stream() goes through the wrapper (cached afterwards)', async () => {
        const cache = mapCache()
        const client = wrapOpenAI(raw, { cacheSampling: true, cache })
        const final = await client.responses.stream(resp('helper')).finalResponse()
        expect(final.output_text).toBe('Echo: helper')
        await until(() => cache.sets === 1)
        const again = await client.responses.stream(resp('helper')).finalResponse()
        expect(again.output_text).toBe('Echo: helper')
        expect(again).toEqual(final)
        expect(fake.count('/v1/responses')).toBe(1)
      })
    })

    describe('budget', () => {
      it.each(OPENAI_APIS)(
        '%s: lets exactly 3 calls through a budget that fits 3; the 4th, identical, fails with BUDGET_EXCEEDED before any provider call',
        async (api) => {
          // 100 tokens, the output limit of the request: a call costs about its worst case.
          fake.setReply(() => 'word '.repeat(80))
          // The worst case of one call (what the wrapper holds): its input + 100 output tokens.
          const probe = createBudget({ limits: [{ period: 'day', usd: 1 }] })
          const hold = await probe.reserve('p', {
            model: MODEL,
            messages: messagesOf('hello'),
            maxOutputTokens: 100,
          })
          const budget = createBudget({
            limits: [{ period: 'day', micros: hold.amountMicros * 3 }],
          })
          const client = wrapOpenAI(raw, { budget, subject: 'u3' })
          for (let i = 0; i < 3; i++) await ask(client, api, 'hello', false)
          expect(fake.count(PATH[api])).toBe(3)
          const spend = await budget.spend('u3')
          expect(spend.heldMicros).toBe(0)
          // Alone the 4th call fits the budget; after what the first three spent it does not.
          expect(spend.totalMicros + hold.amountMicros).toBeGreaterThan(hold.amountMicros * 3)
          await expect(ask(client, api, 'hello', false)).rejects.toMatchObject({
            code: 'BUDGET_EXCEEDED',
            status: 402,
          })
          expect(fake.count(PATH[api])).toBe(3)
          expect((await budget.spend('u3')).heldMicros).toBe(0)
        }
      )
    })

    describe('streamed coalescing', () => {
      it.each(OPENAI_APIS)(
        '%s: 100 identical concurrent streamed calls → 1 provider call, 100 complete identical streams',
        async (api) => {
          const client = wrapOpenAI(raw, {})
          fake.setStreamDelayMs(2)
          fake.setReply(() => 'one two three four five')
          const all = await Promise.all(
            Array.from({ length: 100 }, () => streamEvents(client, api, 'fan out'))
          )
          expect(fake.count(PATH[api])).toBe(1)
          expect(new Set(all.map((events) => JSON.stringify(events))).size).toBe(1)
          const first = all[0] ?? []
          expect(completeStream(api, first)).toBe(true)
          expect(first.map((e) => deltaText(api, e)).join('')).toBe('one two three four five')
        }
      )
    })

    describe('provider errors', () => {
      it.each(CASES)(
        '$api (stream: $stream): a $failure.name passes through as the SDK error class; no hold remains, nothing is cached, the next identical call reaches the provider',
        async ({ api, stream, failure }) => {
          const cache = mapCache()
          const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
          const { logger } = recorders()
          const client = wrapOpenAI(raw, {
            cacheSampling: true,
            cache,
            budget,
            logger,
            subject: 'e',
          })
          let options: ReturnType<typeof aikit> | undefined
          if (failure.status === undefined) {
            fake.hangNext(1)
            options = aikit({}, { timeout: 100 })
          } else {
            fake.failNext(1, { status: failure.status, retryAfter: 0 })
          }
          const error = await ask(client, api, 'fail', stream, options).catch((e: unknown) => e)
          expect(error).toBeInstanceOf(sdk.OpenAI[failure.errorClass])
          expect(error).toBeInstanceOf(sdk.OpenAI.APIError)
          if (failure.status !== undefined) {
            expect((error as { status: number }).status).toBe(failure.status)
          }
          // A timeout (sent, then no answer) is charged, as the provider billed it; an error
          // answer is not.
          const failedSpend = await budget.spend('e')
          expect(failedSpend.heldMicros).toBe(0)
          // Under both majors: openai 7 hands the wrapper's timeout reason on to `fetch` (a
          // reason it could not make an Error of went uncharged).
          if (failure.status === undefined) expect(failedSpend.totalMicros).toBeGreaterThan(0)
          else expect(failedSpend.totalMicros).toBe(0)
          expect(cache.sets).toBe(0)
          expect(logger.lines).toMatchObject([{ outcome: 'error' }])

          await expect(ask(client, api, 'fail', stream)).resolves.toBe('Echo: fail')
          expect(fake.count(PATH[api])).toBe(2)
          await until(() => logger.lines.length === 2) // a stream logs (after settling) at its end
          const spend = await budget.spend('e')
          expect(spend.heldMicros).toBe(0)
          expect(spend.totalMicros).toBeGreaterThan(0)
        }
      )
    })

    describe('errors inside a stream', () => {
      it.each(OPENAI_APIS)(
        '%s: an error event mid-stream reaches the caller as the SDK reports it; no hold left, not cached, the next identical call reaches the provider',
        async (api) => {
          const cache = mapCache()
          const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
          const { logger } = recorders()
          const client = wrapOpenAI(raw, {
            cacheSampling: true,
            cache,
            budget,
            logger,
            subject: 'mid',
          })
          /** What a reader of `client`'s stream sees: the event types and the error thrown. */
          const readThrough = async (c: OpenAI) => {
            fake.errorStreamAfter(2)
            const types: string[] = []
            const error = await (async () => {
              for await (const e of await openStream(c, api, 'mid')) {
                types.push(api === 'chat' ? 'chunk' : (e as { type: string }).type)
              }
            })().catch((e: unknown) => e)
            return { types, error }
          }
          // The SDK's own behaviour (it differs: openai 6 yields a Responses `error` event, 7 throws).
          const bare = await readThrough(raw)
          expect(bare.types.length).toBeGreaterThan(0)
          const wrapped = await readThrough(client)
          expect(wrapped.types).toEqual(bare.types)
          if (bare.error === undefined) expect(wrapped.error).toBeUndefined()
          else {
            expect(wrapped.error).toBeInstanceOf(sdk.OpenAI.APIError)
            expect(wrapped.error?.constructor).toBe(bare.error?.constructor)
          }
          expect(fake.count(PATH[api])).toBe(2)
          await until(() => logger.lines.length === 1)
          expect(logger.lines[0]?.outcome).not.toBe('ok')
          expect((await budget.spend('mid')).heldMicros).toBe(0)
          expect(cache.sets).toBe(0)
          await expect(ask(client, api, 'mid', true)).resolves.toBe('Echo: mid')
          expect(fake.count(PATH[api])).toBe(3)
        }
      )
    })

    describe('aborted streams', () => {
      it.each(OPENAI_APIS)(
        '%s: a stream the caller leaves mid-way stops the provider, settles on the estimate with no hold left, and is not cached',
        async (api) => {
          const cache = mapCache()
          const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
          const { logger } = recorders()
          const client = wrapOpenAI(raw, {
            cacheSampling: true,
            cache,
            budget,
            logger,
            subject: 'ab',
          })
          const answer = 'word '.repeat(60)
          fake.setStreamDelayMs(20)
          fake.setReply(() => answer)
          const stream = await openStream(client, api, 'long')
          let deltas = 0
          for await (const event of stream) {
            if (deltaText(api, event) !== '' && ++deltas === 3) break
          }
          await until(() => logger.lines.length === 1)
          expect(logger.lines[0]).toMatchObject({ outcome: 'aborted', estimated: true })
          const spend = await budget.spend('ab')
          expect(spend.heldMicros).toBe(0)
          expect(spend.totalMicros).toBeGreaterThan(0)
          await fake.idle()
          expect(fake.calls[0]?.aborted).toBe(true)
          expect(cache.sets).toBe(0)

          // Not cached: the identical call asks the provider again and gets the whole answer.
          fake.setStreamDelayMs(0)
          await expect(ask(client, api, 'long', true)).resolves.toBe(answer)
          expect(fake.count(PATH[api])).toBe(2)
        }
      )

      it.each(OPENAI_APIS)(
        '%s: a stream aborted through its request signal leaves no hold and is not cached',
        async (api) => {
          const cache = mapCache()
          const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
          const { logger } = recorders()
          const client = wrapOpenAI(raw, {
            cacheSampling: true,
            cache,
            budget,
            logger,
            subject: 'sig',
          })
          fake.setStreamDelayMs(20)
          fake.setReply(() => 'word '.repeat(60))
          const leave = new AbortController()
          const stream = await openStream(client, api, 'signal', { signal: leave.signal })
          let deltas = 0
          const failure = await (async () => {
            for await (const event of stream) {
              if (deltaText(api, event) !== '' && ++deltas === 2) leave.abort()
            }
          })().catch((e: unknown) => e)
          // The reader ends quietly, as the SDK's own stream does on abort, long before the answer does.
          expect(failure).toBeUndefined()
          expect(deltas).toBeLessThan(10)
          await until(() => logger.lines.length === 1)
          expect(logger.lines[0]).toMatchObject({ outcome: 'aborted' })
          expect((await budget.spend('sig')).heldMicros).toBe(0)
          await fake.idle()
          expect(fake.calls[0]?.aborted).toBe(true)
          expect(cache.sets).toBe(0)
        }
      )
    })
  })
}
