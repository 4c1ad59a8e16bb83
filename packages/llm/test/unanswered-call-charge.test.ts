/**
 * A call aborted (client gone, the caller's signal) or timed out once its request was sent gets no
 * answer, but the provider most likely billed it: a non-streamed generation goes on when the
 * client leaves, and a timed-out request usually completes on the provider's side. Such a call is
 * charged what was held for it (never $0): before, its hold was released and nothing charged, so
 * sending expensive requests and aborting each at once spent without limit while the budget showed
 * nothing. Each attempt the SDK timed out and retried counts. A request refused before it was sent
 * (signal aborted already, no connection) or answered with an error (4xx) charges nothing.
 */
import { createServer } from 'node:net'
import { type Budget, createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { inRequest, recorders, until } from './helpers.js'

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const messages = [{ role: 'user' as const, content: 'an expensive question' }]
const claude = { model: 'claude-haiku-4-5', max_tokens: 4000, messages }
const gpt = { model: 'gpt-4o', max_tokens: 4000, messages }
const newBudget = (): Budget => createBudget({ limits: [{ period: 'day', usd: 100 }] })

/** What the budget holds for `subject` while its one call waits on the provider. */
async function heldWhileWaiting(budget: Budget, subject: string): Promise<number> {
  await until(() => fake.calls.length >= 1)
  const held = (await budget.spend(subject)).heldMicros
  expect(held).toBeGreaterThan(0)
  return held
}

describe('a non-streamed call aborted after its request was sent is charged its hold', () => {
  it("OpenAI chat, the client gone (the request's signal): charged the hold, logged with the cost", async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const budget = newBudget()
    const { logger, metrics } = recorders()
    const client = wrapOpenAI(raw, { budget, logger, metrics })
    const gone = new AbortController()
    fake.hangNext(1)
    const pending = inRequest(
      { subject: 'attacker' },
      () => client.chat.completions.create(gpt),
      gone.signal
    )
    const held = await heldWhileWaiting(budget, 'attacker')
    gone.abort()
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError)
    expect(await budget.spend('attacker')).toMatchObject({ heldMicros: 0, totalMicros: held })
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'aborted', costMicros: held })
    expect(metrics.calls[0]?.costUsd).toBe(held / 1_000_000)
    expect(metrics.calls[0]?.error).toBeUndefined()
  })

  it("Anthropic, the caller's own signal, ten calls aborted at once: ten holds charged", async () => {
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const budget = newBudget()
    const client = wrapAnthropic(raw, { budget, subject: 'attacker' })
    fake.hangNext(10)
    const own = new AbortController()
    const calls = Array.from({ length: 10 }, (_, i) =>
      client.messages.create(
        { ...claude, messages: [{ role: 'user', content: `question ${i}` }] },
        { signal: own.signal }
      )
    )
    await until(() => fake.calls.length === 10)
    const held = (await budget.spend('attacker')).heldMicros
    own.abort()
    for (const call of calls) await expect(call).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    expect(await budget.spend('attacker')).toMatchObject({ heldMicros: 0, totalMicros: held })
  })
})

describe('a non-streamed call that timed out is charged its hold once per attempt', () => {
  it('OpenAI, no retries: one hold', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const budget = newBudget()
    const { logger } = recorders()
    const client = wrapOpenAI(raw, { budget, logger, subject: 'slow' })
    fake.hangNext(1)
    // Long enough that the hold is read while the call still waits, on a loaded runner too.
    const pending = client.chat.completions.create(gpt, { timeout: 2000 })
    const held = await heldWhileWaiting(budget, 'slow')
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError)
    expect(await budget.spend('slow')).toMatchObject({ heldMicros: 0, totalMicros: held })
    expect(logger.lines[0]).toMatchObject({ outcome: 'error', costMicros: held })
  })

  it("Anthropic, the client's timeout, two retries that timed out too: three holds (each attempt may have been billed)", async () => {
    // The client's `timeout` is per attempt in a call that does not coalesce (in a coalesced call a
    // timeout of the caller's own, its request's or its client's, is its deadline for the whole
    // wait: see coalescing.test.ts and transparency.test.ts).
    const raw = new Anthropic({
      apiKey: 'k',
      baseURL: fake.anthropicBaseURL,
      maxRetries: 2,
      // Per attempt; long enough that the hold is read while the first one still waits.
      timeout: 1000,
    })
    const budget = newBudget()
    const client = wrapAnthropic(raw, { budget, subject: 'retried', coalesce: false })
    fake.hangNext(3)
    const pending = client.messages.create(claude)
    const held = await heldWhileWaiting(budget, 'retried')
    await expect(pending).rejects.toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
    expect(fake.calls).toHaveLength(3)
    expect(await budget.spend('retried')).toMatchObject({ heldMicros: 0, totalMicros: 3 * held })
  })
})

describe('a streamed call aborted before its first event is charged its input estimate', () => {
  it('Anthropic stream, the caller gone before the response: more than $0, less than the hold', async () => {
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const budget = newBudget()
    const client = wrapAnthropic(raw, { budget, subject: 'stream' })
    fake.hangNext(1)
    const own = new AbortController()
    const pending = client.messages.create({ ...claude, stream: true }, { signal: own.signal })
    const held = await heldWhileWaiting(budget, 'stream')
    own.abort()
    await expect(pending).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    const spend = await budget.spend('stream')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
    expect(spend.totalMicros).toBeLessThan(held)
  })
})

describe('a request that was not sent, or that the provider refused, charges nothing', () => {
  it('a signal aborted before the call: no request, nothing charged', async () => {
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const budget = newBudget()
    const client = wrapAnthropic(raw, { budget, subject: 'never' })
    await expect(
      client.messages.create(claude, { signal: AbortSignal.abort() })
    ).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    expect(fake.calls).toHaveLength(0)
    expect(await budget.spend('never')).toMatchObject({ heldMicros: 0, totalMicros: 0 })
  })

  it('a 400 answer: nothing charged', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const budget = newBudget()
    const client = wrapOpenAI(raw, { budget, subject: 'refused' })
    fake.failNext(1, { status: 400 })
    await expect(client.chat.completions.create(gpt)).rejects.toBeInstanceOf(OpenAI.BadRequestError)
    expect(await budget.spend('refused')).toMatchObject({ heldMicros: 0, totalMicros: 0 })
  })

  it('no server listening (connection refused): nothing charged', async () => {
    const port = await closedPort()
    const raw = new Anthropic({ apiKey: 'k', baseURL: `http://127.0.0.1:${port}`, maxRetries: 0 })
    const budget = newBudget()
    const client = wrapAnthropic(raw, { budget, subject: 'offline' })
    const error = await client.messages.create(claude).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Anthropic.APIConnectionError)
    expect(error).not.toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
    expect(await budget.spend('offline')).toMatchObject({ heldMicros: 0, totalMicros: 0 })
  })
})

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
