/**
 * @module price-table
 * `createPriceTable`: the built-in prices (`prices.ts`) plus runtime overrides, alias resolution and
 * exact integer pricing. `priceOf(model, usage)` returns integer micro-dollars (1 USD = 1,000,000).
 *
 * Arithmetic: every rate is held as an integer number of micro-dollars per million tokens (a rate may
 * have at most 6 decimals in USD/MTok, e.g. 0.005). A call's cost is the exact sum
 * Σ tokens × rate (BigInt), times `(100 − batchDiscountPercent) / 100` for batch calls, plus the web
 * search fee (`webSearchPer1k`, and `webSearchPreviewPer1k` for `Usage.webSearchPreviewRequests`)
 * and the OpenAI tool fees (`fileSearchPer1k` per `Usage.fileSearchCalls`,
 * `codeInterpreterPerContainer` per `Usage.codeInterpreterContainers`), fees never discounted,
 * divided by 1,000,000 and ROUNDED UP to a whole
 * micro-dollar: per call, never below the true cost. A cost above `Number.MAX_SAFE_INTEGER`
 * micro-dollars (about $9 billion) is not representable exactly: `InvalidOptionsError` (`usage`).
 *
 * Billing modes (`Usage.speed`, `Usage.inferenceGeo`): every token rate of the tier that applies,
 * cache rates included, is multiplied by the entry's `multipliers` for that mode (rounded up to a
 * whole micro-dollar per million tokens), or by `UNLISTED_MULTIPLIERS` when the entry lists none
 * for it: a reported mode is never billed 1× by omission.
 *
 * Missing rates: a cache rate an entry leaves out is its `input` (never free). A tier (`priority`,
 * `flex`, `longContext`) that leaves a cache rate out gets the tier's `input` scaled by the entry's
 * standard ratio of that cache rate to input (rounded up), so cached tokens keep their discount on
 * every tier (see `compileRates`).
 *
 * Model resolution (first hit wins):
 * 1. the exact name in the table (overrides included), then `aliases[name]`;
 * 2. without a `provider/` prefix (`anthropic/claude-…`, `openai/gpt-…`);
 * 3. without a trailing snapshot suffix: `-YYYYMMDD` (Anthropic, `claude-sonnet-4-5-20250929`),
 *    `-YYYY-MM-DD` (OpenAI, `gpt-4o-2024-08-06`) or `-latest`. An exact snapshot entry
 *    (`gpt-4o-2024-05-13`) wins over its family because step 1 comes first.
 * A model that still has no price is never free: `UnknownModelError`, or the `fallback` price when one
 * is configured. Either way it is counted (`unknownModels`) and emitted (`'unknown-model'` event).
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { UnknownModelError } from './errors.js'
import { createEmitter } from './events.js'
import { rejectUnknownPriceFields, withLiteLLMToolFees } from './price-fields.js'
import {
  type LongContextRates,
  type ModelPrice,
  PRICES,
  type PriceMultipliers,
  type PriceRates,
  UNLISTED_CODE_INTERPRETER_PER_CONTAINER,
  UNLISTED_FILE_SEARCH_PER_1K,
  UNLISTED_WEB_SEARCH_PER_1K,
} from './prices.js'
import {
  type CompiledModes,
  compileModes,
  millionths,
  modeMultiplier,
  type NumberRates,
  numberRates,
  ONE_MILLION,
  type Rates,
  scaledRates,
  UNBILLED_GEOS,
} from './rates.js'
import { totalInputTokens, type Usage, type UsageStep, usageForPricing } from './usage.js'

/** An override: a whole new entry, or a partial one merged onto an existing entry of the same name. */
export type PriceOverride = Partial<ModelPrice> & Pick<ModelPrice, 'input' | 'output'>

/** Options of `createPriceTable`. */
export interface PriceTableOptions {
  /** The base table. Default: the built-in `PRICES`. */
  prices?: Readonly<Record<string, ModelPrice>>
  /**
   * Entries added or replacing base entries, by model name. A partial entry for a name the base has
   * is merged onto it (e.g. `{ 'gpt-4o': { input: 2, output: 8 } }` keeps its cache price).
   * Default none.
   */
  overrides?: Readonly<Record<string, Partial<ModelPrice>>>
  /** Extra names mapped to table keys, e.g. `{ 'my-deployment': 'gpt-4o' }`. Default none. */
  aliases?: Readonly<Record<string, string>>
  /**
   * Price to use for a model with no entry: a table key (`'claude-opus-4-1'`, i.e. the most
   * expensive, is a safe choice) or an entry. Default: none, `priceOf` throws `UnknownModelError`.
   */
  fallback?: string | PriceOverride
}

/** The keys of `PriceTableOptions`: any other key is refused. */
const PRICE_TABLE_OPTION_KEYS = [
  'prices',
  'overrides',
  'aliases',
  'fallback',
] as const satisfies readonly (keyof PriceTableOptions)[]

/**
 * The keys of a price entry and of its nested rates: any other key is refused (`prices["x"].…`,
 * `overrides["x"].…`, `fallback.…`). The entry's shape is fixed (only these fields are read), and a
 * misspelt one is not harmless: `longcontext`, `Priority` or `flex_rates` would bill those calls at
 * the standard rates, below their price, and `inputPer1M` would leave `input` missing. Model names
 * (the table's keys), aliases and the modes inside `multipliers.speed` / `.inferenceGeo` are the
 * user's own names and are not checked.
 */
const PRICE_RATE_KEYS = [
  'input',
  'output',
  'cacheWrite5m',
  'cacheWrite1h',
  'cacheRead',
] as const satisfies readonly (keyof PriceRates)[]
const LONG_CONTEXT_KEYS = [
  ...PRICE_RATE_KEYS,
  'aboveInputTokens',
] as const satisfies readonly (keyof LongContextRates)[]
const MULTIPLIER_KEYS = [
  'speed',
  'inferenceGeo',
] as const satisfies readonly (keyof PriceMultipliers)[]
const MODEL_PRICE_KEYS = [
  ...PRICE_RATE_KEYS,
  'provider',
  'multipliers',
  'webSearchPer1k',
  'webSearchPreviewPer1k',
  'fileSearchPer1k',
  'codeInterpreterPerContainer',
  'longContext',
  'batchDiscountPercent',
  'priority',
  'flex',
  'asOf',
  'source',
] as const satisfies readonly (keyof ModelPrice)[]

/** What the `'unknown-model'` event carries. */
export interface UnknownModelEvent {
  /** The model as asked for. */
  readonly model: string
  /** `true` when the fallback price was used, `false` when `UnknownModelError` was thrown. */
  readonly fallback: boolean
}

/** A resolved price entry. */
export interface ResolvedPrice {
  /** The table key the model resolved to (`'(fallback)'` for the fallback). */
  readonly key: string
  readonly price: ModelPrice
}

/** A price table. */
export interface PriceTable {
  /**
   * Cost of one call in integer micro-dollars, rounded up. `usage` is a `Usage` or any provider's
   * raw usage object (see `normalizeUsage`).
   * @throws UnknownModelError when the model has no price and there is no fallback.
   */
  priceOf(model: string, usage: Usage | Record<string, unknown>): number
  /** The entry a model resolves to, without counting or throwing; `undefined` when unknown. */
  resolve(model: string): ResolvedPrice | undefined
  /** Models priced so far that had no entry (with or without fallback). */
  readonly unknownModels: number
  /**
   * Subscribes to `'unknown-model'`; returns an unsubscribe function.
   * @throws InvalidOptionsError naming `event` (another name) or `listener` (not a function).
   */
  on(event: 'unknown-model', listener: (info: UnknownModelEvent) => void): () => void
  /**
   * A new table with these options layered on top of this one's (counters start at 0): `prices`
   * adds or replaces whole entries, `overrides` merges partial ones, `aliases` adds names.
   */
  extend(options: PriceTableOptions): PriceTable
}

interface Compiled extends CompiledModes {
  key: string
  price: ModelPrice
  standard: Rates
  priority: Rates
  flex: Rates
  longContext?: { above: number; rates: Rates }
  /** Flex rates above the long-context threshold (an entry with both `flex` and `longContext`). */
  flexLongContext?: Rates
  batchKeep: bigint
  /** `batchKeep` as a Number (the fast path). */
  batchKeepN: number
  /** One web search in the sum's unit (micro-dollars × 1,000,000): µ$ per 1,000 × 1,000. */
  webSearch: bigint
  /** `webSearch` as a Number (the fast path). */
  webSearchN: number
  /** One `web_search_preview` search (`webSearchPreviewPer1k`), in the same unit. */
  webSearchPreview: bigint
  /** `webSearchPreview` as a Number (the fast path). */
  webSearchPreviewN: number
  /** One `file_search` call (`fileSearchPer1k`, else the default), in the same unit. */
  fileSearch: bigint
  /** `fileSearch` as a Number (the fast path). */
  fileSearchN: number
  /** One code interpreter container (`codeInterpreterPerContainer`, else the default), same unit. */
  container: bigint
  /** `container` as a Number (the fast path). */
  containerN: number
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
/**
 * The longest model name the lookup cache keeps. A request's `model` is the client's (priced while
 * reserving, before the provider refuses an unknown one): without a length bound its up to 1,000
 * names could each be megabytes. Real names are far shorter; a longer one is resolved every time.
 */
const MAX_CACHED_MODEL_NAME = 256
const STANDARD_SPEED: ReadonlySet<string> = new Set(['standard'])
const SNAPSHOT = /-(\d{8}|\d{4}-\d{2}-\d{2}|latest)$/

function microsPerMTok(value: unknown, field: string): bigint {
  return millionths(value, field, 'USD per million tokens')
}

/**
 * Compiles one set of rates. For the standard rates (`standard` undefined) a missing cache rate is
 * `input` (`cacheWrite1h`: `cacheWrite5m`), never free. For a tier (priority, flex, long context;
 * `standard` given) a missing cache rate is the tier's `input` scaled by the standard rates' ratio
 * of that cache rate to input, rounded up: the provider's cache discount or premium applies on
 * every tier (e.g. gpt-5 priority input $2.50 with the standard 0.125 / 1.25 cached ratio gives
 * $0.25 cached, what OpenAI and LiteLLM list), instead of cached tokens billed as uncached.
 * `known`: the keys `r` may have (a tier's); the entry's own rates are checked with the entry.
 */
function compileRates(
  r: PriceRates,
  field: string,
  standard?: Rates,
  known?: readonly string[]
): Rates {
  if (r === null || typeof r !== 'object') throw new InvalidOptionsError(field, 'must be an object')
  if (known !== undefined) rejectUnknownPriceFields(r, known, `${field}.`)
  const input = microsPerMTok(r.input, `${field}.input`)
  const output = microsPerMTok(r.output, `${field}.output`)
  const opt = (v: number | undefined, f: string, dflt: bigint): bigint =>
    v === undefined ? dflt : microsPerMTok(v, `${field}.${f}`)
  const scaled = (rate: bigint | undefined): bigint =>
    standard === undefined || rate === undefined || standard.input === 0n
      ? input
      : (input * rate + standard.input - 1n) / standard.input
  const cacheWrite5m = opt(r.cacheWrite5m, 'cacheWrite5m', scaled(standard?.cacheWrite5m))
  const cacheWrite1h = opt(
    r.cacheWrite1h,
    'cacheWrite1h',
    standard === undefined ? cacheWrite5m : scaled(standard.cacheWrite1h)
  )
  const cacheRead = opt(r.cacheRead, 'cacheRead', scaled(standard?.cacheRead))
  // Converted once here, not on every price (two per metered call).
  const n = numberRates(input, output, cacheWrite5m, cacheWrite1h, cacheRead)
  return { input, output, cacheWrite5m, cacheWrite1h, cacheRead, n }
}

function compile(key: string, entry: ModelPrice, field: string): Compiled {
  if (entry === null || typeof entry !== 'object') {
    throw new InvalidOptionsError(field, 'must be a price entry')
  }
  // LiteLLM's names for the OpenAI tool fees, read as ours (same units).
  const price = withLiteLLMToolFees(entry, field)
  rejectUnknownPriceFields(price, MODEL_PRICE_KEYS, `${field}.`)
  const standard = compileRates(price, field)
  const discount = price.batchDiscountPercent ?? 0
  if (
    typeof discount !== 'number' ||
    !Number.isInteger(discount) ||
    discount < 0 ||
    discount > 100
  ) {
    throw new InvalidOptionsError(
      `${field}.batchDiscountPercent`,
      'must be an integer from 0 to 100'
    )
  }
  const multipliers = price.multipliers
  if (
    multipliers !== undefined &&
    (multipliers === null || typeof multipliers !== 'object' || Array.isArray(multipliers))
  ) {
    throw new InvalidOptionsError(
      `${field}.multipliers`,
      'must be an object, e.g. { speed: { fast: 6 }, inferenceGeo: { us: 1.1 } }'
    )
  }
  if (multipliers !== undefined) {
    rejectUnknownOptions(multipliers, MULTIPLIER_KEYS, `${field}.multipliers.`)
  }
  const webSearch =
    millionths(
      price.webSearchPer1k ?? UNLISTED_WEB_SEARCH_PER_1K,
      `${field}.webSearchPer1k`,
      'USD per 1,000 web searches'
    ) * 1000n
  // Absent: the entry's own search price (an entry that bills both tools alike lists only that).
  const webSearchPreview =
    price.webSearchPreviewPer1k === undefined
      ? webSearch
      : millionths(
          price.webSearchPreviewPer1k,
          `${field}.webSearchPreviewPer1k`,
          'USD per 1,000 web searches'
        ) * 1000n
  // OpenAI tool fees: the entry's, else the Responses API's (the same on every model).
  const fileSearch =
    millionths(
      price.fileSearchPer1k ?? UNLISTED_FILE_SEARCH_PER_1K,
      `${field}.fileSearchPer1k`,
      'USD per 1,000 file search calls'
    ) * 1000n
  const container =
    millionths(
      price.codeInterpreterPerContainer ?? UNLISTED_CODE_INTERPRETER_PER_CONTAINER,
      `${field}.codeInterpreterPerContainer`,
      'USD per code interpreter container'
    ) * ONE_MILLION
  // Present means rates: `priority: null` (or `false`, `0`, `''`) is refused by `compileRates`,
  // not read as "no tier rates" (which would bill the tier at the standard rates).
  const compiled: Compiled = {
    key,
    price,
    standard,
    priority:
      price.priority !== undefined
        ? compileRates(price.priority, `${field}.priority`, standard, PRICE_RATE_KEYS)
        : standard,
    flex:
      price.flex !== undefined
        ? compileRates(price.flex, `${field}.flex`, standard, PRICE_RATE_KEYS)
        : standard,
    batchKeep: BigInt(100 - discount),
    batchKeepN: 100 - discount,
    speed: compileModes(multipliers?.speed, `${field}.multipliers.speed`, STANDARD_SPEED),
    geo: compileModes(
      multipliers?.inferenceGeo,
      `${field}.multipliers.inferenceGeo`,
      UNBILLED_GEOS
    ),
    webSearch,
    webSearchN: Number(webSearch),
    webSearchPreview,
    webSearchPreviewN: Number(webSearchPreview),
    fileSearch,
    fileSearchN: Number(fileSearch),
    container,
    containerN: Number(container),
  }
  if (price.longContext !== undefined) {
    const lc = price.longContext
    // Before the threshold's check: `aboveInputToken` is named as the misspelling it is.
    if (lc !== null && typeof lc === 'object') {
      rejectUnknownPriceFields(lc, LONG_CONTEXT_KEYS, `${field}.longContext.`)
    }
    const above = lc?.aboveInputTokens
    if (typeof above !== 'number' || !Number.isSafeInteger(above) || above <= 0) {
      throw new InvalidOptionsError(
        `${field}.longContext.aboveInputTokens`,
        'must be a positive integer'
      )
    }
    const rates = compileRates(lc, `${field}.longContext`, standard)
    compiled.longContext = { above, rates }
    if (price.flex !== undefined) {
      compiled.flexLongContext = tierLongContext(compiled.flex, rates, standard)
    }
  }
  return compiled
}

/**
 * A tier's rates above the long-context threshold: each of the tier's rates times the entry's
 * long-context / standard ratio for that kind of token, rounded up. OpenAI bills GPT-5.5 prompts
 * above 272k input "at 2x input and 1.5x output for the full session, across the standard, batch,
 * and flex tiers" (OpenAI developer docs, quoted by tokencost.app): flex $2.50 / $15 becomes
 * $5 / $22.50, not the standard tier's $10 / $45. A standard rate of 0 has no ratio: the
 * long-context rate itself is used (never below it).
 */
function tierLongContext(tier: Rates, long: Rates, standard: Rates): Rates {
  const scale = (t: bigint, l: bigint, s: bigint): bigint => (s === 0n ? l : (t * l + s - 1n) / s)
  const input = scale(tier.input, long.input, standard.input)
  const output = scale(tier.output, long.output, standard.output)
  const cacheWrite5m = scale(tier.cacheWrite5m, long.cacheWrite5m, standard.cacheWrite5m)
  const cacheWrite1h = scale(tier.cacheWrite1h, long.cacheWrite1h, standard.cacheWrite1h)
  const cacheRead = scale(tier.cacheRead, long.cacheRead, standard.cacheRead)
  const n = numberRates(input, output, cacheWrite5m, cacheWrite1h, cacheRead)
  return { input, output, cacheWrite5m, cacheWrite1h, cacheRead, n }
}

/**
 * `partial` merged onto `base`. LiteLLM's tool fee names in `partial` are renamed first, so they
 * replace the base entry's fee as ours would.
 */
function fullEntry(
  partial: Partial<ModelPrice>,
  base: ModelPrice | undefined,
  field: string
): ModelPrice {
  return {
    provider: 'custom',
    asOf: 'runtime',
    source: 'override',
    ...(base ?? {}),
    ...withLiteLLMToolFees(partial, field),
  } as ModelPrice
}

/** A token count the Number fast path takes (anything else goes to BigInt, which validates it). */
const isCount = (n: number | undefined): boolean => n === undefined || Number.isSafeInteger(n)

/**
 * The same sum and rounding as the BigInt path, in Number arithmetic, or `undefined` when that
 * could be inexact. Every term is a non-negative integer, so a total up to 2^53 − 1 (about $9,000M
 * per call in micro-dollars times a million) is exact, and so is the division done as
 * `(total − remainder) / divisor`. Pricing runs twice per metered call (the reservation and the
 * settle): this skips a dozen BigInt allocations each time.
 */
function costFast(rates: NumberRates, usage: Usage, tier: string, c: Compiled): number | undefined {
  const read = usage.cacheReadTokens
  const w5m = usage.cacheWrite5mTokens
  const w1h = usage.cacheWrite1hTokens
  const searches = usage.webSearchRequests
  const preview = usage.webSearchPreviewRequests
  const files = usage.fileSearchCalls
  const containers = usage.codeInterpreterContainers
  if (
    !Number.isSafeInteger(usage.inputTokens) ||
    !Number.isSafeInteger(usage.outputTokens) ||
    !isCount(read) ||
    !isCount(w5m) ||
    !isCount(w1h) ||
    !isCount(searches) ||
    !isCount(preview) ||
    !isCount(files) ||
    !isCount(containers)
  ) {
    return undefined
  }
  let pico =
    usage.inputTokens * rates.input +
    usage.outputTokens * rates.output +
    (read ?? 0) * rates.cacheRead +
    (w5m ?? 0) * rates.cacheWrite5m +
    (w1h ?? 0) * rates.cacheWrite1h
  let divisor = 1_000_000
  // Preview searches at their own price, the rest at `webSearchN` (never fewer than reported).
  const p = preview ?? 0
  const s = searches ?? 0
  let searchPico =
    (s > p ? s - p : 0) * c.webSearchN +
    p * c.webSearchPreviewN +
    (files ?? 0) * c.fileSearchN +
    (containers ?? 0) * c.containerN
  if (tier === 'batch') {
    // The batch discount is on tokens only: the tool fees are scaled to the larger divisor.
    pico *= c.batchKeepN
    searchPico *= 100
    divisor *= 100
  }
  pico += searchPico
  if (!(pico >= 0 && pico <= Number.MAX_SAFE_INTEGER)) return undefined
  const rest = pico % divisor
  return (pico - rest) / divisor + (rest > 0 ? 1 : 0)
}

/**
 * The rates `c` bills a request of `counts` at on `tier`, times the billing-mode multiplier `m`
 * (millionths).
 */
function ratesFor(c: Compiled, tier: string, counts: Usage | UsageStep, m: bigint): Rates {
  let rates = tier === 'priority' ? c.priority : tier === 'flex' ? c.flex : c.standard
  // An entry's own priority rates apply whatever the input size (an entry has no long-context
  // priority rates); an entry without them (every Claude entry) bills priority at its standard
  // rates, long context included, as the provider does. Flex with its own rates gets the flex
  // rates scaled by the long-context ratios (`tierLongContext`); batch is the standard long-context
  // rates, discounted later.
  const ownPriority = tier === 'priority' && c.priority !== c.standard
  if (c.longContext && !ownPriority && totalInputTokens(counts) > c.longContext.above) {
    rates =
      tier === 'flex' && c.flexLongContext !== undefined ? c.flexLongContext : c.longContext.rates
  }
  return m === ONE_MILLION ? rates : scaledRates(rates, m)
}

/** Σ tokens × rate of `counts` (micro-dollars × 1,000,000), exact. */
function tokenPico(rates: Rates, counts: Usage | UsageStep): bigint {
  return (
    BigInt(counts.inputTokens) * rates.input +
    BigInt(counts.outputTokens) * rates.output +
    BigInt(counts.cacheReadTokens ?? 0) * rates.cacheRead +
    BigInt(counts.cacheWrite5mTokens ?? 0) * rates.cacheWrite5m +
    BigInt(counts.cacheWrite1hTokens ?? 0) * rates.cacheWrite1h
  )
}

/**
 * Integer micro-dollars for `usage` at `c`'s rates, rounded up. Its `compactions` are summed in
 * before the rounding, each at the rates its own input selects (long context or not).
 * `capped`: a cost above `Number.MAX_SAFE_INTEGER` is returned as `Number.MAX_SAFE_INTEGER`
 * instead of throwing (a reservation's worst case, see `trustedPricer`).
 * @throws InvalidOptionsError naming `usage` when the cost exceeds `Number.MAX_SAFE_INTEGER`
 *   micro-dollars (unless `capped`): a Number could hold it only rounded, possibly below the true
 *   cost.
 */
function cost(c: Compiled, usage: Usage, capped = false): number {
  const tier = usage.serviceTier ?? 'standard'
  const m = modeMultiplier(c, usage)
  const rates = ratesFor(c, tier, usage, m)
  const steps = usage.compactions
  // The Number fast path prices one set of counts (nearly every call); compactions take BigInt.
  if (steps === undefined || steps.length === 0) {
    const fast = costFast(rates.n, usage, tier, c)
    if (fast !== undefined) return fast
  }
  let pico = tokenPico(rates, usage)
  for (const step of steps ?? []) pico += tokenPico(ratesFor(c, tier, step, m), step)
  let divisor = ONE_MILLION
  const preview = BigInt(usage.webSearchPreviewRequests ?? 0)
  const searches = BigInt(usage.webSearchRequests ?? 0)
  let searchPico =
    (searches > preview ? searches - preview : 0n) * c.webSearch +
    preview * c.webSearchPreview +
    BigInt(usage.fileSearchCalls ?? 0) * c.fileSearch +
    BigInt(usage.codeInterpreterContainers ?? 0) * c.container
  if (tier === 'batch') {
    pico *= c.batchKeep
    searchPico *= 100n
    divisor *= 100n
  }
  const micros = (pico + searchPico + divisor - 1n) / divisor
  if (micros > MAX_SAFE) {
    if (capped) return Number.MAX_SAFE_INTEGER
    throw new InvalidOptionsError(
      'usage',
      `costs ${micros} micro-dollars, above Number.MAX_SAFE_INTEGER (about $9 billion): not a real call`
    )
  }
  return Number(micros)
}

/** A plain object of named entries (not an array, not a primitive). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * Creates a price table. Options are validated here: a bad entry throws `InvalidOptionsError` naming
 * it (`overrides["gpt-4o"].input`, `aliases["x"]`, `fallback`), an unknown key included, in the
 * options or in an entry (`overrides["gpt-4o"].inputPer1M`, `prices["m"].longcontext`).
 */
export function createPriceTable(options: PriceTableOptions = {}): PriceTable {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, PRICE_TABLE_OPTION_KEYS)
  const base = options.prices ?? PRICES
  if (!isRecord(base)) {
    throw new InvalidOptionsError('prices', 'must be an object of price entries, by model name')
  }
  const entries = new Map<string, Compiled>()
  for (const [key, price] of Object.entries(base)) {
    entries.set(key, compile(key, price, `prices[${JSON.stringify(key)}]`))
  }
  const overrides = options.overrides ?? {}
  if (!isRecord(overrides)) {
    throw new InvalidOptionsError('overrides', 'must be an object of price entries, by model name')
  }
  for (const [key, partial] of Object.entries(overrides)) {
    const field = `overrides[${JSON.stringify(key)}]`
    if (partial === null || typeof partial !== 'object') {
      throw new InvalidOptionsError(field, 'must be a price entry')
    }
    entries.set(key, compile(key, fullEntry(partial, entries.get(key)?.price, field), field))
  }
  const aliases = new Map<string, string>()
  const aliasOption = options.aliases ?? {}
  if (!isRecord(aliasOption)) {
    throw new InvalidOptionsError('aliases', 'must be an object { name: table key }')
  }
  for (const [name, target] of Object.entries(aliasOption)) {
    if (typeof target !== 'string' || !entries.has(target)) {
      throw new InvalidOptionsError(`aliases[${JSON.stringify(name)}]`, 'must name a table entry')
    }
    aliases.set(name, target)
  }
  let fallback: Compiled | undefined
  if (typeof options.fallback === 'string') {
    fallback = entries.get(options.fallback)
    if (!fallback)
      throw new InvalidOptionsError('fallback', 'must name a table entry or be an entry')
  } else if (options.fallback !== undefined) {
    if (!isRecord(options.fallback)) {
      throw new InvalidOptionsError('fallback', 'must name a table entry or be an entry')
    }
    fallback = compile('(fallback)', fullEntry(options.fallback, undefined, 'fallback'), 'fallback')
  }

  const lookup = (name: string): Compiled | undefined => {
    const hit = entries.get(name)
    if (hit) return hit
    const target = aliases.get(name)
    return target === undefined ? undefined : entries.get(target)
  }
  const cache = new Map<string, Compiled | null>()
  // The last model found: calls mostly repeat one model (no Map lookup per price then).
  let lastModel: string | undefined
  let lastFound: Compiled | undefined
  const find = (model: string): Compiled | undefined => {
    if (model === lastModel) return lastFound
    const found = findUncached(model)
    lastModel = model
    lastFound = found
    return found
  }
  const findUncached = (model: string): Compiled | undefined => {
    const cached = cache.get(model)
    if (cached !== undefined) return cached ?? undefined
    let name = model.trim()
    let found = lookup(name)
    if (!found && /^[a-z0-9-]+\//i.test(name)) {
      name = name.slice(name.indexOf('/') + 1)
      found = lookup(name)
    }
    if (!found && SNAPSHOT.test(name)) found = lookup(name.replace(SNAPSHOT, ''))
    if (model.length <= MAX_CACHED_MODEL_NAME) {
      if (cache.size > 1000) cache.clear()
      cache.set(model, found ?? null)
    }
    return found
  }

  const events = createEmitter<{ 'unknown-model': UnknownModelEvent }>(['unknown-model'])
  let unknownModels = 0

  const checkModel = (model: unknown): void => {
    if (typeof model !== 'string' || model.length === 0) {
      throw new InvalidOptionsError('model', 'must be a non-empty string')
    }
  }
  /** `priceOf` of a usage already normalised (`capped`: see `cost`). */
  const priceNormalized = (model: string, u: Usage, capped = false): number => {
    const entry = find(model)
    if (entry) return cost(entry, u, capped)
    unknownModels++
    events.emit('unknown-model', { model, fallback: fallback !== undefined })
    if (!fallback) throw new UnknownModelError(model)
    return cost(fallback, u, capped)
  }

  const table: PriceTable = {
    priceOf(model, usage) {
      checkModel(model)
      return priceNormalized(model, usageForPricing(usage))
    },
    resolve(model) {
      const entry = typeof model === 'string' ? find(model) : undefined
      return entry ? { key: entry.key, price: entry.price } : undefined
    },
    get unknownModels() {
      return unknownModels
    },
    on(event, listener) {
      return events.on(event, listener)
    },
    extend(more) {
      // Its options are rebuilt below: an unknown key would otherwise be dropped unseen.
      if (more === null || typeof more !== 'object') {
        throw new InvalidOptionsError('options', 'must be an object')
      }
      rejectUnknownOptions(more, PRICE_TABLE_OPTION_KEYS)
      if (more.prices !== undefined && !isRecord(more.prices)) {
        throw new InvalidOptionsError('prices', 'must be an object of price entries, by model name')
      }
      if (more.aliases !== undefined && !isRecord(more.aliases)) {
        throw new InvalidOptionsError('aliases', 'must be an object { name: table key }')
      }
      const merged: Record<string, ModelPrice> = {}
      for (const [key, c] of entries) merged[key] = c.price
      // Whole entries layered on this table's (it was dropped before: `prices` is not a base here).
      if (more.prices !== undefined) Object.assign(merged, more.prices)
      const fb = more.fallback ?? options.fallback
      return createPriceTable({
        prices: merged,
        ...(more.overrides ? { overrides: more.overrides } : {}),
        aliases: { ...Object.fromEntries(aliases), ...(more.aliases ?? {}) },
        ...(fb === undefined ? {} : { fallback: fb }),
      })
    },
  }
  trustedPricers.set(table, (model, usage) => {
    checkModel(model)
    return priceNormalized(model, usage, true)
  })
  return table
}

/** Per table made by `createPriceTable`: `priceOf` for a `Usage` known valid (see `trustedPricer`). */
const trustedPricers = new WeakMap<PriceTable, (model: string, usage: Usage) => number>()

/**
 * Internal (not exported by the package): `table.priceOf` for a `Usage` this package built itself
 * from checked integers, without the normalising copy `priceOf` makes of any usage it is given
 * (the budget prices every reservation's worst case this way). A cost above
 * `Number.MAX_SAFE_INTEGER` micro-dollars is returned as `Number.MAX_SAFE_INTEGER` rather than
 * refused: a worst case comes from the end user's request (`max_tokens`, a tool's `max_uses`), and
 * that amount is above every limit (at most 2^50), so a hard budget refuses it as over budget (402),
 * not as a bad option (500). `undefined` for a table that `createPriceTable` did not make.
 */
export function trustedPricer(
  table: PriceTable
): ((model: string, usage: Usage) => number) | undefined {
  return trustedPricers.get(table)
}

let defaultTable: PriceTable | undefined

/** The shared table with the built-in prices and no fallback (created on first use). */
export function defaultPriceTable(): PriceTable {
  defaultTable ??= createPriceTable()
  return defaultTable
}

/**
 * Cost of one call in integer micro-dollars (rounded up) from the built-in prices. `usage` is a
 * `Usage` or a provider's raw usage object. Throws `UnknownModelError` for a model without a price
 * (use `createPriceTable({ fallback })` to price unknown models instead).
 */
export function priceOf(model: string, usage: Usage | Record<string, unknown>): number {
  return defaultPriceTable().priceOf(model, usage)
}
