/**
 * @module price-fields
 * Refusing a price entry field the table does not read, with what to write instead. An entry's
 * shape is fixed because each field is a rate the table bills: a field it does not read is a price
 * never charged. Fields are often copied from a newer price sheet or from LiteLLM's map, so the
 * common ones get a pointer to the field that holds that price here.
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'

/** `xPer1M`, `x_per_mtok`, `xPerMillionTokens`…: `x`, the rate already in USD per million tokens. */
const PER_MILLION = /^(.+?)_?per_?(?:1m|m|million)(?:_?tok(?:en)?s?)?$/i

/** What to write instead of a field (by the words in its name), `path` prefixing a field named. */
const ADVICE: readonly (readonly [RegExp, (path: string) => string])[] = [
  [
    /batch/i,
    () =>
      "a Batch API price is the entry's `batchDiscountPercent` (percent off every token rate: 50 is half price)",
  ],
  [/search/i, () => "the web search fee is the entry's `webSearchPer1k` (USD per 1,000 searches)"],
  [
    /audio|image|video|media|pixel/i,
    () =>
      'audio and image tokens have no rates of their own: a usage counts them in its input / ' +
      'output tokens, billed at `input` / `output` (give a model whose media tokens cost more those higher rates)',
  ],
  [/reasoning|thinking/i, (path) => `reasoning tokens are output tokens: \`${path}output\``],
  [
    /cost_per|_cost$|token_cost/i,
    () =>
      "LiteLLM's per-token costs go in as USD per million tokens (the cost × 1,000,000): " +
      '`input`, `output`, `cacheRead`, `cacheWrite5m` (`cache_creation_input_token_cost`), ' +
      '`cacheWrite1h` (`…_above_1hr`); `priority` / `flex` for the tier costs, `longContext` for `…_above_200k_tokens`',
  ],
]

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
    const stem = PER_MILLION.exec(key)?.[1]?.toLowerCase()
    const rate = known.find((k) => k.toLowerCase() === stem)
    if (rate !== undefined) {
      throw new InvalidOptionsError(
        `${path}${key}`,
        `is not a price field: rates are USD per million tokens already, write \`${path}${rate}\``
      )
    }
    const advice = ADVICE.find(([words]) => words.test(key))?.[1]
    if (advice !== undefined) {
      throw new InvalidOptionsError(`${path}${key}`, `is not a price field: ${advice(path)}`)
    }
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
