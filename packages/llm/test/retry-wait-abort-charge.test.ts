// A call the caller aborts, or that times out, while the SDK waits out a `retry-after` before
// retrying is charged only for the attempts the provider may have billed (README, budgets): an
// attempt it answered with an error status (a 429) is never charged; one still waiting for its
// answer when the call ended is. The wrapper counts the SDK's attempts through the client's `fetch`.
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapOpenAI } from '../src/openai/index.js'
import { until } from './helpers.js'

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const gpt = {
  model: 'gpt-4o',
  max_tokens: 4000,
  messages: [{ role: 'user' as const, content: 'q' }],
}

describe('a call ended while the SDK waits to retry a refused attempt', () => {
  it('aborted: charges nothing when its only attempt was answered 429', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 2 })
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const client = wrapOpenAI(raw, { budget, subject: 'u' })
    fake.failNext(1, { status: 429, retryAfter: 1.5 })
    const ac = new AbortController()
    const pending = client.chat.completions.create(gpt, { signal: ac.signal })
    pending.catch(() => {})
    await until(() => fake.calls.length === 1 && fake.calls[0]?.status === 429)
    await new Promise((r) => setTimeout(r, 100))
    ac.abort()
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError)
    expect(fake.calls.length).toBe(1)
    const spend = await budget.spend('u')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBe(0)
  })

  it('timed out: charges nothing when its only attempt was answered 429', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 1 })
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const client = wrapOpenAI(raw, { budget, subject: 'u' })
    // The 429 must come back well within the timeout (a loaded runner can take a second), and
    // the retry it asks for must come after it.
    fake.failNext(1, { status: 429, retryAfter: 4.5 })
    const pending = client.chat.completions.create(gpt, { timeout: 3000 })
    pending.catch(() => {})
    await until(() => fake.calls.length === 1)
    const held = (await budget.spend('u')).heldMicros
    expect(held).toBeGreaterThan(0)
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError)
    expect(fake.calls.length).toBe(1)
    const spend = await budget.spend('u')
    expect({ held: spend.heldMicros, charged: spend.totalMicros / held }).toEqual({
      held: 0,
      charged: 0,
    })
  })

  it('aborted during the retry after a 429: charges the one attempt still unanswered', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 2 })
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const client = wrapOpenAI(raw, { budget, subject: 'u' })
    fake.failNext(1, { status: 429, retryAfter: 0.01 })
    const retry = fake.holdNext()
    const ac = new AbortController()
    const pending = client.chat.completions.create(gpt, { signal: ac.signal })
    pending.catch(() => {})
    await until(() => fake.calls.length === 1)
    const held = (await budget.spend('u')).heldMicros
    await retry.reached
    ac.abort()
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError)
    retry.release()
    const spend = await budget.spend('u')
    expect({ held: spend.heldMicros, charged: spend.totalMicros / held }).toEqual({
      held: 0,
      charged: 1,
    })
  })
})
