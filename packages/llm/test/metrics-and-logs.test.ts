// Every API of both SDKs, streamed and not, shows up in @aikit/observability's real metrics (OTel
// GenAI names, token counts, cost) and in one line of its real logger, carrying the request id of
// the request context the call runs in.
import { Writable } from 'node:stream'
import { priceOf } from '@aikit/cost'
import { createLogger, createMetrics } from '@aikit/observability'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { inRequest, until } from './helpers.js'
import { ask, OPENAI_APIS, OPENAI_MODEL } from './openai-calls.js'
import { OPENAI_SDKS } from './openai-sdks.js'

const ANTHROPIC_MODEL = 'claude-haiku-4-5'
/** Usage the fake reports for every answer (so each API's numbers are known). */
const USAGE = { inputTokens: 11, outputTokens: 7 }
const REQUEST = { requestId: 'req-7f3a', subject: 'alice' }

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => {
  fake.reset()
  fake.setUsage(USAGE)
})

/** The real metrics (a private registry) and the real JSON-lines logger writing into `lines`. */
function observability() {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      }
      done()
    },
  })
  return { metrics: createMetrics({ key: false }), logger: createLogger({ stream }), lines }
}

type Observed = ReturnType<typeof observability>

/** Value of the sample `sample` of metric `metric` whose labels include `labels` (undefined: none). */
async function sampleOf(
  o: Observed,
  metric: string,
  sample: string,
  labels: Record<string, string>
): Promise<number | undefined> {
  const found = o.metrics.registry.getSingleMetric(metric)
  if (!found) return undefined
  const { values } = await found.get()
  const hit = values.find(
    (v) =>
      // Histogram samples name their series (`_sum`, `_count`, `_bucket`) in `metricName`.
      ((v as { metricName?: string }).metricName ?? metric) === sample &&
      Object.entries(labels).every(([k, value]) => v.labels[k] === value)
  )
  return hit?.value
}

/** The call is in the metrics (GenAI names, tokens, duration, cost) and in one log line. */
async function expectObserved(
  o: Observed,
  call: { provider: 'anthropic' | 'openai'; model: string; stream: boolean }
): Promise<void> {
  await until(() => o.lines.length === 1) // a stream logs once it has ended and settled
  const genAi = {
    gen_ai_provider_name: call.provider,
    gen_ai_request_model: call.model,
    gen_ai_operation_name: 'chat',
  }
  const tokens = 'gen_ai_client_token_usage'
  for (const [type, count] of [
    ['input', USAGE.inputTokens],
    ['output', USAGE.outputTokens],
  ] as const) {
    const labels = { ...genAi, gen_ai_token_type: type }
    expect(await sampleOf(o, tokens, `${tokens}_sum`, labels)).toBe(count)
    expect(await sampleOf(o, tokens, `${tokens}_count`, labels)).toBe(1)
  }
  const duration = 'gen_ai_client_operation_duration_seconds'
  expect(await sampleOf(o, duration, `${duration}_count`, { ...genAi, error_type: '' })).toBe(1)
  const ttfc = 'gen_ai_client_operation_time_to_first_chunk_seconds'
  expect((await sampleOf(o, ttfc, `${ttfc}_count`, genAi)) ?? 0).toBe(call.stream ? 1 : 0)
  const costMicros = priceOf(call.model, USAGE)
  expect(costMicros).toBeGreaterThan(0)
  expect(
    await sampleOf(o, 'aikit_llm_cost_usd_total', 'aikit_llm_cost_usd_total', {
      gen_ai_provider_name: call.provider,
      gen_ai_request_model: call.model,
    })
  ).toBeCloseTo(costMicros / 1e6, 12)

  expect(o.lines).toHaveLength(1)
  expect(o.lines[0]).toMatchObject({
    level: 'info',
    message: 'llm call',
    provider: call.provider,
    model: call.model,
    stream: call.stream,
    outcome: 'ok',
    inputTokens: USAGE.inputTokens,
    outputTokens: USAGE.outputTokens,
    costMicros,
    requestId: REQUEST.requestId,
    subject: REQUEST.subject,
  })
  expect(JSON.stringify(o.lines[0])).not.toContain('test-key')
}

describe('wrapAnthropic: metrics and logs', () => {
  let raw: Anthropic
  beforeAll(() => {
    raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
  })
  const params = {
    model: ANTHROPIC_MODEL,
    max_tokens: 100,
    messages: [{ role: 'user' as const, content: 'observe me' }],
  }

  const calls = {
    'messages.create': async (client: Anthropic) => {
      const message = await client.messages.create(params)
      expect(message.usage.output_tokens).toBe(USAGE.outputTokens)
    },
    'messages.create({ stream: true })': async (client: Anthropic) => {
      const events: string[] = []
      for await (const e of await client.messages.create({ ...params, stream: true })) {
        events.push(e.type)
      }
      expect(events.at(-1)).toBe('message_stop')
    },
    'messages.stream()': async (client: Anthropic) => {
      const message = await client.messages.stream(params).finalMessage()
      expect(message.usage.output_tokens).toBe(USAGE.outputTokens)
    },
  }

  it.each(Object.entries(calls))(
    '%s: in the GenAI metrics with its tokens and cost, and in one log line with the request id',
    async (name, run) => {
      const o = observability()
      const client = wrapAnthropic(raw, { metrics: o.metrics, logger: o.logger })
      await inRequest(REQUEST, () => run(client))
      await expectObserved(o, {
        provider: 'anthropic',
        model: ANTHROPIC_MODEL,
        stream: name !== 'messages.create',
      })
    }
  )

  it('a call outside any request context logs no request id', async () => {
    const o = observability()
    const client = wrapAnthropic(raw, { metrics: o.metrics, logger: o.logger })
    await client.messages.create(params)
    await until(() => o.lines.length === 1)
    expect(o.lines[0]).toMatchObject({ message: 'llm call', outcome: 'ok' })
    expect(o.lines[0]).not.toHaveProperty('requestId')
  })
})

for (const sdk of OPENAI_SDKS) {
  // openai 7 needs Node 22+ (its engines field): skipped on Node 20, run by CI's Node 24 leg.
  describe.runIf(sdk.runs)(`wrapOpenAI (${sdk.name}): metrics and logs`, () => {
    let raw: OpenAI
    beforeAll(() => {
      raw = new sdk.OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    })

    const cases = OPENAI_APIS.flatMap((api) => [false, true].map((stream) => ({ api, stream })))
    it.each(cases)(
      '$api (stream: $stream): in the GenAI metrics with its tokens and cost, and in one log line with the request id',
      async ({ api, stream }) => {
        const o = observability()
        const client = wrapOpenAI(raw, { metrics: o.metrics, logger: o.logger })
        const text = await inRequest(REQUEST, () => ask(client, api, 'observe me', stream))
        expect(text).toBe('Echo: observe me')
        await expectObserved(o, { provider: 'openai', model: OPENAI_MODEL, stream })
      }
    )
  })
}
