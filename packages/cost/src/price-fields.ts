/**
 * @module price-fields
 * Refusing a price entry field the table does not read, with what to write instead. An entry's
 * shape is fixed because each field is a rate the table bills: a field it does not read is a price
 * never charged. Fields are often copied from a newer price sheet or from LiteLLM's map, so the
 * common ones get a pointer to the field that holds that price here, in the unit it holds it in:
 * a hint that sent a price per second or per 1,000 tokens to a per-million-token rate would make
 * the table bill it wrong, so a price in a unit the table has no rate for is only refused.
 *
 * Two LiteLLM fields hold a price in exactly the unit of a field here, and are read as it
 * (`withLiteLLMToolFees`): `file_search_cost_per_1k_calls` (USD per 1,000 file search calls) is
 * `fileSearchPer1k`, `code_interpreter_cost_per_session` (USD per container session) is
 * `codeInterpreterPerContainer`.
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'

/** The fields of a rate set holding USD per million tokens (the others are not rates). */
const RATES = ['input', 'output', 'cacheWrite5m', 'cacheWrite1h', 'cacheRead'] as const

/** `xPer1M`, `x_per_mtok`, `xPerMillionTokens`…: `x`, the rate already in USD per million tokens. */
const PER_MILLION = /^(.+?)_?per_?(?:1m|m|million)(?:_?tok(?:en)?s?)?$/i
/** `xPer1K`, `x_per_1k_tokens`: `x`, a rate in USD per 1,000 tokens. */
const PER_THOUSAND = /^(.+?)_?per_?(?:1k|thousand)(?:_?tok(?:en)?s?)?$/i

/**
 * A LiteLLM cost in a unit that is not a token (`input_cost_per_character`, `…_per_second`,
 * `file_search_cost_per_gb_per_day`, `output_cost_per_image`): the unit. `…_per_image_token` / `…_per_audio_token` are tokens.
 */
const PER_UNIT =
  /cost_per_(?:1k_)?(character|second|minute|hour|request|query|queries|call|session|page|image|pixel|video|audio|gb)s?(?!_?tok)/i

/** Rate names from other sheets, by words (lower case, `_` dropped). */
const SYNONYMS: readonly (readonly [RegExp, (typeof RATES)[number]])[] = [
  // OpenAI's "Cached input", Anthropic's "Cache Hits & Refreshes".
  [/^cached(input|tokens?)?$|^cachehits?$/, 'cacheRead'],
  [/^cache(creation|write)(5m|5min)?$/, 'cacheWrite5m'],
  [/^cache(creation|write)(1h|1hr|1hour)$/, 'cacheWrite1h'],
]

/** What to write instead of a field (by the words in its name), `path` prefixing a field named. */
const ADVICE: readonly (readonly [RegExp, (path: string, key: string) => string])[] = [
  [
    /batch/i,
    () =>
      "a Batch API price is the entry's `batchDiscountPercent` (percent off every token rate: 50 is half price)",
  ],
  [
    /^search|web_?search|search_context/i,
    () =>
      "the web search fee is the entry's `webSearchPer1k` (USD per 1,000 searches: LiteLLM's " +
      '`search_context_cost_per_query` × 1,000)',
  ],
  [
    PER_UNIT,
    (_path, key) =>
      `a price per ${PER_UNIT.exec(key)?.[1]?.toLowerCase()}, not per token: the table bills ` +
      'token rates (USD per million tokens), web searches, file search calls (`fileSearchPer1k`) and ' +
      "code interpreter containers (`codeInterpreterPerContainer`) only, so it would never be charged. Keep it in the entry's `source`",
  ],
  [
    /audio|image|video|media|pixel/i,
    () =>
      'audio and image tokens have no rates of their own: a usage counts them in its input / ' +
      'output tokens, billed at `input` / `output` (give a model whose media tokens cost more those higher rates)',
  ],
  [/reasoning|thinking/i, (path) => `reasoning tokens are output tokens: \`${path}output\``],
  [
    /provider_specific_entry|uplift_multiplier|^(?:speed|inference_?geo)$/i,
    (path) =>
      `modes billed at a multiple of every rate are \`${path}multipliers\`, e.g. LiteLLM's ` +
      '`provider_specific_entry: { us: 1.1, fast: 6 }` is `{ speed: { fast: 6 }, inferenceGeo: { us: 1.1 } }` ' +
      '(`regional_processing_uplift_multiplier_us` goes in `inferenceGeo` too)',
  ],
  [
    /tiered_pricing|^tiers?$/i,
    (path) =>
      `rates above an input-token threshold are \`${path}longContext\` ({ aboveInputTokens, input, output, … })`,
  ],
  [
    /per_?1k_?tok/i,
    () =>
      'a cost per 1,000 tokens goes in as USD per million tokens (the cost × 1,000): `input`, ' +
      '`output`, `cacheRead`, `cacheWrite5m`, `cacheWrite1h`',
  ],
  [
    /cost_per_token|token_cost/i,
    () =>
      "LiteLLM's per-token costs go in as USD per million tokens (the cost × 1,000,000): " +
      '`input`, `output`, `cacheRead`, `cacheWrite5m` (`cache_creation_input_token_cost`), ' +
      '`cacheWrite1h` (`…_above_1hr`); `priority` / `flex` for the tier costs, `longContext` for `…_above_200k_tokens`',
  ],
]

/**
 * The rate of `known` a field name from another sheet stands for: `cache_read`, `cacheRead`,
 * `cachedInput` all give `cacheRead`; only rates (a threshold is no price).
 */
function rateNamed(words: string, known: readonly string[]): string | undefined {
  const squashed = words.replace(/_/g, '').toLowerCase()
  const rate =
    RATES.find((r) => r.toLowerCase() === squashed) ??
    SYNONYMS.find(([pattern]) => pattern.test(squashed))?.[1]
  return rate !== undefined && known.includes(rate) ? rate : undefined
}

/**
 * `rejectUnknownOptions` for a price entry (`known`: its fields) or one of its rate sets, naming
 * the field under `path` (`overrides["m"].`), with advice for fields from other price sheets.
 */
export function rejectUnknownPriceFields(
  value: object,
  known: readonly string[],
  path: string
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue
    const refuse = (reason: string): never => {
      throw new InvalidOptionsError(`${path}${key}`, `is not a price field: ${reason}`)
    }
    const perMillion = PER_MILLION.exec(key)?.[1]
    const million = perMillion === undefined ? undefined : rateNamed(perMillion, known)
    if (million !== undefined) {
      refuse(`rates are USD per million tokens already, write \`${path}${million}\``)
    }
    const perThousand = PER_THOUSAND.exec(key)?.[1]
    const thousand = perThousand === undefined ? undefined : rateNamed(perThousand, known)
    if (thousand !== undefined) {
      refuse(
        `that is per 1,000 tokens: rates are USD per million tokens, write \`${path}${thousand}\` (the price × 1,000)`
      )
    }
    const synonym = rateNamed(key, known)
    if (synonym !== undefined && !key.includes('cost')) refuse(`write \`${path}${synonym}\``)
    const advice = ADVICE.find(([words]) => words.test(key))?.[1]
    if (advice !== undefined) refuse(advice(path, key))
    try {
      rejectUnknownOptions({ [key]: undefined }, known, path)
    } catch (error) {
      // A near miss keeps its did-you-mean; anything else gets the list and the unit.
      if (!(error instanceof InvalidOptionsError) || error.message.includes('did you mean')) {
        throw error
      }
    }
    throw new InvalidOptionsError(
      `${path}${key}`,
      `is not a price field (the fields: ${known.join(', ')}; rates in USD per million tokens). ` +
        "Keep notes in the entry's `source`: a field the table does not read is a price never billed"
    )
  }
}

/** LiteLLM's names for the OpenAI tool fees, and the field holding each here (same unit). */
const LITELLM_TOOL_FEES = [
  ['file_search_cost_per_1k_calls', 'fileSearchPer1k'],
  ['code_interpreter_cost_per_session', 'codeInterpreterPerContainer'],
] as const

/**
 * `entry` with LiteLLM's tool fee fields renamed to ours (`file_search_cost_per_1k_calls` →
 * `fileSearchPer1k`, `code_interpreter_cost_per_session` → `codeInterpreterPerContainer`: USD per
 * 1,000 calls and per container session, the units of ours), so an entry copied from LiteLLM's map
 * bills them. `entry` itself when it has neither. Both names with different values:
 * `InvalidOptionsError` naming the LiteLLM field under `path` (which one is right is unknown).
 */
export function withLiteLLMToolFees<T extends object>(entry: T, path: string): T {
  let renamed: Record<string, unknown> | undefined
  for (const [litellm, ours] of LITELLM_TOOL_FEES) {
    if (!Object.hasOwn(entry, litellm)) continue
    renamed ??= { ...entry } as Record<string, unknown>
    const value = renamed[litellm]
    delete renamed[litellm]
    if (value === undefined) continue
    if (renamed[ours] !== undefined && renamed[ours] !== value) {
      throw new InvalidOptionsError(
        `${path}.${litellm}`,
        `is LiteLLM's name for \`${ours}\`, which the entry also sets to another price: keep one`
      )
    }
    renamed[ours] = value
  }
  return (renamed ?? entry) as T
}
