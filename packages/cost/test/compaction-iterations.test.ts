/**
 * Anthropic server-side compaction (beta `compact-2026-01-12`): the summarization is an extra
 * sampling step, billed, and reported only in `usage.iterations` (`type: 'compaction'`). The
 * installed SDK documents it (`BetaIterationsUsage`): "A `compaction` entry's tokens are not
 * included in the top-level `usage` fields". So a compaction entry's tokens (cache reads and
 * writes included) are priced on top of the top-level counts, each step's long-context tier
 * decided by its own input; `message` entries are already in the top-level counts and are not
 * added again. Responses, streams (`message_delta.usage.iterations`), `normalizeUsage` and budget
 * settles all carry them.
 */
import { InvalidOptionsError } from '@aikit/core'
import { createBudget, createStreamUsage, extractUsage, normalizeUsage, priceOf } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const step = (
  type: string,
  input: number,
  output: number,
  extra: Record<string, unknown> = {}
) => ({
  type,
  input_tokens: input,
  output_tokens: output,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  ...extra,
})

// The Claude docs' example: top level 23,000 in / 1,000 out, one compaction of 180,000 / 3,500.
const usage = {
  input_tokens: 23_000,
  output_tokens: 1_000,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  service_tier: 'standard',
  iterations: [step('compaction', 180_000, 3_500), step('message', 23_000, 1_000)],
}

// Sonnet 4.5 ($3 / $15; each step below 200k input): (180,000 + 23,000) × 3 + (3,500 + 1,000) × 15
const BILLED = 203_000 * 3 + 4_500 * 15 // = 676,500 µ$

describe('a compacted Anthropic call', () => {
  it('is priced with its compaction iteration', () => {
    expect(priceOf('claude-sonnet-4-5', usage)).toBe(BILLED)
  })

  it('extractUsage of the Message carries the compaction tokens', () => {
    const msg = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [
        { type: 'compaction', content: 'Summary of the conversation: ...' },
        { type: 'text', text: 'ok' },
      ],
      usage,
    }
    const { model, usage: u } = extractUsage(msg)!
    expect(u.compactions).toEqual([
      {
        inputTokens: 180_000,
        outputTokens: 3_500,
        cacheReadTokens: 0,
        cacheWrite5mTokens: 0,
        cacheWrite1hTokens: 0,
      },
    ])
    expect(priceOf(model, u)).toBe(BILLED)
  })

  it('each step takes the long-context rates on its own input', () => {
    const u = {
      ...usage,
      iterations: [step('compaction', 210_000, 3_500), step('message', 23_000, 1_000)],
    }
    // compaction above 200k: 210k × 6 + 3.5k × 22.5; the final message below it: 23k × 3 + 1k × 15
    expect(priceOf('claude-sonnet-4-5', u)).toBe(210_000 * 6 + 78_750 + 84_000)
  })

  it("a compaction's cache reads and writes are priced at the cache rates", () => {
    const u = {
      ...usage,
      iterations: [
        step('compaction', 1_000, 2_000, {
          cache_read_input_tokens: 100_000,
          cache_creation_input_tokens: 10_000,
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 10_000 },
        }),
        step('message', 23_000, 1_000),
      ],
    }
    // 1k × 3 + 100k × 0.3 + 10k × 6 (1-hour writes) + 2k × 15, plus the final message's 84,000
    expect(priceOf('claude-sonnet-4-5', u)).toBe(3_000 + 30_000 + 60_000 + 30_000 + 84_000)
  })

  it('message iterations alone add nothing (the top-level counts include them)', () => {
    const u = {
      ...usage,
      iterations: [step('message', 10_000, 500), step('message', 23_000, 1_000)],
    }
    expect(priceOf('claude-sonnet-4-5', u)).toBe(84_000)
  })

  it('a malformed iterations field is refused naming it', () => {
    expect(() => priceOf('claude-sonnet-4-5', { ...usage, iterations: 'x' })).toThrow(
      InvalidOptionsError
    )
    let error: unknown
    try {
      priceOf('claude-sonnet-4-5', { ...usage, iterations: [step('compaction', -1, 0)] })
    } catch (e) {
      error = e
    }
    expect((error as InvalidOptionsError).field).toBe('usage.iterations[0].input_tokens')
  })
})

describe('compactions through streams, Usage objects and budgets', () => {
  it('a stream whose message_delta reports the iterations is priced with them', () => {
    const s = createStreamUsage('anthropic')
    s.push({
      type: 'message_start',
      message: {
        model: 'claude-sonnet-4-5',
        usage: {
          input_tokens: 23_000,
          output_tokens: 1,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
      },
    })
    s.push({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn' },
      usage: { output_tokens: 1_000, iterations: usage.iterations },
    })
    const r = s.result()
    expect(r.complete).toBe(true)
    expect(priceOf(r.model, r.usage)).toBe(BILLED)
  })

  it('normalizeUsage keeps a Usage’s compactions and refuses a bad count naming it', () => {
    const u = normalizeUsage({
      inputTokens: 23_000,
      outputTokens: 1_000,
      compactions: [{ inputTokens: 180_000, outputTokens: 3_500 }],
    })
    expect(priceOf('claude-sonnet-4-5', u)).toBe(BILLED)
    let error: unknown
    try {
      normalizeUsage({
        inputTokens: 1,
        outputTokens: 1,
        compactions: [{ inputTokens: 1.5, outputTokens: 0 }],
      })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe('usage.compactions[0].inputTokens')
  })

  it('a budget settle with the raw usage charges the compaction', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const r = await budget.reserve('u', {
      model: 'claude-sonnet-4-5',
      inputTokens: 23_000,
      maxOutputTokens: 1_000,
    })
    const s = await r.settle(usage)
    expect(s.chargedMicros).toBe(BILLED)
  })

  it('batch calls discount the compaction too', () => {
    expect(priceOf('claude-sonnet-4-5', { ...usage, service_tier: 'batch' })).toBe(BILLED / 2)
  })
})
