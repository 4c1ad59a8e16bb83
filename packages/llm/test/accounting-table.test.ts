// Every way a call can end, on every path a call takes, keeps one set of books: a call that reached
// the provider has exactly one metrics record and one log line, a hit one log line, a caller gone
// before the provider call none; the cache's hit or miss is counted at most once; the budget
// reservation (a real @aikit/cost memory budget) is settled or released exactly once and nothing
// stays held; no rejection goes unhandled and no listener stays on the caller's signal. The real
// Anthropic and OpenAI SDKs against the fake provider; the cache is @aikit/cache's `createCache`
// on a real `memoryStore()`, its `get` / `set` held or failing as a row says.
import { getEventListeners } from 'node:events'
import { type FakeProvider, type StreamHold, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import type { LlmCache, WrapOptions } from '../src/shared/types.js'
import { countedBudget, steeredCache } from './accounting-rig.js'
import { inRequest, recorders, until } from './helpers.js'

/** A guard that lets every prompt through and blocks every answer. */
const blocksOutput = {
  checkInput: async () => ({ allowed: true, blockedBy: [], text: '' }),
  checkOutput: async () => ({ allowed: false, blockedBy: ['leak'] }),
}

/** A cache key of the app's own, made asynchronously (as `@aikit/cache`'s `llmCacheKey` may be). */
const customKey = async (params: Record<string, unknown>) => `custom:${JSON.stringify(params)}`

let fake: FakeProvider
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason)
}

beforeAll(async () => {
  fake = await startFakeProvider()
  process.on('unhandledRejection', onUnhandled)
})
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  await fake.close()
})
beforeEach(() => {
  fake.reset()
  unhandled.length = 0
})
afterEach(() => fake.reset())

/** One SDK's client, wrapped, and how to make a call of each kind with it. */
interface Sdk {
  readonly name: string
  readonly path: string
  readonly AbortError: new (...args: never[]) => Error
  readonly TimeoutError: new (...args: never[]) => Error
  readonly ServerError: new (...args: never[]) => Error
  wrap(options: WrapOptions): unknown
  /** The call's promise, as `create` returned it. */
  create(client: unknown, text: string, stream: boolean, options: object): PromiseLike<unknown>
}

const SDKS: Sdk[] = [
  {
    name: 'anthropic',
    path: '/v1/messages',
    AbortError: Anthropic.APIUserAbortError,
    TimeoutError: Anthropic.APIConnectionTimeoutError,
    ServerError: Anthropic.InternalServerError,
    wrap: (options) =>
      wrapAnthropic(
        new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 }),
        options
      ),
    create: (client, text, stream, options) =>
      (client as Anthropic).messages.create(
        {
          model: 'claude-haiku-4-5',
          max_tokens: 60,
          temperature: 0,
          messages: [{ role: 'user', content: text }],
          stream,
        } as Anthropic.MessageCreateParamsNonStreaming,
        options
      ),
  },
  {
    name: 'openai chat',
    path: '/v1/chat/completions',
    AbortError: OpenAI.APIUserAbortError,
    TimeoutError: OpenAI.APIConnectionTimeoutError,
    ServerError: OpenAI.InternalServerError,
    wrap: (options) =>
      wrapOpenAI(new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 }), options),
    create: (client, text, stream, options) =>
      (client as OpenAI).chat.completions.create(
        {
          model: 'gpt-4o-mini',
          max_completion_tokens: 60,
          temperature: 0,
          messages: [{ role: 'user', content: text }],
          stream,
        } as OpenAI.ChatCompletionCreateParamsNonStreaming,
        options
      ),
  },
]

type Kind =
  | 'create'
  | 'withResponse'
  | 'asResponse'
  | 'stream'
  | 'stream withResponse'
  | 'stream asResponse'
const KINDS: Kind[] = [
  'create',
  'withResponse',
  'asResponse',
  'stream',
  'stream withResponse',
  'stream asResponse',
]
const streamed = (kind: Kind): boolean => kind.startsWith('stream')

/**
 * The call of `kind` read to its end: its answer, or the error it ended with. `firstRead` runs once
 * the caller has read the first part of a stream (an event, or a chunk of the SSE body).
 */
async function finish(
  p: PromiseLike<unknown>,
  kind: Kind,
  firstRead = (): void => {}
): Promise<unknown> {
  const drain = async (stream: AsyncIterable<unknown>) => {
    let n = 0
    for await (const _ of stream) if (++n === 1) firstRead()
    return n
  }
  const helpers = p as unknown as {
    withResponse(): Promise<{ data: unknown }>
    asResponse(): Promise<Response>
  }
  switch (kind) {
    case 'create':
      return await p
    case 'withResponse':
      return (await helpers.withResponse()).data
    case 'asResponse':
      return await (await helpers.asResponse()).json()
    case 'stream':
      return drain((await p) as AsyncIterable<unknown>)
    case 'stream withResponse':
      return drain((await helpers.withResponse()).data as AsyncIterable<unknown>)
    case 'stream asResponse': {
      const body = (await helpers.asResponse()).body
      let text = ''
      if (body === null) return text
      const decoder = new TextDecoder()
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        if (text === '') firstRead()
        text += decoder.decode(chunk, { stream: true })
      }
      return text
    }
  }
}

/** The paths a call takes through the engine. */
type Path =
  | 'no signal'
  | 'signal'
  | "the request's signal"
  | 'custom cacheKey'
  | 'timeout'
  | 'coalesce: false'
  | 'coalesce: false, timeout'
const PATHS: Path[] = [
  'no signal',
  'signal',
  "the request's signal",
  'custom cacheKey',
  'timeout',
  'coalesce: false',
  'coalesce: false, timeout',
]

type Ending =
  | 'answer'
  | 'hit'
  | 'provider error'
  | 'abort before'
  | 'abort during lookup'
  | 'abort during call'
  | 'abort during stream'
  | 'stream ends early'
  | 'timeout during lookup'
  | 'timeout during call'
  | 'lookup fails'
  | 'store fails'
  | 'abort during store'
  | 'output blocked'
const ENDINGS: Ending[] = [
  'answer',
  'hit',
  'provider error',
  'abort before',
  'abort during lookup',
  'abort during call',
  'abort during stream',
  'stream ends early',
  'timeout during lookup',
  'timeout during call',
  'lookup fails',
  'store fails',
  'abort during store',
  'output blocked',
]

/** Whether a row is a real combination (a signal to abort, a timeout to pass, a stream to cut). */
function applies(path: Path, kind: Kind, ending: Ending): boolean {
  const signal = path !== 'no signal'
  const timed = path.endsWith('timeout')
  if (ending.startsWith('abort') && !signal) return false
  if (ending.startsWith('timeout') && !timed) return false
  if ((ending === 'abort during stream' || ending === 'stream ends early') && !streamed(kind))
    return false
  // A stream's store happens after the caller has it all: nothing to abort then.
  if (ending === 'abort during store' && streamed(kind)) return false
  return true
}

/** What the books must say once a row's call has ended. */
interface Books {
  provider: number
  records: number
  logs: number
  cache: string[]
  reservations: number
  settled: number
  released: number
}

function expected(ending: Ending): Books {
  const none = {
    provider: 0,
    records: 0,
    logs: 0,
    cache: [],
    reservations: 0,
    settled: 0,
    released: 0,
  }
  switch (ending) {
    case 'hit':
      return { ...none, logs: 1, cache: ['hit'] }
    case 'abort before':
    case 'abort during lookup':
    case 'timeout during lookup':
      return none
    case 'provider error':
      return {
        provider: 1,
        records: 1,
        logs: 1,
        cache: ['miss'],
        reservations: 1,
        settled: 0,
        released: 1,
      }
    // Sent, then aborted or timed out: the provider billed it, so its hold is charged (see
    // unanswered-call-charge.test.ts).
    case 'abort during call':
    case 'timeout during call':
      return {
        provider: 1,
        records: 1,
        logs: 1,
        cache: ['miss'],
        reservations: 1,
        settled: 1,
        released: 0,
      }
    default:
      return {
        provider: 1,
        records: 1,
        logs: 1,
        cache: ['miss'],
        reservations: 1,
        settled: 1,
        released: 0,
      }
  }
}

/** What the caller gets: `'answer'`, or the SDK error class it must be. */
function outcomeOf(
  sdk: Sdk,
  ending: Ending,
  stream: boolean
): 'answer' | 'answer or abort' | 'blocked' | (new (...args: never[]) => Error) {
  switch (ending) {
    case 'output blocked':
      // A stream is checked at its end, once delivered: only kept out of the cache.
      return stream ? 'answer' : 'blocked'
    case 'provider error':
      return sdk.ServerError
    case 'abort before':
    case 'abort during lookup':
    case 'abort during call':
      return sdk.AbortError
    case 'timeout during lookup':
    case 'timeout during call':
      return sdk.TimeoutError
    case 'abort during stream':
    case 'abort during store':
      return 'answer or abort'
    default:
      return 'answer'
  }
}

let row = 0

for (const sdk of SDKS) {
  describe(`${sdk.name}: one set of books for every way a call ends`, () => {
    for (const path of PATHS) {
      for (const kind of KINDS) {
        const endings = ENDINGS.filter((ending) => applies(path, kind, ending))
        it.each(endings)(`${path}, ${kind}: %s`, async (ending) => {
          const text = `row ${++row} ${ending}`
          const cache = steeredCache(`books-${row}`)
          const { budget, ledger } = countedBudget()
          const { metrics, logger } = recorders()
          const options: WrapOptions = {
            cache: cache.reader,
            budget,
            metrics,
            logger,
            subject: 'u1',
            ...(path.startsWith('coalesce: false') ? { coalesce: false } : {}),
            ...(path === 'custom cacheKey' ? { cacheKey: customKey } : {}),
            ...(ending === 'output blocked' ? { guard: blocksOutput } : {}),
          }
          const client = sdk.wrap(options)
          const stream = streamed(kind)
          const controller = new AbortController()
          const { signal } = controller
          const timeout = ending.startsWith('timeout') ? 40 : 60_000
          const callOptions = {
            ...(path === 'no signal' || path === "the request's signal" ? {} : { signal }),
            ...(path.endsWith('timeout') ? { timeout } : {}),
          }

          // An answer already in the shared store: a hit, or what a late lookup must drop.
          if (ending === 'hit' || ending.endsWith('during lookup')) {
            let stored = 0
            const writerCache: LlmCache = {
              get: (key) => cache.writer.get(key),
              set: async (key, value) => {
                await cache.writer.set(key, value)
                stored++
              },
            }
            const writer = sdk.wrap({
              cache: writerCache,
              subject: 'u1',
              ...(path === 'custom cacheKey' ? { cacheKey: customKey } : {}),
            })
            await finish(sdk.create(writer, text, stream, {}), kind)
            await until(() => stored === 1)
            fake.reset()
          }

          let hold: StreamHold | undefined
          switch (ending) {
            case 'provider error':
              fake.failNext(1, { status: 500 })
              break
            case 'abort before':
              controller.abort()
              break
            case 'abort during lookup':
            case 'timeout during lookup':
              cache.get.hold()
              break
            case 'abort during call':
              hold = fake.holdNext()
              break
            case 'abort during stream':
              hold = fake.holdStreamAfter(2)
              break
            case 'stream ends early':
              fake.endStreamAfter(2)
              break
            case 'timeout during call':
              fake.hangNext(1)
              break
            case 'lookup fails':
              cache.get.fail()
              break
            case 'store fails':
              cache.set.fail()
              break
            case 'abort during store':
              cache.set.hold()
              break
          }

          const firstRead = (): void => {
            if (ending === 'abort during stream') controller.abort()
          }
          const call =
            path === "the request's signal"
              ? inRequest({}, () => sdk.create(client, text, stream, callOptions), signal)
              : sdk.create(client, text, stream, callOptions)
          const ended = finish(call, kind, firstRead).then(
            (value) => ({ value }),
            (error: unknown) => ({ error })
          )
          if (ending === 'abort during lookup') {
            await cache.get.reached
            controller.abort()
          }
          if (ending === 'abort during call') {
            await hold?.reached
            controller.abort()
          }
          if (ending === 'abort during store') {
            await cache.set.reached
            controller.abort()
            // The caller is not held by a stalled cache write: it has its answer (or its abort)
            // while the write still waits.
            let known = false
            void ended.then(() => (known = true))
            await until(() => known)
            expect(cache.set.waiting).toBe(1)
          }
          const result = await ended
          cache.get.release()
          cache.set.release()
          hold?.release()
          await fake.idle()

          const books = expected(ending)
          await until(
            () => logger.lines.length >= books.logs && metrics.calls.length >= books.records
          )
          await until(() => ledger.settled + ledger.released >= books.settled + books.released)
          // Anything counted twice shows up within a few turns.
          await new Promise((resolve) => setTimeout(resolve, 20))

          const outcome = outcomeOf(sdk, ending, stream)
          if (outcome === 'answer') expect(result).toHaveProperty('value')
          else if (outcome === 'blocked') {
            expect((result as { error?: unknown }).error).toMatchObject({ code: 'OUTPUT_BLOCKED' })
          } else if (outcome === 'answer or abort') {
            if ('error' in result) expect(result.error).toBeInstanceOf(sdk.AbortError)
          } else expect((result as { error?: unknown }).error).toBeInstanceOf(outcome)

          expect({
            provider: fake.count(sdk.path),
            records: metrics.calls.length,
            logs: logger.lines.length,
            cache: metrics.cache,
            reservations: ledger.made,
            settled: ledger.settled,
            released: ledger.released,
          }).toEqual(books)
          expect(ledger.repeated).toBe(0)
          expect((await budget.spend('u1')).heldMicros).toBe(0)
          if (books.logs === 1) {
            expect(logger.lines[0]?.cache).toBe(ending === 'hit' ? 'hit' : 'miss')
          }
          expect(getEventListeners(signal, 'abort')).toHaveLength(0)
          expect(unhandled).toEqual([])
          await cache.close()
        })
      }
    }
  })
}

type Joined =
  | 'both answered'
  | 'provider error'
  | 'joiner aborts during call'
  | 'leader aborts during call'
  | 'both abort during call'
  | 'joiner times out during call'
  | 'joiner aborts during stream'
  | 'both abort during stream'
const JOINED: Joined[] = [
  'both answered',
  'provider error',
  'joiner aborts during call',
  'leader aborts during call',
  'both abort during call',
  'joiner times out during call',
  'joiner aborts during stream',
  'both abort during stream',
]

for (const sdk of SDKS) {
  describe(`${sdk.name}: two callers sharing one provider call keep one set of books`, () => {
    for (const kind of KINDS) {
      const endings = JOINED.filter((e) => streamed(kind) || !e.endsWith('during stream'))
      it.each(endings)(`${kind}: %s`, async (ending) => {
        const text = `joined ${++row} ${ending}`
        const cache = steeredCache(`joined-${row}`)
        const { budget, ledger } = countedBudget()
        const { metrics, logger } = recorders()
        const client = sdk.wrap({ cache: cache.reader, budget, metrics, logger, subject: 'u1' })
        const stream = streamed(kind)
        const leader = new AbortController()
        const joiner = new AbortController()
        let hold: StreamHold | undefined
        if (ending === 'provider error') fake.failNext(1, { status: 500 })
        if (ending.endsWith('during call')) hold = fake.holdNext()
        if (ending.endsWith('during stream')) hold = fake.holdStreamAfter(2)
        const joinerOptions = {
          signal: joiner.signal,
          ...(ending === 'joiner times out during call' ? { timeout: 40 } : {}),
        }
        let reads = 0
        const firstRead = (who: AbortController) => (): void => {
          reads++
          if (ending === 'joiner aborts during stream' && who === joiner) joiner.abort()
          if (ending === 'both abort during stream') who.abort()
        }
        const settle = (p: Promise<unknown>) =>
          p.then(
            (value) => ({ value }),
            (error: unknown) => ({ error })
          )
        const first = settle(
          finish(
            sdk.create(client, text, stream, { signal: leader.signal }),
            kind,
            firstRead(leader)
          )
        )
        const second = settle(
          finish(sdk.create(client, text, stream, joinerOptions), kind, firstRead(joiner))
        )
        if (ending.endsWith('during call') && ending !== 'joiner times out during call') {
          await hold?.reached
          if (ending !== 'leader aborts during call') joiner.abort()
          if (ending !== 'joiner aborts during call') leader.abort()
          // One caller left: the other still gets the answer.
          if (ending === 'joiner aborts during call') await second
          if (ending === 'leader aborts during call') await first
          hold?.release()
        }
        if (ending === 'joiner times out during call') {
          await settle(Promise.resolve(second))
          hold?.release()
        }
        if (ending === 'joiner aborts during stream') {
          await until(() => reads >= 1)
          await second
          hold?.release()
        }
        const [a, b] = await Promise.all([first, second])
        hold?.release()
        await fake.idle()
        await until(() => logger.lines.length >= 1 && ledger.settled + ledger.released >= 1)
        await new Promise((resolve) => setTimeout(resolve, 20))

        const leaderGone = ending === 'leader aborts during call' || ending.startsWith('both abort')
        const joinerGone = ending.startsWith('joiner') || ending.startsWith('both abort')
        const expectOutcome = (r: { value?: unknown; error?: unknown }, gone: boolean) => {
          if (ending === 'provider error') expect(r.error).toBeInstanceOf(sdk.ServerError)
          else if (!gone) expect(r).toHaveProperty('value')
          else if (ending === 'joiner times out during call')
            expect(r.error).toBeInstanceOf(sdk.TimeoutError)
          else if (!ending.endsWith('during stream')) expect(r.error).toBeInstanceOf(sdk.AbortError)
          else if ('error' in r) expect(r.error).toBeInstanceOf(sdk.AbortError)
        }
        expectOutcome(a, leaderGone)
        expectOutcome(b, joinerGone)
        expect({
          provider: fake.count(sdk.path),
          records: metrics.calls.length,
          logs: logger.lines.length,
          cache: [...metrics.cache].sort(),
          reservations: ledger.made,
          settled: ledger.settled,
          released: ledger.released,
        }).toEqual({
          provider: 1,
          records: 1,
          logs: 1,
          cache: ['coalesced', 'miss'],
          reservations: 1,
          // Both gone once the request was sent: the provider billed it, its hold is charged.
          settled: ending === 'provider error' ? 0 : 1,
          released: ending === 'provider error' ? 1 : 0,
        })
        expect(logger.lines[0]?.cache).toBe('miss')
        expect(ledger.repeated).toBe(0)
        expect((await budget.spend('u1')).heldMicros).toBe(0)
        expect(getEventListeners(leader.signal, 'abort')).toHaveLength(0)
        expect(getEventListeners(joiner.signal, 'abort')).toHaveLength(0)
        expect(unhandled).toEqual([])
        await cache.close()
      })
    }
  })
}
