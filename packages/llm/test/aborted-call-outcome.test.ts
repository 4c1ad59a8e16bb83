/**
 * A non-streamed call every caller leaves (the request's `ctx.signal` when the client goes away,
 * or the caller's own signal) is logged `outcome: 'aborted'` and measured with no error, as a
 * stream the callers leave is: a client disconnect is not a provider error. A timeout stays an
 * error. Before, such a call was logged `outcome: 'error'` and counted in the metrics as an error
 * whose type read `Error` (the SDK's `APIUserAbortError` has no name of its own).
 */
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aikit, wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { inRequest, recorders, until } from './helpers.js'

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const messages = [{ role: 'user' as const, content: 'wait for me' }]

describe('a non-streamed call whose client went away', () => {
  it('OpenAI chat: logged aborted, no error in the metrics, the hold charged (the request was sent: see unanswered-call-charge.test.ts)', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const { logger, metrics } = recorders()
    const client = wrapOpenAI(raw, { budget, logger, metrics })
    const gone = new AbortController()
    fake.hangNext(1)
    const pending = inRequest(
      { subject: 'gone' },
      () => client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 50 }),
      gone.signal
    )
    await until(() => fake.calls.length === 1)
    gone.abort()
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError)
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'aborted', stream: false })
    expect(logger.lines[0]).not.toHaveProperty('error')
    expect(metrics.calls).toHaveLength(1)
    expect(metrics.calls[0]?.error).toBeUndefined()
    const spend = await budget.spend('gone')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
    await fake.idle()
    expect(fake.calls[0]?.aborted).toBe(true)
  })

  it("Anthropic, the caller's own signal: logged aborted, no error in the metrics", async () => {
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const { logger, metrics } = recorders()
    const client = wrapAnthropic(raw, { logger, metrics })
    const own = new AbortController()
    fake.hangNext(1)
    const pending = client.messages.create(
      { model: 'claude-haiku-4-5', max_tokens: 50, messages },
      { signal: own.signal }
    )
    await until(() => fake.calls.length === 1)
    own.abort()
    await expect(pending).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'aborted' })
    expect(metrics.calls[0]?.error).toBeUndefined()
  })

  it('a timeout is still an error (the caller did not leave)', async () => {
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const { logger, metrics } = recorders()
    const client = wrapAnthropic(raw, { logger, metrics })
    fake.hangNext(1)
    const error = await client.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 50, messages }, aikit({}, { timeout: 100 }))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'error' })
    expect(metrics.calls[0]?.error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
  })
})
