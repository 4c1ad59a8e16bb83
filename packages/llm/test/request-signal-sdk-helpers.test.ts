// The request's signal (`ctx.signal`: the client went away) aborts a call even when the call has a
// signal of its own: both abort it. The SDK stream helpers always pass their own signal (openai's
// `chat.completions.stream()` and `responses.stream()`, Anthropic's `messages.stream()`: `{
// ...options, signal: this.controller.signal }`), so inside a request whose client has gone their
// provider stream is aborted too, instead of being generated (and billed) to its end for nobody.
// A caller's own signal still aborts its call alone.
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { inRequest, recorders, until } from './helpers.js'

let fake: FakeProvider
let openai: OpenAI
let anthropic: Anthropic
beforeAll(async () => {
  fake = await startFakeProvider()
  openai = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
  anthropic = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const chat = (text: string) => ({
  model: 'gpt-4o-mini',
  max_completion_tokens: 500,
  messages: [{ role: 'user' as const, content: text }],
})

type Clients = { openai: OpenAI; anthropic: Anthropic }

/**
 * Runs `read` in a request whose client goes away after the third event the caller reads; the
 * call's log line.
 */
async function clientGoneAfterThreeEvents(
  read: (clients: Clients, onEvent: () => void) => Promise<unknown>
): Promise<Record<string, unknown> | undefined> {
  const { logger } = recorders()
  const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
  const clients = {
    openai: wrapOpenAI(openai, { budget, logger }),
    anthropic: wrapAnthropic(anthropic, { budget, logger }),
  }
  fake.setStreamDelayMs(20)
  fake.setReply(() => 'word '.repeat(100))
  const gone = new AbortController()
  let seen = 0
  await inRequest(
    { subject: 'ctx' },
    () =>
      read(clients, () => {
        if (++seen === 3) gone.abort()
      }).catch(() => undefined),
    gone.signal
  )
  await until(() => logger.lines.length === 1)
  await fake.idle()
  return logger.lines[0]
}

describe('the request signal aborts calls that carry a signal of their own', () => {
  it('create({ stream: true }) without a signal of its own', async () => {
    const line = await clientGoneAfterThreeEvents(async ({ openai }, onEvent) => {
      const stream = await openai.chat.completions.create({ ...chat('a'), stream: true })
      for await (const _ of stream) onEvent()
    })
    expect(fake.calls[0]?.aborted).toBe(true)
    expect(line).toMatchObject({ outcome: 'aborted' })
  })

  it('openai chat.completions.stream()', async () => {
    const line = await clientGoneAfterThreeEvents(async ({ openai }, onEvent) => {
      const stream = openai.chat.completions.stream(chat('b'))
      for await (const _ of stream) onEvent()
    })
    expect(fake.calls[0]?.aborted).toBe(true)
    expect(line).toMatchObject({ outcome: 'aborted' })
  })

  it('openai responses.stream()', async () => {
    const line = await clientGoneAfterThreeEvents(async ({ openai }, onEvent) => {
      const stream = openai.responses.stream({
        model: 'gpt-4o-mini',
        max_output_tokens: 500,
        input: 'c',
      })
      for await (const _ of stream) onEvent()
    })
    expect(fake.calls[0]?.aborted).toBe(true)
    expect(line).toMatchObject({ outcome: 'aborted' })
  })

  it('Anthropic messages.stream()', async () => {
    const line = await clientGoneAfterThreeEvents(async ({ anthropic }, onEvent) => {
      const stream = anthropic.messages.stream({
        model: 'claude-haiku-4-5',
        max_tokens: 500,
        messages: [{ role: 'user', content: 'd' }],
      })
      for await (const _ of stream) onEvent()
    })
    expect(fake.calls[0]?.aborted).toBe(true)
    expect(line).toMatchObject({ outcome: 'aborted' })
  })

  it("create({ stream: true }, { signal }) with the caller's own signal", async () => {
    const own = new AbortController()
    const line = await clientGoneAfterThreeEvents(async ({ openai }, onEvent) => {
      const stream = await openai.chat.completions.create(
        { ...chat('e'), stream: true },
        { signal: own.signal }
      )
      for await (const _ of stream) onEvent()
    })
    expect(own.signal.aborted).toBe(false)
    expect(fake.calls[0]?.aborted).toBe(true)
    expect(line).toMatchObject({ outcome: 'aborted' })
  })

  it("the caller's own signal still aborts its call alone, the request going on", async () => {
    const { logger } = recorders()
    const client = wrapOpenAI(openai, {
      budget: createBudget({ limits: [{ period: 'day', usd: 1 }] }),
      logger,
    })
    fake.setStreamDelayMs(20)
    fake.setReply(() => 'word '.repeat(100))
    const request = new AbortController()
    const own = new AbortController()
    let seen = 0
    await inRequest(
      { subject: 'ctx' },
      async () => {
        const stream = client.chat.completions.stream(chat('f'), { signal: own.signal })
        for await (const _ of stream) if (++seen === 3) own.abort()
      },
      request.signal
    ).catch(() => undefined)
    await until(() => logger.lines.length === 1)
    await fake.idle()
    expect(request.signal.aborted).toBe(false)
    expect(fake.calls[0]?.aborted).toBe(true)
    expect(logger.lines[0]).toMatchObject({ outcome: 'aborted' })
  })
})
