// A long-lived AbortSignal (a request context's, an agent loop's, a websocket's or a process's)
// keeps no listener once a call through the wrapper is over: a listener left behind holds the
// call's stream reader and every event it recorded until the signal aborts (memory growth, and
// MaxListenersExceededWarning past ten calls), which the bare SDK does not do.
import { getEventListeners } from 'node:events'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { inRequest, mapCache } from './helpers.js'

let fake: FakeProvider
let raw: Anthropic

beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const params = (text: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 50,
  messages: [{ role: 'user' as const, content: text }],
})

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length

/** Lets what runs after a call (settle, store) finish. */
const settleDown = (): Promise<void> => new Promise((r) => setTimeout(r, 20))

/** Reads a stream to its end. */
async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // drain
  }
}

describe('a long-lived signal keeps no listener once a call is over', () => {
  it('bare SDK: streamed calls leave no abort listener on the signal (the reference)', async () => {
    const request = new AbortController()
    for (let i = 0; i < 5; i++) {
      const stream = await raw.messages.create(
        { ...params(`bare ${i}`), stream: true },
        {
          signal: request.signal,
        }
      )
      await drain(stream)
    }
    expect(listeners(request.signal)).toBe(0)
  })

  for (const coalesce of [true, false]) {
    describe(`coalesce ${coalesce}`, () => {
      it('streamed calls read to their end in one request (its signal) leave no listener', async () => {
        const client = wrapAnthropic(raw, { coalesce })
        const request = new AbortController()
        for (let i = 0; i < 5; i++) {
          await inRequest(
            {},
            async () => {
              await drain(await client.messages.create({ ...params(`read ${i}`), stream: true }))
            },
            request.signal
          )
        }
        await settleDown()
        expect(listeners(request.signal)).toBe(0)
      })

      it('streamed calls left early (break), or broken by the provider, leave no listener', async () => {
        const client = wrapAnthropic(raw, { coalesce })
        const request = new AbortController()
        for (let i = 0; i < 3; i++) {
          const stream = await client.messages.create(
            { ...params(`left ${i}`), stream: true },
            {
              signal: request.signal,
            }
          )
          for await (const _ of stream) break
        }
        fake.errorStreamAfter(2)
        const broken = await client.messages.create(
          { ...params('broken'), stream: true },
          {
            signal: request.signal,
          }
        )
        await expect(drain(broken)).rejects.toThrow()
        await settleDown()
        expect(listeners(request.signal)).toBe(0)
      })

      it('identical streamed calls sharing one provider call leave no listener', async () => {
        const client = wrapAnthropic(raw, { coalesce })
        const request = new AbortController()
        const streams = await Promise.all(
          [0, 1, 2].map(() =>
            client.messages.create(
              { ...params('together'), stream: true },
              {
                signal: request.signal,
              }
            )
          )
        )
        await Promise.all(streams.map(drain))
        await settleDown()
        expect(listeners(request.signal)).toBe(0)
      })

      it('streamed cache hits (read, left early) leave no listener', async () => {
        const client = wrapAnthropic(raw, { coalesce, cache: mapCache() })
        const request = new AbortController()
        const hit = { ...params('cached'), temperature: 0, stream: true as const }
        await drain(await client.messages.create(hit))
        await settleDown()
        for (let i = 0; i < 3; i++) {
          await drain(await client.messages.create(hit, { signal: request.signal }))
          const left = await client.messages.create(hit, { signal: request.signal })
          for await (const _ of left) break
        }
        expect(fake.count('/v1/messages')).toBe(1)
        expect(listeners(request.signal)).toBe(0)
      })

      it('non-streamed calls leave no listener', async () => {
        const client = wrapAnthropic(raw, { coalesce })
        const request = new AbortController()
        for (let i = 0; i < 5; i++) {
          await client.messages.create(params(`ns ${i}`), {
            signal: request.signal,
            timeout: 10_000,
          })
        }
        await settleDown()
        expect(listeners(request.signal)).toBe(0)
      })
    })
  }
})
