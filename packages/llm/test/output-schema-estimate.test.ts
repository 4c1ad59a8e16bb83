// A structured output's JSON schema (OpenAI `response_format` / Responses `text.format`, Anthropic
// `output_config.format`) is put in the prompt and billed as input. The worst case held left it
// out: a request whose schema is most of its input held a fraction of what it cost, so concurrent
// ones overran the budget. It is counted as a tool definition is (its JSON).
import { createBudget, estimateTokens } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'

let fake: FakeProvider
let openai: OpenAI
let anthropic: Anthropic
beforeAll(async () => {
  fake = await startFakeProvider()
  openai = new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
  anthropic = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
beforeEach(() => fake.reset())
afterAll(() => fake.close())

/** A schema of a few thousand tokens: 200 described fields. */
const schema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(
    Array.from({ length: 200 }, (_, i) => [
      `field_${i}`,
      { type: 'string', description: `The value of field number ${i} of the extracted record.` },
    ])
  ),
  required: Array.from({ length: 200 }, (_, i) => `field_${i}`),
}
const schemaTokens = estimateTokens([{ role: 'user', content: JSON.stringify(schema) }], 'gpt-4o')
const messages = [{ role: 'user' as const, content: 'extract it' }]

/**
 * Room for the request without its schema (2,000 µ$: about 800 input tokens of gpt-4o, 2,000 of
 * claude-haiku-4-5), far from enough with it.
 */
const budget = () => createBudget({ limits: [{ period: 'day', micros: 2_000 }] })

describe('a structured-output schema is part of the input held', () => {
  it('the schema is thousands of tokens (the premise)', () => {
    expect(schemaTokens).toBeGreaterThan(2_000)
  })

  it('chat response_format: refused before the provider call', async () => {
    const client = wrapOpenAI(openai, { budget: budget(), subject: 'u' })
    await expect(
      client.chat.completions.create({
        model: 'gpt-4o',
        max_completion_tokens: 10,
        messages,
        response_format: { type: 'json_schema', json_schema: { name: 'record', schema } },
      })
    ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(fake.count()).toBe(0)
    // Without the schema the same request fits.
    await client.chat.completions.create({ model: 'gpt-4o', max_completion_tokens: 10, messages })
    expect(fake.count()).toBe(1)
  })

  it('responses text.format: refused before the provider call', async () => {
    const client = wrapOpenAI(openai, { budget: budget(), subject: 'u' })
    await expect(
      client.responses.create({
        model: 'gpt-4o',
        max_output_tokens: 16,
        input: 'extract it',
        text: { format: { type: 'json_schema', name: 'record', schema } },
      })
    ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(fake.count()).toBe(0)
  })

  it('anthropic output_config.format: refused before the provider call', async () => {
    const client = wrapAnthropic(anthropic, { budget: budget(), subject: 'u' })
    await expect(
      client.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 10,
        messages,
        output_config: { format: { type: 'json_schema', schema } },
      })
    ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(fake.count()).toBe(0)
  })
})
