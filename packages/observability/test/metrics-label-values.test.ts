/**
 * Label values `createMetrics` records: every label is capped at `maxLabelValues` (the status code
 * was not), a label value never makes two label sets share one series (prom-client keys series
 * by joining `name:value` pairs with `,`, unescaped), and a record with nothing to record takes
 * no label slot.
 */
import { createMetrics } from '@aikit/observability'
import { describe, expect, it } from 'vitest'
import { parseScrape } from './parse-scrape.js'

const COUNT = 'http_server_request_duration_seconds_count'
const LLM_COUNT = 'gen_ai_client_operation_duration_seconds_count'

describe('http_response_status_code', () => {
  it('is capped at maxLabelValues like every other label, past it `_other`', async () => {
    const m = createMetrics({ key: false, maxLabelValues: 5 })
    // A proxy route passing its upstream's status on (Node accepts any code 100-999).
    for (let code = 200; code < 240; code++) {
      m.recordHttpRequest({
        method: 'GET',
        route: '/proxy',
        statusCode: code,
        durationSeconds: 0.01,
      })
    }
    const samples = parseScrape(await m.registry.metrics()).filter((s) => s.name === COUNT)
    const byCode = new Map(samples.map((s) => [s.labels.http_response_status_code, s.value]))
    expect([...byCode.keys()].sort()).toEqual(['200', '201', '202', '203', '204', '_other'])
    expect(byCode.get('_other')).toBe(35)
    expect(byCode.get('200')).toBe(1)
  })

  it('records a code outside 100-599 or not an integer as an empty status', async () => {
    const m = createMetrics({ key: false })
    for (const statusCode of [-5, 0, 99, 600, 999, 2 ** 40, 200.5, Number.NaN]) {
      m.recordHttpRequest({ method: 'GET', route: '/x', statusCode, durationSeconds: 0.01 })
    }
    m.recordHttpRequest({ method: 'GET', route: '/x', statusCode: 599, durationSeconds: 0.01 })
    const samples = parseScrape(await m.registry.metrics()).filter((s) => s.name === COUNT)
    const byCode = new Map(samples.map((s) => [s.labels.http_response_status_code, s.value]))
    expect(Object.fromEntries(byCode)).toEqual({ '': 8, '599': 1 })
  })
})

describe('GenAI label values', () => {
  it('keeps two different (provider, operation) label sets as two series', async () => {
    const m = createMetrics({ key: false })
    // The same prom-client key ("name:value" joined by ",") for both, before `,` was replaced.
    m.recordLlmCall({
      provider: 'x',
      model: 'm',
      operation: 'chat,gen_ai_provider_name:openai',
      durationSeconds: 1,
    })
    m.recordLlmCall({
      provider: 'openai,gen_ai_provider_name:x',
      model: 'm',
      operation: 'chat',
      durationSeconds: 2,
    })
    const samples = parseScrape(await m.registry.metrics()).filter((s) => s.name === LLM_COUNT)
    expect(
      samples
        .map((s) => [s.labels.gen_ai_provider_name, s.labels.gen_ai_operation_name, s.value])
        .sort()
    ).toEqual([
      ['openai;gen_ai_provider_name:x', 'chat', 1],
      ['x', 'chat;gen_ai_provider_name:openai', 1],
    ])
  })

  it('keeps a model id with `:` as it is (Bedrock ARNs, versioned ids)', async () => {
    const m = createMetrics({ key: false })
    const model = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku:0'
    m.recordLlmCall({ provider: 'aws.bedrock', model, durationSeconds: 1 })
    const samples = parseScrape(await m.registry.metrics()).filter((s) => s.name === LLM_COUNT)
    expect(samples.map((s) => s.labels.gen_ai_request_model)).toEqual([model])
  })

  it('a dropped LLM record (nothing valid to record) takes no label slot', async () => {
    const m = createMetrics({ key: false, maxLabelValues: 2 })
    m.recordLlmCall({ provider: 'p', model: 'junk-1', durationSeconds: Number.NaN })
    m.recordLlmCall({ provider: 'p', model: 'junk-2', durationSeconds: -1 })
    m.recordBudget({ budget: 'junk-3', spentUsd: -1 })
    m.recordBudget({ budget: 'junk-4' })
    const before = parseScrape(await m.registry.metrics()).filter(
      (s) => s.name.startsWith('gen_ai_') || s.name.startsWith('aikit_budget')
    )
    expect(before).toEqual([])
    m.recordLlmCall({ provider: 'p', model: 'claude-sonnet-4-5', durationSeconds: 1 })
    m.recordLlmCall({
      provider: 'p',
      model: 'gpt-5',
      durationSeconds: Number.NaN,
      usage: { inputTokens: 3, outputTokens: 1 },
    })
    m.recordBudget({ budget: 'team-a', spentUsd: 0.5 })
    m.recordBudget({ budget: 'team-b', rejected: true })
    const scrape = parseScrape(await m.registry.metrics())
    expect(
      scrape.filter((s) => s.name === LLM_COUNT).map((s) => s.labels.gen_ai_request_model)
    ).toEqual(['claude-sonnet-4-5'])
    const models = new Set(
      scrape.filter((s) => s.name.startsWith('gen_ai_')).map((s) => s.labels.gen_ai_request_model)
    )
    expect([...models].sort()).toEqual(['claude-sonnet-4-5', 'gpt-5'])
    const budgets = new Set(
      scrape.filter((s) => s.name.startsWith('aikit_budget')).map((s) => s.labels.budget)
    )
    expect([...budgets].sort()).toEqual(['team-a', 'team-b'])
  })
})

describe('a label value with a lone surrogate', () => {
  // From a client's JSON (`"gpt-4\ud800"`): two JS strings that are written alike (U+FFFD), which
  // were two series with one label set in the scrape (Prometheus drops both as duplicates).
  it('is one series with the value as written', async () => {
    const m = createMetrics({ key: false })
    const models = [JSON.parse('"gpt-4\\ud800"'), JSON.parse('"gpt-4\\udc00"'), 'gpt-4\ufffd']
    for (const model of models) {
      m.recordLlmCall({ provider: 'openai', model, operation: 'chat', durationSeconds: 1 })
      m.recordHttpRequest({ method: 'GET', route: model, statusCode: 200, durationSeconds: 0.01 })
    }
    const text = await m.registry.metrics()
    const llm = parseScrape(text).filter((s) => s.name === LLM_COUNT)
    expect(llm.map((s) => [s.labels.gen_ai_request_model, s.value])).toEqual([['gpt-4\ufffd', 3]])
    const http = parseScrape(text).filter((s) => s.name === COUNT)
    expect(http.map((s) => [s.labels.http_route, s.value])).toEqual([['gpt-4\ufffd', 3]])
  })
})
