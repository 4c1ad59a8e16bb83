// A non-streamed answer the provider sent with a success status (so generated and billed) that
// could not be read: its body cut on the way (a connection reset mid-body, a proxy dropping it:
// the SDK rejects with the body read's `TypeError: terminated`), or a body that is not JSON. The
// call is charged its hold, as an aborted one is: a budget must not under-count what the provider
// bills. An answer with an error status is still charged nothing.
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { recorders } from './helpers.js'

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

/** A fetch whose 200 answers break after their first bytes (the connection reset mid-body). */
const cuttingFetch: typeof fetch = async (url, init) => {
  const res = await fetch(url, init)
  if (res.status !== 200) return res
  const text = await res.text()
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode(text.slice(0, 20)))
      c.error(new TypeError('terminated'))
    },
  })
  return new Response(body, { status: 200, headers: res.headers })
}

/** A fetch whose 200 answers say JSON but hold something else (a proxy's HTML page). */
const garblingFetch: typeof fetch = async (url, init) => {
  const res = await fetch(url, init)
  if (res.status !== 200) return res
  await res.text()
  return new Response('<html>bad gateway</html>', { status: 200, headers: res.headers })
}

/** A fetch whose answers are all a 500 error. */
const failingFetch: typeof fetch = async (url, init) => {
  await (await fetch(url, init)).text()
  return new Response(JSON.stringify({ error: { message: 'boom', type: 'server_error' } }), {
    status: 500,
    headers: { 'content-type': 'application/json' },
  })
}

const budgeted = () => createBudget({ limits: [{ period: 'day', usd: 1 }] })

async function anthropicCall(fetchFn: typeof fetch) {
  const raw = new Anthropic({
    apiKey: 'k',
    baseURL: fake.anthropicBaseURL,
    maxRetries: 0,
    fetch: fetchFn,
  })
  const budget = budgeted()
  const { logger } = recorders()
  const client = wrapAnthropic(raw, { budget, subject: 'u', logger })
  const error = await client.messages
    .create({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    })
    .catch((e: unknown) => e)
  return { error, spend: await budget.spend('u'), line: logger.lines[0] }
}

async function openaiCall(fetchFn: typeof fetch) {
  const raw = new OpenAI({
    apiKey: 'k',
    baseURL: fake.openaiBaseURL,
    maxRetries: 0,
    fetch: fetchFn,
  })
  const budget = budgeted()
  const client = wrapOpenAI(raw, { budget, subject: 'u' })
  const error = await client.chat.completions
    .create({
      model: 'gpt-4o-mini',
      max_completion_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    })
    .catch((e: unknown) => e)
  return { error, spend: await budget.spend('u') }
}

describe('a non-streamed answer sent 200 that cannot be read is charged its hold', () => {
  it('Anthropic, its body cut on the way', async () => {
    const { error, spend, line } = await anthropicCall(cuttingFetch)
    expect(error).toBeInstanceOf(Error)
    expect(fake.calls[0]?.status).toBe(200)
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
    expect(line).toMatchObject({ outcome: 'error', costMicros: spend.totalMicros })
  })

  it('OpenAI chat, its body cut on the way', async () => {
    const { error, spend } = await openaiCall(cuttingFetch)
    expect(error).toBeInstanceOf(Error)
    expect(fake.calls[0]?.status).toBe(200)
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
  })

  it('Anthropic and OpenAI chat, a body that is not JSON', async () => {
    const a = await anthropicCall(garblingFetch)
    expect(a.error).toBeInstanceOf(Error)
    expect(a.spend.totalMicros).toBeGreaterThan(0)
    const o = await openaiCall(garblingFetch)
    expect(o.error).toBeInstanceOf(Error)
    expect(o.spend.totalMicros).toBeGreaterThan(0)
  })

  it('an answer with an error status is still charged nothing', async () => {
    const a = await anthropicCall(failingFetch)
    expect(a.error).toMatchObject({ status: 500 })
    expect(a.spend).toMatchObject({ heldMicros: 0, totalMicros: 0 })
    const o = await openaiCall(failingFetch)
    expect(o.error).toMatchObject({ status: 500 })
    expect(o.spend).toMatchObject({ heldMicros: 0, totalMicros: 0 })
  })
})
