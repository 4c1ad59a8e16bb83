// A wrapped call inside a request sets `ctx.state.llm` { provider, model }: `@aikit/observability`
// tags the request's Sentry events with it (`gen_ai.provider.name`, `gen_ai.request.model`).
import type { Context } from '@aikit/core'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { inRequest } from './helpers.js'

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(async () => {
  await fake.close()
})

describe('the LLM wrappers record the call on ctx.state.llm (read by initSentry for its tags)', () => {
  it('wrapAnthropic: a call inside a request sets ctx.state.llm { provider, model }', async () => {
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const client = wrapAnthropic(raw)
    const state: Context['state'] = { subject: 'alice' }
    await inRequest(state, () =>
      client.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hello' }],
      })
    )
    expect(state.llm).toEqual({ provider: 'anthropic', model: 'claude-haiku-4-5' })
  })

  it('wrapOpenAI: a call inside a request sets ctx.state.llm { provider, model }', async () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const client = wrapOpenAI(raw)
    const state: Context['state'] = { subject: 'bob' }
    await inRequest(state, () =>
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hello' }],
      })
    )
    expect(state.llm).toEqual({ provider: 'openai', model: 'gpt-4o-mini' })
  })
})
