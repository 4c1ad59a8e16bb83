/**
 * @module estimate
 * The worst case a job holds on the budget from enqueue to completion: estimated input tokens
 * plus the request's output limit (or `defaultMaxOutputTokens` when it sets none, then sent as the
 * request's limit: `withHeldLimit`), priced as the call will be billed. It mirrors `@aikit/llm`'s
 * estimates (its `openai/spec.ts`, `anthropic/spec.ts`), which it does not export: OpenAI's
 * `service_tier` rates, every Responses input item (a tool's output can be the bulk of the input),
 * and Anthropic's cache writes (`cache_control`: the input held at the cache-write price).
 */
import type { BudgetEstimate, MessageLike } from '@aikit/cost'
import type { LlmApi } from './types.js'

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Chat / Messages messages: the array itself when every item has a role, else those that do. */
function roleMessages(value: unknown): MessageLike[] {
  if (typeof value === 'string') return [{ role: 'user', content: value }]
  if (!Array.isArray(value)) return []
  return value.filter((m): m is MessageLike => isRec(m) && typeof m.role === 'string')
}

/**
 * The Responses `input`: a string as one user message, else every object item (items without a
 * `role`, a `function_call`'s arguments or a `function_call_output`'s output, carry tokens too).
 */
function responsesInput(value: unknown): MessageLike[] {
  if (typeof value === 'string') return [{ role: 'user', content: value }]
  if (!Array.isArray(value)) return []
  return value.filter(isRec) as unknown as MessageLike[]
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined
}

/** The rates an OpenAI `service_tier` bills at when they are not the standard ones. */
const tierOf = (params: Rec): 'priority' | 'flex' | undefined =>
  params.service_tier === 'priority' || params.service_tier === 'flex'
    ? params.service_tier
    : undefined

type CacheTtl = '5m' | '1h' | undefined
const longest = (a: CacheTtl, b: CacheTtl): CacheTtl => (a === '1h' || b === '1h' ? '1h' : (a ?? b))
function blockTtl(block: unknown): CacheTtl {
  if (!isRec(block) || !isRec(block.cache_control)) return undefined
  return block.cache_control.ttl === '1h' ? '1h' : '5m'
}
function blocksTtl(blocks: unknown, nested: boolean): CacheTtl {
  if (!Array.isArray(blocks)) return undefined
  let ttl: CacheTtl
  for (const block of blocks as unknown[]) {
    ttl = longest(ttl, blockTtl(block))
    // A tool result's own content blocks may carry a breakpoint too.
    if (nested && isRec(block) && block.type === 'tool_result') {
      ttl = longest(ttl, blocksTtl(block.content, false))
    }
  }
  return ttl
}

/**
 * The longest cache-write TTL an Anthropic request asks for (a `cache_control` breakpoint on the
 * request, a system block, a tool, a message's block or a tool result's inner block): `'1h'`,
 * `'5m'`, or `undefined` for no cache write.
 */
export function cacheWriteOf(params: Rec): CacheTtl {
  let ttl = longest(blockTtl(params), blocksTtl(params.system, false))
  ttl = longest(ttl, blocksTtl(params.tools, false))
  if (Array.isArray(params.messages)) {
    for (const message of params.messages as unknown[]) {
      if (isRec(message)) ttl = longest(ttl, blocksTtl(message.content, true))
    }
  }
  return ttl
}

/** The request's own output limit, if it sets one. */
function ownOutputLimit(api: LlmApi, params: Rec): number | undefined {
  if (api === 'messages') return positive(params.max_tokens)
  if (api === 'chat') return positive(params.max_completion_tokens) ?? positive(params.max_tokens)
  return positive(params.max_output_tokens)
}

/** The budget estimate of a job's params; `ttlMs` is how long the hold lives. */
export function budgetEstimate(
  api: LlmApi,
  params: Rec,
  defaultMaxOutputTokens: number,
  ttlMs: number
): BudgetEstimate {
  const model = typeof params.model === 'string' ? params.model : ''
  const maxOutputTokens = ownOutputLimit(api, params) ?? defaultMaxOutputTokens
  const tools = Array.isArray(params.tools) ? { tools: params.tools } : {}
  if (api === 'messages') {
    const cacheWrite = cacheWriteOf(params)
    return {
      model,
      messages: roleMessages(params.messages),
      system: params.system,
      ...tools,
      maxOutputTokens,
      ...(cacheWrite === undefined ? {} : { cacheWrite }),
      ttl: ttlMs,
    }
  }
  const tier = tierOf(params)
  const serviceTier = tier === undefined ? {} : { serviceTier: tier }
  if (api === 'chat') {
    return {
      model,
      messages: roleMessages(params.messages),
      ...tools,
      maxOutputTokens,
      ...serviceTier,
      ttl: ttlMs,
    }
  }
  return {
    model,
    messages: responsesInput(params.input),
    system: params.instructions,
    ...tools,
    maxOutputTokens,
    ...serviceTier,
    ttl: ttlMs,
  }
}

/**
 * The params to send when the hold assumed `defaultMaxOutputTokens` (the request sets no output
 * limit): with that limit, so no answer costs more than was held (`max_completion_tokens` for
 * Chat, `max_output_tokens` for Responses; Anthropic requires `max_tokens` anyway).
 */
export function withHeldLimit(api: LlmApi, params: Rec, defaultMaxOutputTokens: number): Rec {
  if (api === 'chat' && params.max_completion_tokens == null && params.max_tokens == null) {
    return { ...params, max_completion_tokens: defaultMaxOutputTokens }
  }
  if (api === 'responses' && params.max_output_tokens == null) {
    return { ...params, max_output_tokens: defaultMaxOutputTokens }
  }
  return params
}
