/**
 * Anthropic usage as @anthropic-ai/sdk 1.14 types it (`Usage`, `MessageDeltaUsage`): it carries
 * `output_tokens_details` (thinking tokens, object or null), the key OpenAI Responses usage has too,
 * plus `server_tool_use`, `speed`, `inference_geo` and `service_tier`. Read as Anthropic by its own
 * keys, so its cache reads and writes are billed, and its billing modes and web searches are kept.
 */
import { createStreamUsage, extractUsage, normalizeUsage, priceOf } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

/** A non-streamed Anthropic answer's usage, every SDK 1.14 field present. */
const anthropicUsage = {
  cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 0 },
  cache_creation_input_tokens: 1000,
  cache_read_input_tokens: 1000,
  inference_geo: null,
  input_tokens: 10,
  output_tokens: 10,
  output_tokens_details: { thinking_tokens: 0 },
  server_tool_use: null,
  service_tier: 'standard',
  speed: null,
}

describe('Anthropic usage with output_tokens_details is read as Anthropic', () => {
  it('bills the cache writes and reads of an Anthropic usage that carries output_tokens_details', () => {
    // claude-sonnet-4-5: 10×3 + 1000×3.75 (5m write) + 1000×0.30 (read) + 10×15 = 4230 µ$
    expect(priceOf('claude-sonnet-4-5', anthropicUsage)).toBe(4230)
  })

  it('normalizes an Anthropic usage with output_tokens_details: null as Anthropic (input excludes cache)', () => {
    const u = normalizeUsage({ ...anthropicUsage, output_tokens_details: null })
    expect(u.cacheWrite5mTokens).toBe(1000)
    expect(u.cacheReadTokens).toBe(1000)
    expect(u.inputTokens).toBe(10)
  })

  it('recognises each Anthropic-only key alone next to output_tokens_details', () => {
    // `total_tokens` too (a relay may add it): an Anthropic key still decides.
    const base = {
      input_tokens: 10,
      output_tokens: 10,
      output_tokens_details: null,
      total_tokens: 20,
    }
    for (const [key, value] of [
      ['cache_creation_input_tokens', 0],
      ['cache_read_input_tokens', 1000],
      ['cache_creation', null],
      ['server_tool_use', null],
      ['speed', 'standard'],
      ['inference_geo', 'global'],
      ['service_tier', 'standard'],
      ['service_tier', null],
    ] as const) {
      // Read as Anthropic, the usage has cache-write counts (a Responses usage has none).
      const u = normalizeUsage({ ...base, [key]: value })
      expect(u.cacheWrite5mTokens, key).toBe(0)
      expect(u.inputTokens, key).toBe(10)
    }
  })

  it('normalizes a MessageDeltaUsage (cumulative counts, output_tokens_details) as Anthropic', () => {
    const delta = {
      cache_creation_input_tokens: 2000,
      cache_read_input_tokens: 500,
      input_tokens: 40,
      output_tokens: 300,
      output_tokens_details: { thinking_tokens: 120 },
      server_tool_use: { web_search_requests: 2, web_fetch_requests: 1 },
    }
    expect(normalizeUsage(delta)).toEqual({
      inputTokens: 40,
      outputTokens: 300,
      cacheReadTokens: 500,
      cacheWrite5mTokens: 2000,
      cacheWrite1hTokens: 0,
      reasoningTokens: 120,
      webSearchRequests: 2,
    })
  })

  it('still reads an OpenAI Responses usage (input_tokens_details, total_tokens) as Responses', () => {
    const responses = {
      input_tokens: 1000,
      input_tokens_details: { cached_tokens: 400 },
      output_tokens: 50,
      output_tokens_details: { reasoning_tokens: 20 },
      total_tokens: 1050,
    }
    expect(normalizeUsage(responses)).toEqual({
      inputTokens: 600,
      outputTokens: 50,
      cacheReadTokens: 400,
      reasoningTokens: 20,
    })
  })

  it('keeps speed, inference_geo, web searches and thinking tokens of an Anthropic Message', () => {
    const message = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-opus-4-6-20260205',
      content: [{ type: 'text', text: 'ok' }],
      usage: {
        ...anthropicUsage,
        output_tokens: 500,
        output_tokens_details: { thinking_tokens: 200 },
        server_tool_use: { web_search_requests: 4, web_fetch_requests: 0 },
        speed: 'fast',
        inference_geo: 'us',
      },
    }
    const extracted = extractUsage(message)
    expect(extracted?.usage).toEqual({
      inputTokens: 10,
      outputTokens: 500,
      cacheReadTokens: 1000,
      cacheWrite5mTokens: 1000,
      cacheWrite1hTokens: 0,
      reasoningTokens: 200,
      speed: 'fast',
      inferenceGeo: 'us',
      webSearchRequests: 4,
    })
  })

  it('rejects a speed or inference_geo that is not a string, naming the field', () => {
    expect(() => normalizeUsage({ ...anthropicUsage, speed: 6 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field: 'usage.speed' })
    )
    expect(() => normalizeUsage({ ...anthropicUsage, inference_geo: {} })).toThrow(
      expect.objectContaining({ field: 'usage.inference_geo' })
    )
    expect(() =>
      normalizeUsage({ ...anthropicUsage, server_tool_use: { web_search_requests: -1 } })
    ).toThrow(expect.objectContaining({ field: 'usage.server_tool_use.web_search_requests' }))
  })

  it('prices a fast, US-only stream with web searches from its message_start and message_delta', () => {
    const s = createStreamUsage('anthropic')
    s.push({
      type: 'message_start',
      message: {
        model: 'claude-opus-4-6',
        usage: {
          input_tokens: 1000,
          output_tokens: 1,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          cache_creation: null,
          inference_geo: 'us',
          output_tokens_details: null,
          server_tool_use: null,
          service_tier: 'standard',
          speed: 'fast',
        },
      },
    })
    s.push({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn' },
      usage: {
        input_tokens: 1000,
        output_tokens: 1000,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: null,
        output_tokens_details: { thinking_tokens: 0 },
        server_tool_use: { web_search_requests: 1, web_fetch_requests: 0 },
      },
    })
    const { model, usage, complete } = s.result()
    expect(complete).toBe(true)
    // (1000×5 + 1000×25) × 6 (fast) × 1.1 (us) = 198,000 µ$, + one search $0.01 = 10,000 µ$
    expect(priceOf(model, usage)).toBe(208_000)
  })
})
