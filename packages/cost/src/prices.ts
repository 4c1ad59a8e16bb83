/**
 * @module prices
 * The price table as data: USD per million tokens, one entry per model family, each dated and
 * sourced. Nothing here is code; `price-table.ts` reads it. Update an entry by changing its numbers,
 * `asOf` and `source` together.
 *
 * Anthropic cache rules (research/cost.md §1c): a 5-minute cache write costs 1.25× input, a 1-hour
 * write 2×, a cache read 0.1×. Entries marked "ratio" in their source carry only input/output in the
 * source; their cache prices are those ratios applied. OpenAI has no cache-write premium; `cacheRead`
 * is its "cached input" price, on every service tier: each `priority` / `flex` entry lists the tier's
 * cached-input price from LiteLLM (`cache_read_input_token_cost_priority` / `_flex`, read at the
 * same commit). A tier that leaves a cache rate out gets its input scaled by the standard rates'
 * cached / uncached ratio (`price-table.ts`), never the uncached price.
 *
 * OpenAI Batch API: 50% off every token rate (research/cost.md §1c "Batch = 50% off"). The OpenAI
 * pricing page's Batch table (copy: repo photiary/ai-foo `prompts/OpenAI-Pricing.md` @de2ab85)
 * lists gpt-5 $0.625 / $0.0625 cached / $5, gpt-5-mini $0.125 / $0.0125 / $1, gpt-5-nano
 * $0.025 / $0.0025 / $0.20 and gpt-4o-2024-05-13 $2.50 / $7.50: half the standard rates. gpt-5.1
 * (same standard rates as gpt-5) gets the same 50%. No source read lists a gpt-5.1 flex price: its
 * flex calls bill at the standard rates (high, never low) until one does.
 *
 * Anthropic surcharges a usage reports (research/cost.md §1a, LiteLLM `provider_specific_entry`):
 * fast mode (`usage.speed: 'fast'`) bills 6× every token rate on Opus 4.6 / 4.7 and Fable 5;
 * US-only inference (`usage.inference_geo: 'us'`) bills 1.1× on Opus 4.6 and every later model
 * (Anthropic data residency docs: `inference_geo` exists only from Opus 4.6 on; LiteLLM leaves
 * Sonnet 4.6 out, Anthropic's rule includes it). Both multiply cache rates too, and each other
 * (Anthropic fast mode docs: "pricing stacks with other pricing modifiers"). Server-side web
 * search costs $10 per 1,000 searches on every Claude model (LiteLLM
 * `search_context_cost_per_query` 0.01).
 */

/** USD per million tokens for each kind of token. */
export interface PriceRates {
  /** Uncached input tokens. */
  readonly input: number
  /** Output tokens (reasoning/thinking tokens included). */
  readonly output: number
  /** Anthropic cache write with the default 5-minute TTL. Default: `input` (never free; tiers: see `cacheRead`). */
  readonly cacheWrite5m?: number
  /** Anthropic cache write with the 1-hour TTL. Default: `cacheWrite5m`, else `input` (tiers: see `cacheRead`). */
  readonly cacheWrite1h?: number
  /**
   * Anthropic cache read / OpenAI cached input. Default: `input` (never free); in a tier
   * (`priority`, `flex`, `longContext`) every missing cache rate is the tier's `input` times the
   * standard rates' ratio of that cache rate to input.
   */
  readonly cacheRead?: number
}

/** A long-context tier: when a request's whole input exceeds `aboveInputTokens`, every token of it is billed at these rates. */
export interface LongContextRates extends PriceRates {
  /** Threshold on the request's total input (uncached + cache writes + cache reads). */
  readonly aboveInputTokens: number
}

/**
 * Multipliers on EVERY token rate of an entry (input, output and cache rates, of whichever tier
 * applies) for a billing mode the usage reports. The web search fee is not multiplied. Two modes
 * at once multiply each other (fast mode with US-only inference: 6 × 1.1 = 6.6×).
 *
 * A mode the usage reports that the entry lists no multiplier for is never billed 1×: it gets
 * `UNLISTED_MULTIPLIERS` (the highest the provider is known to bill for that mode), so a new
 * model or a custom entry is charged high rather than low until its entry says otherwise.
 */
export interface PriceMultipliers {
  /**
   * By `Usage.speed` (Anthropic `usage.speed`), e.g. `{ fast: 6 }`. `'standard'` is always 1×
   * (listed, it must be 1).
   * Default: none listed (any other speed is billed `UNLISTED_MULTIPLIERS.speed`, 6×).
   */
  readonly speed?: Readonly<Record<string, number>>
  /**
   * By `Usage.inferenceGeo` (Anthropic `usage.inference_geo`), e.g. `{ us: 1.1 }`. `'global'`,
   * `'not_available'` (a model without data residency) and `''` are always 1× (listed, each must
   * be 1). Default: none listed (any other geo is billed `UNLISTED_MULTIPLIERS.inferenceGeo`, 1.1×).
   */
  readonly inferenceGeo?: Readonly<Record<string, number>>
}

/**
 * Multipliers for a mode an entry does not list (see `PriceMultipliers`): fast mode at 6×, the
 * highest any Claude model bills it; a non-global inference geo at 1.1×, Anthropic's US-only rate.
 */
export const UNLISTED_MULTIPLIERS = { speed: 6, inferenceGeo: 1.1 } as const

/**
 * USD per 1,000 server-side web searches for an entry without `webSearchPer1k` whose usage reports
 * searches: Anthropic's price, and OpenAI's for its `web_search` tool. Never free.
 */
export const UNLISTED_WEB_SEARCH_PER_1K = 10

/**
 * USD per 1,000 OpenAI Responses `file_search` tool calls for an entry without `fileSearchPer1k`:
 * $2.50, the Responses API's file search tool-call rate (OpenAI's pricing table as quoted in
 * https://community.openai.com/t/responses-api-excessive-charges-due-to-repetitive-container-creation-when-using-code-interpreter/1364328
 * "$2.50 / 1k File Search tool calls", and https://www.modelcostwatch.com/openai/tool-costs/file-search
 * "$2.50 per 1K calls", checked March 2026). research/cost.md lists no tool fee. Never free.
 */
export const UNLISTED_FILE_SEARCH_PER_1K = 2.5

/**
 * USD per OpenAI code interpreter container for an entry without `codeInterpreterPerContainer`:
 * $0.03, a default (1 GB) container (the same community thread: "$0.03 per response for the
 * container"). A larger `memory_limit` costs more per container and is under-counted here: give
 * the entry its price. Never free.
 */
export const UNLISTED_CODE_INTERPRETER_PER_CONTAINER = 0.03

/** One model family's prices. */
export interface ModelPrice extends PriceRates {
  /** `'anthropic'`, `'openai'` or another provider name (informational). */
  readonly provider: string
  /**
   * Multipliers for billing modes the usage reports (fast mode, US-only inference); an override
   * replaces the whole object. Default: none listed (see `PriceMultipliers` for what that bills).
   */
  readonly multipliers?: PriceMultipliers
  /**
   * USD per 1,000 server-side web searches (`Usage.webSearchRequests`), on top of the tokens; not
   * batch-discounted, not multiplied. Default: `UNLISTED_WEB_SEARCH_PER_1K` ($10) when a usage
   * reports searches.
   */
  readonly webSearchPer1k?: number
  /**
   * USD per 1,000 OpenAI `web_search_preview` searches (`Usage.webSearchPreviewRequests`, the part
   * of `webSearchRequests` that ran through that tool), billed instead of `webSearchPer1k` for
   * them; not batch-discounted, not multiplied. $25 on the gpt-4o and gpt-4.1 families (OpenAI's
   * non-reasoning price). Default: the entry's `webSearchPer1k` (then its default).
   */
  readonly webSearchPreviewPer1k?: number
  /**
   * USD per 1,000 OpenAI Responses `file_search` tool calls (`Usage.fileSearchCalls`: the
   * response's `file_search_call` items), on top of the tokens; not batch-discounted, not
   * multiplied. LiteLLM's `file_search_cost_per_1k_calls` (same unit) is read as this field.
   * Default: `UNLISTED_FILE_SEARCH_PER_1K` ($2.50) when a usage reports calls.
   */
  readonly fileSearchPer1k?: number
  /**
   * USD per OpenAI code interpreter container (`Usage.codeInterpreterContainers`: the distinct
   * `container_id`s of the response's `code_interpreter_call` items): a container session is
   * billed once, however many calls run in it. On top of the tokens; not batch-discounted, not
   * multiplied. LiteLLM's `code_interpreter_cost_per_session` (same unit) is read as this field.
   * Default: `UNLISTED_CODE_INTERPRETER_PER_CONTAINER` ($0.03, a 1 GB container) when a usage
   * reports containers.
   */
  readonly codeInterpreterPerContainer?: number
  /**
   * Long-context tier, if the model has one. A priority call uses it when the entry has no
   * `priority` rates (priority then bills the standard rates, long context included).
   */
  readonly longContext?: LongContextRates
  /** Batch API discount in percent of every rate (50 = half price). Default: no batch discount. */
  readonly batchDiscountPercent?: number
  /** Rates with `service_tier: 'priority'` (cache rates left out: see `cacheRead`). Default: the standard rates. */
  readonly priority?: PriceRates
  /** Rates with `service_tier: 'flex'` (cache rates left out: see `cacheRead`). Default: the standard rates. */
  readonly flex?: PriceRates
  /** Day the prices were read (YYYY-MM-DD). */
  readonly asOf: string
  /** Where the prices come from. */
  readonly source: string
}

const AS_OF = '2026-11-25'
const LITELLM =
  'LiteLLM model_prices_and_context_window.json @00035b69 (shared/research/cost.md §1b)'
const LITELLM_RATIO = `${LITELLM}; cache prices by Anthropic's 1.25×/2×/0.1× rule (§1c)`

/** What some Claude entries add to the common ones. */
interface ClaudeExtras {
  readonly longContext?: LongContextRates
  readonly multipliers?: PriceMultipliers
}

/**
 * Anthropic entry from input/output with the 1.25× / 2× / 0.1× cache ratios written out, the batch
 * discount and the web search fee ($10 per 1,000 searches) every Claude model has.
 */
const claude = (
  input: number,
  output: number,
  cacheWrite5m: number,
  cacheWrite1h: number,
  cacheRead: number,
  source: string,
  extras: ClaudeExtras = {}
): ModelPrice => ({
  provider: 'anthropic',
  input,
  output,
  cacheWrite5m,
  cacheWrite1h,
  cacheRead,
  batchDiscountPercent: 50,
  webSearchPer1k: 10,
  ...(extras.longContext ? { longContext: extras.longContext } : {}),
  ...(extras.multipliers ? { multipliers: extras.multipliers } : {}),
  asOf: AS_OF,
  source,
})

/** Fast mode 6× and US-only inference 1.1× (LiteLLM `provider_specific_entry: { us: 1.1, fast: 6 }`). */
const FAST_AND_US: ClaudeExtras = { multipliers: { speed: { fast: 6 }, inferenceGeo: { us: 1.1 } } }
/** US-only inference 1.1×, no fast mode. */
const US_ONLY: ClaudeExtras = { multipliers: { inferenceGeo: { us: 1.1 } } }

/** Sonnet 4 / 4.5 above 200k input tokens: input ×2, output ×1.5, cache prices included. */
const SONNET_LONG_CONTEXT: LongContextRates = {
  aboveInputTokens: 200_000,
  input: 6,
  output: 22.5,
  cacheWrite5m: 7.5,
  cacheWrite1h: 12,
  cacheRead: 0.6,
}

/**
 * OpenAI Responses web search on a reasoning model (gpt-5 family), USD per 1,000 `web_search_call`s:
 * $10 for both `web_search` and `web_search_preview` (OpenAI pricing page "Built-in tools", as
 * quoted by OpenAI staff in community.openai.com/t/search-web-using-openai-api/1363698). The
 * gpt-4o / gpt-4.1 entries list no `webSearchPer1k`: `web_search` is $10 on them too
 * (`UNLISTED_WEB_SEARCH_PER_1K`), but `web_search_preview` is $25 there (`OPENAI_SEARCH_PREVIEW`).
 * A `web_search_call` does not say which tool ran; the response's echoed `tools` do (`extract.ts`).
 */
const OPENAI_SEARCH_REASONING = 10

/**
 * OpenAI `web_search_preview` (any dated version) on a non-reasoning model (gpt-4o and gpt-4.1
 * families), USD per 1,000 calls (OpenAI pricing page "Built-in tools", same quote: "Web search
 * preview (non-reasoning models): $25 / 1k calls + search content tokens are free"). Their
 * `webSearchPreviewPer1k`.
 */
const OPENAI_SEARCH_PREVIEW = 25

/**
 * The built-in prices, keyed by model family (dated snapshots resolve to these, see `price-table.ts`).
 *
 * No entry lists `fileSearchPer1k` or `codeInterpreterPerContainer`: the tools' fees are the same
 * on every model, `UNLISTED_FILE_SEARCH_PER_1K` and `UNLISTED_CODE_INTERPRETER_PER_CONTAINER` (their
 * sources are there; research/cost.md lists no tool fee). The image generation tool has no fee
 * field (no source gives its price).
 */
export const PRICES: Readonly<Record<string, ModelPrice>> = {
  // Anthropic
  'claude-opus-4-7': claude(5, 25, 6.25, 10, 0.5, LITELLM_RATIO, FAST_AND_US),
  'claude-opus-4-6': claude(5, 25, 6.25, 10, 0.5, LITELLM_RATIO, FAST_AND_US),
  'claude-opus-4-5': claude(5, 25, 6.25, 10, 0.5, LITELLM),
  'claude-opus-4-1': claude(15, 75, 18.75, 30, 1.5, LITELLM),
  'claude-sonnet-5': claude(2, 10, 2.5, 4, 0.2, LITELLM_RATIO, US_ONLY),
  'claude-sonnet-4-6': claude(3, 15, 3.75, 6, 0.3, LITELLM_RATIO, US_ONLY),
  'claude-sonnet-4-5': claude(3, 15, 3.75, 6, 0.3, LITELLM, { longContext: SONNET_LONG_CONTEXT }),
  'claude-sonnet-4': claude(3, 15, 3.75, 6, 0.3, LITELLM_RATIO, {
    longContext: SONNET_LONG_CONTEXT,
  }),
  'claude-haiku-4-5': claude(1, 5, 1.25, 2, 0.1, LITELLM),
  'claude-fable-5': claude(10, 50, 12.5, 20, 1, LITELLM_RATIO, FAST_AND_US),
  // OpenAI
  'gpt-4.1': {
    provider: 'openai',
    input: 2,
    cacheRead: 0.5,
    output: 8,
    webSearchPreviewPer1k: OPENAI_SEARCH_PREVIEW,
    batchDiscountPercent: 50,
    priority: { input: 3.5, output: 14, cacheRead: 0.875 },
    asOf: AS_OF,
    source: LITELLM,
  },
  'gpt-4.1-mini': {
    provider: 'openai',
    input: 0.4,
    cacheRead: 0.1,
    output: 1.6,
    webSearchPreviewPer1k: OPENAI_SEARCH_PREVIEW,
    batchDiscountPercent: 50,
    priority: { input: 0.7, output: 2.8, cacheRead: 0.175 },
    asOf: AS_OF,
    source: LITELLM,
  },
  'gpt-4.1-nano': {
    provider: 'openai',
    input: 0.1,
    cacheRead: 0.025,
    output: 0.4,
    webSearchPreviewPer1k: OPENAI_SEARCH_PREVIEW,
    batchDiscountPercent: 50,
    priority: { input: 0.2, output: 0.8, cacheRead: 0.05 },
    asOf: AS_OF,
    source: LITELLM,
  },
  'gpt-4o': {
    provider: 'openai',
    input: 2.5,
    cacheRead: 1.25,
    output: 10,
    webSearchPreviewPer1k: OPENAI_SEARCH_PREVIEW,
    batchDiscountPercent: 50,
    priority: { input: 4.25, output: 17, cacheRead: 2.125 },
    asOf: AS_OF,
    source: LITELLM,
  },
  'gpt-4o-2024-05-13': {
    provider: 'openai',
    input: 5,
    output: 15,
    webSearchPreviewPer1k: OPENAI_SEARCH_PREVIEW,
    batchDiscountPercent: 50,
    // LiteLLM lists no cached-input price for this snapshot: cached tokens bill as input.
    priority: { input: 8.75, output: 26.25 },
    asOf: AS_OF,
    source: LITELLM,
  },
  'gpt-4o-mini': {
    provider: 'openai',
    input: 0.15,
    cacheRead: 0.075,
    output: 0.6,
    webSearchPreviewPer1k: OPENAI_SEARCH_PREVIEW,
    batchDiscountPercent: 50,
    priority: { input: 0.25, output: 1, cacheRead: 0.125 },
    asOf: AS_OF,
    source: LITELLM,
  },
  'gpt-5': {
    provider: 'openai',
    input: 1.25,
    cacheRead: 0.125,
    output: 10,
    webSearchPer1k: OPENAI_SEARCH_REASONING,
    batchDiscountPercent: 50,
    priority: { input: 2.5, output: 20, cacheRead: 0.25 },
    flex: { input: 0.625, output: 5, cacheRead: 0.0625 },
    asOf: AS_OF,
    source: LITELLM,
  },
  'gpt-5-mini': {
    provider: 'openai',
    input: 0.25,
    cacheRead: 0.025,
    output: 2,
    webSearchPer1k: OPENAI_SEARCH_REASONING,
    batchDiscountPercent: 50,
    priority: { input: 0.45, output: 3.6, cacheRead: 0.045 },
    flex: { input: 0.125, output: 1, cacheRead: 0.0125 },
    asOf: AS_OF,
    source: LITELLM,
  },
  'gpt-5-nano': {
    provider: 'openai',
    input: 0.05,
    cacheRead: 0.005,
    output: 0.4,
    webSearchPer1k: OPENAI_SEARCH_REASONING,
    batchDiscountPercent: 50,
    // LiteLLM lists only a priority input price (2.5, 50× input; no output or cached price), which
    // looks like a data error: no priority tier here (priority calls bill at the standard rates).
    flex: { input: 0.025, output: 0.2, cacheRead: 0.0025 },
    asOf: AS_OF,
    source: LITELLM,
  },
  'gpt-5.1': {
    provider: 'openai',
    input: 1.25,
    cacheRead: 0.125,
    output: 10,
    webSearchPer1k: OPENAI_SEARCH_REASONING,
    batchDiscountPercent: 50,
    priority: { input: 2.5, output: 20, cacheRead: 0.25 },
    asOf: AS_OF,
    source: LITELLM,
  },
  'gpt-5.2': {
    provider: 'openai',
    input: 1.75,
    cacheRead: 0.175,
    output: 14,
    webSearchPer1k: OPENAI_SEARCH_REASONING,
    priority: { input: 3.5, output: 28, cacheRead: 0.35 },
    asOf: AS_OF,
    source: LITELLM,
  },
  'gpt-5.5': {
    provider: 'openai',
    input: 5,
    cacheRead: 0.5,
    output: 30,
    webSearchPer1k: OPENAI_SEARCH_REASONING,
    longContext: { aboveInputTokens: 272_000, input: 10, output: 45, cacheRead: 1 },
    batchDiscountPercent: 50,
    priority: { input: 10, output: 60, cacheRead: 1 },
    flex: { input: 2.5, output: 15, cacheRead: 0.25 },
    asOf: AS_OF,
    source: LITELLM,
  },
}
