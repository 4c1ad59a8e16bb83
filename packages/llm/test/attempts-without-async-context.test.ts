/**
 * A budgeted call counts the SDK's attempts (what an unanswered call is charged, see
 * unanswered-call-charge.test.ts) through its own request options, not an AsyncLocalStorage scope:
 * on Node 20 entering one turns on promise hooks for the whole process, for good, which taxes every
 * promise of the app. Guaranteed: a budgeted call enters no AsyncLocalStorage, and the caller's own
 * per-call `fetchOptions` still reach `fetch` beside the kit's.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
afterEach(() => vi.restoreAllMocks())

const budget = () => createBudget({ limits: [{ period: 'day', usd: 100 }] })
const messages = [{ role: 'user' as const, content: 'hi' }]

/** A client `fetch` recording the `RequestInit` of each request. */
function recordingFetch() {
  const inits: Record<string, unknown>[] = []
  const fetchFn = (url: RequestInfo | URL, init?: RequestInit) => {
    inits.push({ ...(init as Record<string, unknown>) })
    return fetch(url, init)
  }
  return { fetchFn, inits }
}

it('a budgeted Anthropic and OpenAI call enters no AsyncLocalStorage', async () => {
  const run = vi.spyOn(AsyncLocalStorage.prototype, 'run')
  const enterWith = vi.spyOn(AsyncLocalStorage.prototype, 'enterWith')
  const anthropic = wrapAnthropic(
    new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 }),
    { budget: budget(), subject: 'u' }
  )
  const openai = wrapOpenAI(
    new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 }),
    { budget: budget(), subject: 'u' }
  )
  await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 16, messages })
  await openai.chat.completions.create({ model: 'gpt-4o', messages })
  expect(fake.count('/v1/messages')).toBe(1)
  expect(fake.count('/v1/chat/completions')).toBe(1)
  expect(run).not.toHaveBeenCalled()
  expect(enterWith).not.toHaveBeenCalled()
})

it("the caller's per-call fetchOptions reach fetch beside the kit's", async () => {
  const a = recordingFetch()
  const anthropic = wrapAnthropic(
    new Anthropic({
      apiKey: 'k',
      baseURL: fake.anthropicBaseURL,
      maxRetries: 0,
      fetch: a.fetchFn as never,
    }),
    { budget: budget(), subject: 'u' }
  )
  await anthropic.messages.create(
    { model: 'claude-haiku-4-5', max_tokens: 16, messages },
    { fetchOptions: { cache: 'no-store' } }
  )
  const o = recordingFetch()
  const openai = wrapOpenAI(
    new OpenAI({
      apiKey: 'k',
      baseURL: fake.openaiBaseURL,
      maxRetries: 0,
      fetch: o.fetchFn as never,
    }),
    { budget: budget(), subject: 'u' }
  )
  await openai.chat.completions.create(
    { model: 'gpt-4o', messages },
    { fetchOptions: { cache: 'no-store' } }
  )
  for (const inits of [a.inits, o.inits]) {
    expect(inits).toHaveLength(1)
    expect(inits[0]?.cache).toBe('no-store')
    // The kit's own member is a symbol: nothing a header, body or JSON log could show.
    expect(
      Object.keys(inits[0] ?? {}).filter(
        (k) => !['method', 'headers', 'body', 'signal', 'cache', 'duplex'].includes(k)
      )
    ).toEqual([])
  }
})
