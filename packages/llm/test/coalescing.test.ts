import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aikit, wrapAnthropic } from '../src/anthropic/index.js'
import { until } from './helpers.js'

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

describe('coalescing', () => {
  it('one caller aborting does not cut the shared call for the others', async () => {
    const client = wrapAnthropic(raw, {})
    const leaver = new AbortController()
    const first = client.messages.create(params('shared'), { signal: leaver.signal })
    const second = client.messages.create(params('shared'), {
      signal: new AbortController().signal,
    })
    leaver.abort()
    await expect(second).resolves.toMatchObject({ type: 'message' })
    await first.catch(() => undefined)
    expect(fake.count('/v1/messages')).toBe(1)
    expect(fake.calls[0]?.aborted).toBe(false)
  })

  it('the shared call is aborted once every caller has aborted', async () => {
    const client = wrapAnthropic(raw, {})
    const a = new AbortController()
    const b = new AbortController()
    fake.hangNext(1)
    const calls = [
      client.messages.create(params('both leave'), { signal: a.signal }),
      client.messages.create(params('both leave'), { signal: b.signal }),
    ]
    await until(() => fake.calls.length === 1)
    a.abort()
    b.abort()
    const outcomes = await Promise.allSettled(calls)
    for (const o of outcomes) {
      expect(o.status).toBe('rejected')
      expect((o as PromiseRejectedResult).reason).toBeInstanceOf(Anthropic.APIUserAbortError)
    }
    await fake.idle()
    expect(fake.calls[0]?.aborted).toBe(true)
  })

  it('never shares a call between subjects, nor with a no-store call', async () => {
    const client = wrapAnthropic(raw, {})
    await Promise.all([
      client.messages.create(params('same'), aikit({ subject: 'a' })),
      client.messages.create(params('same'), aikit({ subject: 'b' })),
      client.messages.create(params('same'), aikit({ subject: 'a', cache: 'no-store' })),
    ])
    expect(fake.count('/v1/messages')).toBe(3)
  })
})
