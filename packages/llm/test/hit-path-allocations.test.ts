// A hit the memory tier answers at once is the hot path: it must cost a lookup and a copy, not the
// machinery of a provider call. Counted here (no durations): signal groups made (every flight and
// every `coalesce: false` call makes one), AbortControllers and timers made (a `timeout`'s
// deadline), and abort listeners added to any signal, while one hit runs. Every way a caller may
// configure the call: its own signal, the request's, a `timeout`, a custom `cacheKey` (sync or
// async, as `@aikit/cache`'s `llmCacheKey` is wired), `coalesce: false`. The cache is
// @aikit/cache's `createCache` (its memory tier holds the answer); the real Anthropic SDK against
// the fake provider answers the first call.
import { createCache } from '@aikit/cache'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import type { WrapOptions } from '../src/shared/types.js'
import { inRequest, recorders } from './helpers.js'

const counts = vi.hoisted(() => ({ groups: 0 }))

vi.mock('../src/shared/signal-group.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/shared/signal-group.js')>()
  class CountedSignalGroup extends original.SignalGroup {
    constructor(...args: ConstructorParameters<typeof original.SignalGroup>) {
      super(...args)
      counts.groups++
    }
  }
  return { ...original, SignalGroup: CountedSignalGroup }
})

let fake: FakeProvider
let raw: Anthropic

beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const params = (text: string, stream: boolean) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 50,
  temperature: 0,
  messages: [{ role: 'user' as const, content: text }],
  ...(stream ? { stream: true as const } : {}),
})

/** What `run` made while it ran: signal groups, AbortControllers, timers, abort listeners. */
async function counted(run: () => Promise<unknown>) {
  const made = { groups: 0, controllers: 0, timers: 0, listeners: 0 }
  const RealController = globalThis.AbortController
  const realTimeout = globalThis.setTimeout
  const realAdd = EventTarget.prototype.addEventListener
  globalThis.AbortController = class extends RealController {
    constructor() {
      super()
      made.controllers++
    }
  }
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    made.timers++
    return realTimeout(...args)
  }) as typeof setTimeout
  EventTarget.prototype.addEventListener = function (
    this: EventTarget,
    ...args: Parameters<EventTarget['addEventListener']>
  ) {
    if (args[0] === 'abort') made.listeners++
    return realAdd.apply(this, args)
  }
  const groups = counts.groups
  try {
    // Started and ended under the counters: the hit is answered in the same turn as the lookup.
    await run()
  } finally {
    globalThis.AbortController = RealController
    globalThis.setTimeout = realTimeout
    EventTarget.prototype.addEventListener = realAdd
  }
  made.groups = counts.groups - groups
  return made
}

type Setup = [
  name: string,
  extra: Omit<WrapOptions, 'cache'>,
  options: 'none' | 'signal' | 'request' | 'timeout',
]
const SETUPS: Setup[] = [
  ['no signal', {}, 'none'],
  ['its own signal', {}, 'signal'],
  ["the request's signal", {}, 'request'],
  ['a timeout', {}, 'timeout'],
  ['a custom cacheKey (sync)', { cacheKey: (p) => `sync:${JSON.stringify(p)}` }, 'signal'],
  ['a custom cacheKey (async)', { cacheKey: async (p) => `async:${JSON.stringify(p)}` }, 'signal'],
  ['a custom cacheKey and a timeout', { cacheKey: (p) => `t:${JSON.stringify(p)}` }, 'timeout'],
  ['coalesce: false', { coalesce: false }, 'signal'],
  ['coalesce: false and a timeout', { coalesce: false }, 'timeout'],
]

describe('a memory-tier hit makes no signal group, flight, timer or listener', () => {
  for (const stream of [false, true]) {
    for (const [name, extra, how] of SETUPS) {
      it(`${stream ? 'streamed' : 'non-streamed'}, ${name}`, async () => {
        const cache = createCache({ namespace: `hot-${name}-${stream}` })
        const { metrics } = recorders()
        const client = wrapAnthropic(raw, { cache, metrics, subject: 'u1', ...extra })
        const text = `hot ${name} ${stream}`
        const signal = new AbortController().signal
        const call = async (): Promise<unknown> => {
          const options =
            how === 'signal' ? { signal } : how === 'timeout' ? { signal, timeout: 60_000 } : {}
          const create = () => client.messages.create(params(text, stream), options)
          const answer = await (how === 'request' ? inRequest({}, create, signal) : create())
          if (stream) for await (const _ of answer as AsyncIterable<unknown>);
          return answer
        }
        await call()
        await new Promise((resolve) => setTimeout(resolve, 10))
        const made = await counted(call)
        expect(metrics.cache).toEqual(['miss', 'hit'])
        expect(fake.count('/v1/messages')).toBe(1)
        // A streamed hit's replay listens to the signal (it aborts the replay, as the SDK's own
        // stream does) until it ends: the one listener a hit may add.
        const replayListener = stream && how !== 'none' ? 1 : 0
        expect(made).toEqual({ groups: 0, controllers: 0, timers: 0, listeners: replayListener })
        await cache.close()
      })
    }
  }
})
