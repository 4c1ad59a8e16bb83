/**
 * @module usage
 * One provider-neutral `Usage` shape, and `normalizeUsage` from each provider's own usage object.
 *
 * Provider rules (research/cost.md §1c):
 * - Anthropic: `input_tokens` EXCLUDES cached tokens; `cache_creation_input_tokens` and
 *   `cache_read_input_tokens` are separate, and `cache_creation.{ephemeral_5m,ephemeral_1h}_input_tokens`
 *   splits the writes by TTL (without the split, all writes are 5-minute writes). The usage also
 *   reports what changes the price of those tokens: `speed` (`'fast'`: fast mode), `inference_geo`
 *   (`'us'`: US-only inference) and `server_tool_use.web_search_requests` (billed per search);
 *   `output_tokens_details.thinking_tokens` is informational (inside `output_tokens`).
 *   `iterations` entries of type `compaction` (server-side compaction) are billed sampling steps
 *   the top-level counts exclude: kept as `compactions`, priced on top.
 * - OpenAI Chat Completions: `prompt_tokens` INCLUDES `prompt_tokens_details.cached_tokens`;
 *   `completion_tokens` includes `completion_tokens_details.reasoning_tokens`.
 * - OpenAI Responses: `input_tokens` includes `input_tokens_details.cached_tokens`; `output_tokens`
 *   includes `output_tokens_details.reasoning_tokens`.
 */
import { InvalidOptionsError } from '@aikit/core'

/** Which rates apply: `'batch'` (Batch API discount), `'priority'`, `'flex'`, or `'standard'`. */
export type ServiceTier = 'standard' | 'batch' | 'priority' | 'flex'

/**
 * Token counts of one extra sampling step of a call, billed on top of the call's own counts (see
 * `Usage.compactions`). Every count is a non-negative integer.
 */
export interface UsageStep {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cacheReadTokens?: number
  readonly cacheWrite5mTokens?: number
  readonly cacheWrite1hTokens?: number
}

/** Token counts of one call, provider-neutral. Every count is a non-negative integer. */
export interface Usage {
  /** Input tokens billed at the plain input rate: no cache reads, no cache writes. */
  readonly inputTokens: number
  /** Output tokens, reasoning included. */
  readonly outputTokens: number
  /** Cache reads (Anthropic) / cached input (OpenAI). Default 0. */
  readonly cacheReadTokens?: number
  /** Anthropic cache writes with the 5-minute TTL. Default 0. */
  readonly cacheWrite5mTokens?: number
  /** Anthropic cache writes with the 1-hour TTL. Default 0. */
  readonly cacheWrite1hTokens?: number
  /** Reasoning tokens: already inside `outputTokens`, informational. Default 0. */
  readonly reasoningTokens?: number
  /** Rates to use. Default `'standard'`. */
  readonly serviceTier?: ServiceTier
  /**
   * Inference speed (Anthropic `usage.speed`): `'fast'` is fast mode, priced at the entry's
   * `multipliers.speed.fast` times every token rate. Default `'standard'` (no multiplier).
   */
  readonly speed?: string
  /**
   * Where inference ran (Anthropic `usage.inference_geo`): `'us'` is US-only inference, priced at
   * the entry's `multipliers.inferenceGeo.us` times every token rate. Default `'global'` (none);
   * `'not_available'` (a model without data residency) and `''` are billed as `'global'`.
   */
  readonly inferenceGeo?: string
  /**
   * Server-side web searches (Anthropic `usage.server_tool_use.web_search_requests`), billed per
   * search on top of the tokens (the entry's `webSearchPer1k`). Default 0.
   */
  readonly webSearchRequests?: number
  /**
   * How many of `webSearchRequests` ran through OpenAI's `web_search_preview` tool (any dated
   * version), billed at the entry's `webSearchPreviewPer1k` ($25 per 1,000 on gpt-4o / gpt-4.1)
   * instead of `webSearchPer1k`. `extractUsage` and `createStreamUsage` set it from the Response's
   * echoed `tools`. At most `webSearchRequests` (more is refused). Default 0.
   */
  readonly webSearchPreviewRequests?: number
  /**
   * OpenAI Responses `file_search` tool calls (the response's `file_search_call` items), billed per
   * call on top of the tokens (the entry's `fileSearchPer1k`). Default 0.
   */
  readonly fileSearchCalls?: number
  /**
   * OpenAI code interpreter containers the call ran code in (the distinct `container_id`s of the
   * response's `code_interpreter_call` items), billed per container on top of the tokens (the
   * entry's `codeInterpreterPerContainer`), not per call. Default 0.
   */
  readonly codeInterpreterContainers?: number
  /**
   * Anthropic server-side compaction steps (`usage.iterations` entries of type `'compaction'`):
   * sampled and billed, but not in the top-level counts (SDK `BetaIterationsUsage`: "A `compaction`
   * entry's tokens are not included in the top-level `usage` fields"). Each is priced on top of the
   * counts above, at the call's tier and modes, its long-context tier decided by its own input.
   * Default none.
   */
  readonly compactions?: readonly UsageStep[]
  /** `true` when some counts are estimates (a stream cut short). Default `false`. */
  readonly estimated?: boolean
}

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The keys of a `UsageStep` and of a `Usage`: any other key with a value is refused. Pricing reads
 * only these, so an unknown one is tokens billed $0: a misspelt count (`cacheWriteTokens`,
 * `cachedTokens`) or a Bedrock Converse usage (`cacheReadInputTokens`, `cacheWriteInputTokens`,
 * camelCase like a `Usage`) would be priced below the call.
 */
const USAGE_STEP_KEYS = [
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWrite5mTokens',
  'cacheWrite1hTokens',
] as const satisfies readonly (keyof UsageStep)[]
const USAGE_FIELDS = [
  ...USAGE_STEP_KEYS,
  'reasoningTokens',
  'serviceTier',
  'speed',
  'inferenceGeo',
  'webSearchRequests',
  'webSearchPreviewRequests',
  'fileSearchCalls',
  'codeInterpreterContainers',
  'compactions',
  'estimated',
] as const satisfies readonly (keyof Usage)[]
// `totalTokens` is no `Usage` field, but only the sum of counts the usage has (Bedrock Converse and
// the AI SDK send it): ignoring it leaves nothing unbilled.
const USAGE_KEYS: ReadonlySet<string> = new Set([...USAGE_FIELDS, 'totalTokens'])
const STEP_KEYS: ReadonlySet<string> = new Set(USAGE_STEP_KEYS)

/** What to write instead of an unknown usage key, when it has an obvious meaning. */
function usageKeyHint(key: string): string {
  const k = key.toLowerCase().replace(/_/g, '')
  if (/read|cached|hit/.test(k)) return 'cacheReadTokens'
  if (/write|creation/.test(k)) return 'cacheWrite5mTokens` or `cacheWrite1hTokens'
  if (/file/.test(k)) return 'fileSearchCalls'
  if (/container|interpreter|session/.test(k)) return 'codeInterpreterContainers'
  if (/preview/.test(k)) return 'webSearchPreviewRequests'
  if (/search/.test(k)) return 'webSearchRequests'
  if (/reason|think/.test(k)) return 'reasoningTokens'
  if (/^input|prompt/.test(k)) return 'inputTokens'
  if (/^output|completion/.test(k)) return 'outputTokens'
  return ''
}

/**
 * Throws `InvalidOptionsError` naming `<path><key>` for a key of `raw` outside `known` that has a
 * value (`undefined` bills nothing and is let through).
 */
function rejectUnknownUsageKeys(raw: Rec, known: ReadonlySet<string>, path: string): void {
  for (const key of Object.keys(raw)) {
    if (known.has(key) || raw[key] === undefined) continue
    const hint = usageKeyHint(key)
    throw new InvalidOptionsError(
      `${path}${key}`,
      `is not a usage field: pricing would bill it $0${hint ? ` (did you mean \`${hint}\`?)` : ''}; known: ${[...known].join(', ')}`
    )
  }
}

function count(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionsError(field, `must be a non-negative integer; got ${String(value)}`)
  }
  return value
}

/** An optional label (`speed`, `inference_geo`): absent, `null` or a string. */
function label(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') {
    throw new InvalidOptionsError(field, `must be a string; got ${String(value)}`)
  }
  return value
}

/** Maps a provider's `service_tier` string onto the rates it is billed at. */
export function toServiceTier(value: unknown): ServiceTier | undefined {
  if (value === 'batch' || value === 'priority' || value === 'flex') return value
  if (value === 'standard' || value === 'default' || value === 'auto') return 'standard'
  return undefined
}

function withTier(usage: Usage, tier: unknown): Usage {
  const t = toServiceTier(tier)
  return t === undefined || t === 'standard' ? usage : { ...usage, serviceTier: t }
}

/** The token counts of an Anthropic usage or usage iteration at `field` (`usage`, `usage.iterations[0]`). */
function anthropicCounts(u: Rec, field: string): UsageStep {
  const writes = count(u.cache_creation_input_tokens, `${field}.cache_creation_input_tokens`)
  let w5 = writes
  let w1 = 0
  if (isRec(u.cache_creation)) {
    w1 = count(
      u.cache_creation.ephemeral_1h_input_tokens,
      `${field}.cache_creation.ephemeral_1h_input_tokens`
    )
    const split5 = count(
      u.cache_creation.ephemeral_5m_input_tokens,
      `${field}.cache_creation.ephemeral_5m_input_tokens`
    )
    // Trust the split; if the total is larger, the rest is priced as 5-minute writes.
    w5 = Math.max(split5, writes - w1)
  }
  return {
    inputTokens: count(u.input_tokens, `${field}.input_tokens`),
    outputTokens: count(u.output_tokens, `${field}.output_tokens`),
    cacheReadTokens: count(u.cache_read_input_tokens, `${field}.cache_read_input_tokens`),
    cacheWrite5mTokens: w5,
    cacheWrite1hTokens: w1,
  }
}

/**
 * The `compaction` entries of an Anthropic `usage.iterations` (absent or `null`: none). The other
 * entries (`message`, ...) are sampling steps the top-level counts already include.
 */
function anthropicCompactions(iterations: unknown): UsageStep[] {
  if (iterations === undefined || iterations === null) return []
  if (!Array.isArray(iterations)) {
    throw new InvalidOptionsError('usage.iterations', 'must be an array of iteration usages')
  }
  const steps: UsageStep[] = []
  for (let i = 0; i < iterations.length; i++) {
    const it: unknown = iterations[i]
    if (isRec(it) && it.type === 'compaction') {
      steps.push(anthropicCounts(it, `usage.iterations[${i}]`))
    }
  }
  return steps
}

/** Anthropic `usage` (messages response, `message_start.message.usage` or `message_delta.usage`). */
export function fromAnthropicUsage(u: Rec): Usage {
  const counts = anthropicCounts(u, 'usage')
  const compactions = anthropicCompactions(u.iterations)
  const outDetails = isRec(u.output_tokens_details) ? u.output_tokens_details : {}
  const thinking = count(outDetails.thinking_tokens, 'usage.output_tokens_details.thinking_tokens')
  const searches = isRec(u.server_tool_use)
    ? count(u.server_tool_use.web_search_requests, 'usage.server_tool_use.web_search_requests')
    : 0
  const speed = label(u.speed, 'usage.speed')
  const geo = label(u.inference_geo, 'usage.inference_geo')
  const usage: Usage = {
    ...counts,
    ...(thinking > 0 ? { reasoningTokens: thinking } : {}),
    ...(speed === undefined ? {} : { speed }),
    ...(geo === undefined ? {} : { inferenceGeo: geo }),
    ...(searches > 0 ? { webSearchRequests: searches } : {}),
    ...(compactions.length > 0 ? { compactions } : {}),
  }
  return withTier(usage, u.service_tier)
}

/**
 * Keys only an Anthropic usage has: an OpenAI Responses usage has none of them (its
 * `output_tokens_details` is shared with Anthropic's, so it decides nothing).
 */
const ANTHROPIC_KEYS = [
  'cache_creation_input_tokens',
  'cache_read_input_tokens',
  'cache_creation',
  'server_tool_use',
  'speed',
  'inference_geo',
] as const

/** `true` when `u` carries a key only Anthropic's usage has (see `ANTHROPIC_KEYS`). */
function isAnthropicUsage(u: Rec): boolean {
  for (const key of ANTHROPIC_KEYS) if (key in u) return true
  // Anthropic puts `service_tier` inside usage; OpenAI puts it on the response, never in usage.
  const tier = u.service_tier
  return (
    'service_tier' in u &&
    (tier === null || tier === 'standard' || tier === 'priority' || tier === 'batch')
  )
}

/** OpenAI Chat Completions `usage`. */
export function fromOpenAIChatUsage(u: Rec): Usage {
  const prompt = count(u.prompt_tokens, 'usage.prompt_tokens')
  const details = isRec(u.prompt_tokens_details) ? u.prompt_tokens_details : {}
  const outDetails = isRec(u.completion_tokens_details) ? u.completion_tokens_details : {}
  const cached = Math.min(
    prompt,
    count(details.cached_tokens, 'usage.prompt_tokens_details.cached_tokens')
  )
  return {
    inputTokens: prompt - cached,
    outputTokens: count(u.completion_tokens, 'usage.completion_tokens'),
    cacheReadTokens: cached,
    reasoningTokens: count(
      outDetails.reasoning_tokens,
      'usage.completion_tokens_details.reasoning_tokens'
    ),
  }
}

/** OpenAI Responses `usage`. */
export function fromOpenAIResponsesUsage(u: Rec): Usage {
  const input = count(u.input_tokens, 'usage.input_tokens')
  const details = isRec(u.input_tokens_details) ? u.input_tokens_details : {}
  const outDetails = isRec(u.output_tokens_details) ? u.output_tokens_details : {}
  const cached = Math.min(
    input,
    count(details.cached_tokens, 'usage.input_tokens_details.cached_tokens')
  )
  return {
    inputTokens: input - cached,
    outputTokens: count(u.output_tokens, 'usage.output_tokens'),
    cacheReadTokens: cached,
    reasoningTokens: count(
      outDetails.reasoning_tokens,
      'usage.output_tokens_details.reasoning_tokens'
    ),
  }
}

/**
 * A `Usage`'s `speed`, `inferenceGeo`, `webSearchRequests`, `webSearchPreviewRequests`,
 * `fileSearchCalls` and `codeInterpreterContainers`, checked, each only when set. More preview searches than searches is refused: which count is wrong is
 * unknown, and billing either could be below the call.
 */
function optionalModes(raw: Rec): Partial<Usage> {
  const speed = label(raw.speed, 'usage.speed')
  const geo = label(raw.inferenceGeo, 'usage.inferenceGeo')
  const searches = count(raw.webSearchRequests, 'usage.webSearchRequests')
  const preview = count(raw.webSearchPreviewRequests, 'usage.webSearchPreviewRequests')
  const files = count(raw.fileSearchCalls, 'usage.fileSearchCalls')
  const containers = count(raw.codeInterpreterContainers, 'usage.codeInterpreterContainers')
  if (preview > searches) {
    throw new InvalidOptionsError(
      'usage.webSearchPreviewRequests',
      `must be at most usage.webSearchRequests (${searches}): it counts the searches among them that ran through web_search_preview; got ${preview}`
    )
  }
  return {
    ...(speed === undefined ? {} : { speed }),
    ...(geo === undefined ? {} : { inferenceGeo: geo }),
    ...(raw.webSearchRequests === undefined ? {} : { webSearchRequests: searches }),
    ...(raw.webSearchPreviewRequests === undefined ? {} : { webSearchPreviewRequests: preview }),
    ...(raw.fileSearchCalls === undefined ? {} : { fileSearchCalls: files }),
    ...(raw.codeInterpreterContainers === undefined
      ? {}
      : { codeInterpreterContainers: containers }),
  }
}

/** A `Usage`'s `compactions`, checked (each step's counts), only when set. */
function optionalCompactions(raw: unknown): Partial<Usage> {
  if (raw === undefined) return {}
  if (!Array.isArray(raw)) {
    throw new InvalidOptionsError('usage.compactions', 'must be an array of { inputTokens, … }')
  }
  const compactions = raw.map((step: unknown, i): UsageStep => {
    const field = `usage.compactions[${i}]`
    if (!isRec(step)) throw new InvalidOptionsError(field, 'must be an object { inputTokens, … }')
    rejectUnknownUsageKeys(step, STEP_KEYS, `${field}.`)
    return {
      inputTokens: count(step.inputTokens, `${field}.inputTokens`),
      outputTokens: count(step.outputTokens, `${field}.outputTokens`),
      cacheReadTokens: count(step.cacheReadTokens, `${field}.cacheReadTokens`),
      cacheWrite5mTokens: count(step.cacheWrite5mTokens, `${field}.cacheWrite5mTokens`),
      cacheWrite1hTokens: count(step.cacheWrite1hTokens, `${field}.cacheWrite1hTokens`),
    }
  })
  return { compactions }
}

/**
 * Turns any usage object into `Usage`: a `Usage` is checked and returned (a key it does not have,
 * e.g. `cacheWriteTokens` or Bedrock's `cacheReadInputTokens`, is refused: its tokens would be
 * billed $0); an object with
 * `prompt_tokens` is OpenAI Chat; one with a key only Anthropic's usage has
 * (`cache_creation_input_tokens`, `cache_read_input_tokens`, `cache_creation`, `server_tool_use`,
 * `speed`, `inference_geo`, or `service_tier` `'standard' | 'priority' | 'batch' | null`) is
 * Anthropic, even with `output_tokens_details` (SDK 1.14 `Usage` and `MessageDeltaUsage` carry it);
 * otherwise one with `input_tokens_details` or `total_tokens` is OpenAI Responses, and any other
 * object with `input_tokens` or `output_tokens` is Anthropic (the two `input_tokens` shapes differ
 * only when cached tokens are present, and each then has its own detail fields). Throws
 * `InvalidOptionsError` naming the bad field.
 */
export function normalizeUsage(raw: unknown): Usage {
  if (!isRec(raw)) throw new InvalidOptionsError('usage', 'must be a usage object')
  if ('inputTokens' in raw || 'outputTokens' in raw) {
    rejectUnknownUsageKeys(raw, USAGE_KEYS, 'usage.')
    const tier = raw.serviceTier
    if (tier !== undefined && toServiceTier(tier) !== tier) {
      throw new InvalidOptionsError(
        'usage.serviceTier',
        "must be 'standard', 'batch', 'priority' or 'flex'"
      )
    }
    const usage: Usage = {
      inputTokens: count(raw.inputTokens, 'usage.inputTokens'),
      outputTokens: count(raw.outputTokens, 'usage.outputTokens'),
      cacheReadTokens: count(raw.cacheReadTokens, 'usage.cacheReadTokens'),
      cacheWrite5mTokens: count(raw.cacheWrite5mTokens, 'usage.cacheWrite5mTokens'),
      cacheWrite1hTokens: count(raw.cacheWrite1hTokens, 'usage.cacheWrite1hTokens'),
      reasoningTokens: count(raw.reasoningTokens, 'usage.reasoningTokens'),
      ...(tier === undefined ? {} : { serviceTier: tier as ServiceTier }),
      ...optionalModes(raw),
      ...optionalCompactions(raw.compactions),
      ...(raw.estimated === true ? { estimated: true } : {}),
    }
    return usage
  }
  if ('prompt_tokens' in raw) return fromOpenAIChatUsage(raw)
  if (isAnthropicUsage(raw)) return fromAnthropicUsage(raw)
  if ('input_tokens_details' in raw || 'total_tokens' in raw) return fromOpenAIResponsesUsage(raw)
  if ('input_tokens' in raw || 'output_tokens' in raw) return fromAnthropicUsage(raw)
  throw new InvalidOptionsError('usage', 'is not a recognised usage object')
}

/** A count as `normalizeUsage` keeps it unchanged: a non-negative safe integer. */
const isCount = (value: unknown): boolean =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0

/** An optional count `normalizeUsage` keeps unchanged for pricing: absent, or a count. */
const isOptionalCount = (value: unknown): boolean => value === undefined || isCount(value)

/** An optional label `normalizeUsage` keeps unchanged for pricing: absent, or a string. */
const isOptionalLabel = (value: unknown): boolean =>
  value === undefined || typeof value === 'string'

/** `true` when every key of `raw` with a value is a `Usage` key (else `normalizeUsage` refuses it). */
function onlyUsageKeys(raw: Rec): boolean {
  for (const key in raw) if (!USAGE_KEYS.has(key) && raw[key] !== undefined) return false
  return true
}

/**
 * `raw` itself when it already is a valid `Usage` (every count a non-negative integer, the tier
 * one of the four): pricing reads it as it would read `normalizeUsage(raw)`, without the copy.
 * Anything else: `normalizeUsage(raw)` (same result, same errors). For readers that only price it
 * (`priceOf` runs on every metered call, nearly always with a `Usage` this package made).
 */
export function usageForPricing(raw: unknown): Usage {
  if (isRec(raw) && 'inputTokens' in raw) {
    const tier = raw.serviceTier
    if (
      isCount(raw.inputTokens) &&
      isCount(raw.outputTokens) &&
      isOptionalCount(raw.cacheReadTokens) &&
      isOptionalCount(raw.cacheWrite5mTokens) &&
      isOptionalCount(raw.cacheWrite1hTokens) &&
      isOptionalCount(raw.reasoningTokens) &&
      isOptionalCount(raw.webSearchRequests) &&
      isOptionalCount(raw.webSearchPreviewRequests) &&
      isOptionalCount(raw.fileSearchCalls) &&
      isOptionalCount(raw.codeInterpreterContainers) &&
      ((raw.webSearchPreviewRequests as number | undefined) ?? 0) <=
        ((raw.webSearchRequests as number | undefined) ?? 0) &&
      isOptionalLabel(raw.speed) &&
      isOptionalLabel(raw.inferenceGeo) &&
      // Compaction steps are checked (and copied) by `normalizeUsage`: rare, not the fast path.
      raw.compactions === undefined &&
      (tier === undefined || (typeof tier === 'string' && toServiceTier(tier) === tier)) &&
      onlyUsageKeys(raw)
    ) {
      return raw as unknown as Usage
    }
  }
  return normalizeUsage(raw)
}

/**
 * The request's whole input: plain input + cache writes + cache reads (decides long-context
 * tiers). Of the counts given: a `Usage`'s `compactions` are separate requests, not counted.
 */
export function totalInputTokens(u: Usage | UsageStep): number {
  return (
    u.inputTokens +
    (u.cacheReadTokens ?? 0) +
    (u.cacheWrite5mTokens ?? 0) +
    (u.cacheWrite1hTokens ?? 0)
  )
}
