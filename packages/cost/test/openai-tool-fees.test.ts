/**
 * OpenAI Responses built-in tool fees other than web search are charged, modelled as the web
 * search fee is (price entry field, non-streamed and streamed extraction, reservation, LiteLLM
 * field names):
 * - each `file_search_call` item of a Response's `output` is one file search call
 *   (`Usage.fileSearchCalls`), billed at the entry's `fileSearchPer1k` per 1,000 calls;
 * - the `code_interpreter_call` items are billed per code interpreter container, not per call:
 *   each distinct `container_id` once (`Usage.codeInterpreterContainers`), at the entry's
 *   `codeInterpreterPerContainer`.
 * Before, only `web_search_call` items were counted: a gpt-4.1 call with 4 file searches or a
 * code interpreter container was charged its tokens only (2,800 µ$).
 *
 * The fees below ($2.50 per 1,000 file search calls, $0.03 per container) are also the built-in
 * defaults every entry bills (`UNLISTED_FILE_SEARCH_PER_1K`, `UNLISTED_CODE_INTERPRETER_PER_CONTAINER`
 * in src/prices.ts, with their sources); most tests set them as entry values, as a deployment
 * with its own prices would, and the first block checks the defaults.
 * gpt-4.1 token rates (LiteLLM @00035b69, research/cost.md §1b): $2 input / $8 output per 1M.
 */
import { InvalidOptionsError } from '@aikit/core'
import {
  createBudget,
  createPriceTable,
  createStreamUsage,
  estimateTokens,
  extractUsage,
  normalizeUsage,
  PRICES,
  type PriceTable,
} from '@aikit/cost'
import { describe, expect, it } from 'vitest'

/** 1000 input × $2 + 100 output × $8 per 1M = $0.0028. */
const TOKENS = 2_800
/** One file search call at $2.50 per 1,000. */
const FILE_SEARCH = 2_500
/** One code interpreter container at $0.03. */
const CONTAINER = 30_000

const FEES = { fileSearchPer1k: 2.5, codeInterpreterPerContainer: 0.03 }
const table = (): PriceTable => createPriceTable({ overrides: { 'gpt-4.1': FEES } })

const fileSearchCall = (i: number): Record<string, unknown> => ({
  type: 'file_search_call',
  id: `fs_${i}`,
  status: 'completed',
  queries: [`q${i}`],
  results: null,
})

const codeCall = (i: number, container: string): Record<string, unknown> => ({
  type: 'code_interpreter_call',
  id: `ci_${i}`,
  status: 'completed',
  code: 'print(1 + 1)',
  container_id: container,
  outputs: null,
})

const MESSAGE = {
  type: 'message',
  id: 'msg_1',
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text: 'answer', annotations: [] }],
}

const USAGE = {
  input_tokens: 1000,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 100,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 1100,
}

/** A gpt-4.1 Responses API `Response` with `items` before its message. */
function response(items: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'resp_1',
    object: 'response',
    model: 'gpt-4.1-2025-04-14',
    status: 'completed',
    output: [...items, MESSAGE],
    usage: USAGE,
    ...extra,
  }
}

/** The cost of a Response, non-streamed. */
function priced(t: PriceTable, r: Record<string, unknown>): number {
  const { model, usage } = extractUsage(r)!
  return t.priceOf(model, usage)
}

describe('the built-in prices bill both fees on every OpenAI model (no override)', () => {
  it('gpt-4.1: 4 file searches 12,800 µ$, a container 32,800 µ$', () => {
    const builtIn = createPriceTable()
    expect(priced(builtIn, response([0, 1, 2, 3].map(fileSearchCall)))).toBe(12_800)
    expect(priced(builtIn, response([codeCall(0, 'cntr_a')]))).toBe(32_800)
  })

  it('a model whose entry sets its own fee bills that one', () => {
    const own = createPriceTable({ overrides: { 'gpt-4.1': { fileSearchPer1k: 5 } } })
    expect(priced(own, response([fileSearchCall(0)]))).toBe(TOKENS + 5_000)
  })
})

describe('a non-streamed Response is charged its file search calls and containers', () => {
  it('4 file_search_call items: 2,800 + 4 × 2,500 = 12,800 µ$', () => {
    const r = response([0, 1, 2, 3].map(fileSearchCall))
    expect(extractUsage(r)?.usage.fileSearchCalls).toBe(4)
    expect(priced(table(), r)).toBe(12_800)
    expect(priced(table(), r)).toBe(TOKENS + 4 * FILE_SEARCH)
  })

  it('one code_interpreter_call in a new container: 2,800 + 30,000 = 32,800 µ$', () => {
    const r = response([codeCall(0, 'cntr_a')])
    expect(extractUsage(r)?.usage.codeInterpreterContainers).toBe(1)
    expect(priced(table(), r)).toBe(32_800)
  })

  it('a container is billed once however many calls run in it; two containers twice', () => {
    const same = response([codeCall(0, 'cntr_a'), codeCall(1, 'cntr_a'), codeCall(2, 'cntr_a')])
    expect(extractUsage(same)?.usage.codeInterpreterContainers).toBe(1)
    expect(priced(table(), same)).toBe(TOKENS + CONTAINER)
    const two = response([codeCall(0, 'cntr_a'), codeCall(1, 'cntr_b'), codeCall(2, 'cntr_a')])
    expect(extractUsage(two)?.usage.codeInterpreterContainers).toBe(2)
    expect(priced(table(), two)).toBe(TOKENS + 2 * CONTAINER)
  })

  it('a call without a container_id counts as one more container (high, never low)', () => {
    const { container_id: _, ...bare } = codeCall(1, 'x')
    const r = response([codeCall(0, 'cntr_a'), bare])
    expect(extractUsage(r)?.usage.codeInterpreterContainers).toBe(2)
  })

  it('all three tool fees together, each at its own price', () => {
    const r = response(
      [
        { type: 'web_search_call', id: 'ws_0', status: 'completed' },
        fileSearchCall(0),
        fileSearchCall(1),
        codeCall(0, 'cntr_a'),
      ],
      { tools: [{ type: 'web_search' }, { type: 'file_search' }, { type: 'code_interpreter' }] }
    )
    // The GA web_search tool on gpt-4.1: $10 per 1,000 (UNLISTED_WEB_SEARCH_PER_1K).
    expect(priced(table(), r)).toBe(TOKENS + 10_000 + 2 * FILE_SEARCH + CONTAINER)
  })

  it('no tool items: tokens only, no counts', () => {
    const { usage } = extractUsage(response([]))!
    expect(usage.fileSearchCalls).toBeUndefined()
    expect(usage.codeInterpreterContainers).toBeUndefined()
    expect(priced(table(), response([]))).toBe(TOKENS)
  })

  it('the fees are not batch-discounted (as web search)', () => {
    const t = table()
    const usage = {
      inputTokens: 1000,
      outputTokens: 100,
      serviceTier: 'batch' as const,
      fileSearchCalls: 4,
      codeInterpreterContainers: 1,
    }
    expect(t.priceOf('gpt-4.1', usage)).toBe(TOKENS / 2 + 4 * FILE_SEARCH + CONTAINER)
  })
})

describe('a streamed Response is charged its file search calls and containers', () => {
  const created = (r: Record<string, unknown>): Record<string, unknown> => ({
    type: 'response.created',
    response: { ...r, output: [], usage: null, status: 'in_progress' },
  })

  it('file searches of response.completed: 12,800 µ$', () => {
    const r = response([0, 1, 2, 3].map(fileSearchCall))
    const s = createStreamUsage('openai-responses')
    s.push(created(r))
    s.push({ type: 'response.completed', response: r })
    const { model, usage, complete } = s.result()
    expect(complete).toBe(true)
    expect(usage.fileSearchCalls).toBe(4)
    expect(table().priceOf(model, usage)).toBe(12_800)
  })

  it('streamed items (added and done, once per output index) when the final output has none', () => {
    const r = response([])
    const s = createStreamUsage('openai-responses')
    s.push(created(r))
    for (let i = 0; i < 4; i++) {
      s.push({ type: 'response.output_item.added', output_index: i, item: fileSearchCall(i) })
      s.push({ type: 'response.file_search_call.in_progress', output_index: i, item_id: `fs_${i}` })
      s.push({ type: 'response.file_search_call.searching', output_index: i, item_id: `fs_${i}` })
      s.push({ type: 'response.file_search_call.completed', output_index: i, item_id: `fs_${i}` })
      s.push({ type: 'response.output_item.done', output_index: i, item: fileSearchCall(i) })
    }
    s.push({ type: 'response.completed', response: r })
    const { model, usage } = s.result()
    expect(usage.fileSearchCalls).toBe(4)
    expect(table().priceOf(model, usage)).toBe(12_800)
  })

  it('one code interpreter container, however many events name it: 32,800 µ$', () => {
    const r = response([codeCall(0, 'cntr_a')])
    const s = createStreamUsage('openai-responses')
    s.push(created(r))
    s.push({ type: 'response.output_item.added', output_index: 0, item: codeCall(0, 'cntr_a') })
    s.push({ type: 'response.code_interpreter_call.in_progress', output_index: 0, item_id: 'ci_0' })
    s.push({ type: 'response.code_interpreter_call_code.delta', output_index: 0, delta: 'print' })
    s.push({
      type: 'response.code_interpreter_call.interpreting',
      output_index: 0,
      item_id: 'ci_0',
    })
    s.push({ type: 'response.code_interpreter_call.completed', output_index: 0, item_id: 'ci_0' })
    s.push({ type: 'response.output_item.done', output_index: 0, item: codeCall(0, 'cntr_a') })
    s.push({ type: 'response.completed', response: r })
    const { model, usage } = s.result()
    expect(usage.codeInterpreterContainers).toBe(1)
    expect(table().priceOf(model, usage)).toBe(32_800)
  })

  it('a stream cut short is charged the file searches and the container it ran', () => {
    const s = createStreamUsage('openai-responses', { model: 'gpt-4.1', inputTokens: 1000 })
    s.push(created(response([])))
    s.push({ type: 'response.output_item.added', output_index: 0, item: fileSearchCall(0) })
    s.push({ type: 'response.file_search_call.in_progress', output_index: 1, item_id: 'fs_1' })
    s.push({ type: 'response.output_item.added', output_index: 2, item: codeCall(2, 'cntr_a') })
    s.push({ type: 'response.output_item.added', output_index: 3, item: codeCall(3, 'cntr_a') })
    const { usage, complete } = s.result()
    expect(complete).toBe(false)
    expect(usage.fileSearchCalls).toBe(2)
    expect(usage.codeInterpreterContainers).toBe(1)
    const tokens = table().priceOf('gpt-4.1', {
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
    })
    expect(table().priceOf('gpt-4.1', usage)).toBe(tokens + 2 * FILE_SEARCH + CONTAINER)
  })
})

describe("LiteLLM's field names are read as the fee fields (same units)", () => {
  const litellm = { file_search_cost_per_1k_calls: 2.5, code_interpreter_cost_per_session: 0.03 }

  it('in an override, a whole entry and a fallback', () => {
    const tables = [
      createPriceTable({ overrides: { 'gpt-4.1': litellm as never } }),
      createPriceTable({
        prices: { 'gpt-4.1': { ...PRICES['gpt-4.1']!, ...litellm } as never },
      }),
      createPriceTable({ prices: {}, fallback: { input: 2, output: 8, ...litellm } as never }),
      createPriceTable().extend({ overrides: { 'gpt-4.1': litellm as never } }),
    ]
    for (const t of tables) {
      expect(priced(t, response([0, 1, 2, 3].map(fileSearchCall)))).toBe(12_800)
      expect(priced(t, response([codeCall(0, 'cntr_a')]))).toBe(32_800)
    }
    const resolved = tables[0]!.resolve('gpt-4.1')!.price
    expect(resolved.fileSearchPer1k).toBe(2.5)
    expect(resolved.codeInterpreterPerContainer).toBe(0.03)
    expect('file_search_cost_per_1k_calls' in resolved).toBe(false)
  })

  it('an override in LiteLLM names replaces the entry fee set in ours', () => {
    const t = createPriceTable({ overrides: { 'gpt-4.1': FEES } }).extend({
      overrides: { 'gpt-4.1': { file_search_cost_per_1k_calls: 5 } as never },
    })
    expect(priced(t, response([fileSearchCall(0)]))).toBe(TOKENS + 5_000)
  })

  it('both names in one entry: refused when they differ, accepted when equal', () => {
    const both = (value: number): unknown =>
      createPriceTable({
        overrides: {
          m: {
            input: 1,
            output: 1,
            fileSearchPer1k: 2.5,
            file_search_cost_per_1k_calls: value,
          } as never,
        },
      })
    expect(() => both(2.5)).not.toThrow()
    try {
      both(3)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect((error as InvalidOptionsError).field).toBe(
        'overrides["m"].file_search_cost_per_1k_calls'
      )
    }
  })

  it('a bad value is refused under our field name', () => {
    expect(() =>
      createPriceTable({
        overrides: { m: { input: 1, output: 1, code_interpreter_cost_per_session: -1 } as never },
      })
    ).toThrow(/codeInterpreterPerContainer/)
  })
})

describe('a reservation holds the tool fees, as the settle charges them', () => {
  const MESSAGES = [{ role: 'user', content: 'Summarise the attached report.' }]

  async function hold(tools: readonly unknown[]): Promise<{ held: number; tokens: number }> {
    const prices = table()
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }], prices })
    const h = await budget.reserve('tool-user', {
      model: 'gpt-4.1',
      messages: MESSAGES,
      tools,
      maxOutputTokens: 100,
    })
    const tokens = prices.priceOf('gpt-4.1', {
      inputTokens: estimateTokens(MESSAGES, 'gpt-4.1', { tools }),
      outputTokens: 100,
    })
    return { held: h.amountMicros, tokens }
  }

  it('a file_search tool holds 5 calls (nothing caps them)', async () => {
    const { held, tokens } = await hold([{ type: 'file_search', vector_store_ids: ['vs_1'] }])
    expect(held - tokens).toBe(5 * FILE_SEARCH)
  })

  it('a code_interpreter tool holds one container', async () => {
    const { held, tokens } = await hold([{ type: 'code_interpreter', container: { type: 'auto' } }])
    expect(held - tokens).toBe(CONTAINER)
  })

  it('function tools hold no fee', async () => {
    const tools = [{ type: 'function', name: 'file_search', parameters: { type: 'object' } }]
    const { held, tokens } = await hold(tools)
    expect(held).toBe(tokens)
  })
})

describe('Usage counts are checked', () => {
  it('a negative or fractional count is refused, a misspelt key gets a hint', () => {
    expect(() => normalizeUsage({ inputTokens: 1, outputTokens: 1, fileSearchCalls: -1 })).toThrow(
      InvalidOptionsError
    )
    expect(() =>
      normalizeUsage({ inputTokens: 1, outputTokens: 1, codeInterpreterContainers: 1.5 })
    ).toThrow(InvalidOptionsError)
    expect(() => normalizeUsage({ inputTokens: 1, outputTokens: 1, fileSearches: 2 })).toThrow(
      /fileSearchCalls/
    )
    expect(() => normalizeUsage({ inputTokens: 1, outputTokens: 1, containers: 2 })).toThrow(
      /codeInterpreterContainers/
    )
  })
})
