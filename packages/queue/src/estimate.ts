/**
 * @module estimate
 * The worst case a job holds on the budget from enqueue to completion: estimated input tokens
 * plus the request's output limit (or `defaultMaxOutputTokens` when it sets none).
 */
import type { BudgetEstimate, MessageLike } from '@aikit/cost'
import type { LlmApi } from './types.js'

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v)

function roleMessages(value: unknown): MessageLike[] {
  if (typeof value === 'string') return [{ role: 'user', content: value }]
  if (!Array.isArray(value)) return []
  return value.filter((m): m is MessageLike => isRec(m) && typeof m.role === 'string')
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined
}

/** The budget estimate of a job's params; `ttlMs` is how long the hold lives. */
export function budgetEstimate(
  api: LlmApi,
  params: Rec,
  defaultMaxOutputTokens: number,
  ttlMs: number
): BudgetEstimate {
  const model = typeof params.model === 'string' ? params.model : ''
  if (api === 'messages') {
    return {
      model,
      messages: roleMessages(params.messages),
      system: params.system,
      ...(Array.isArray(params.tools) ? { tools: params.tools } : {}),
      maxOutputTokens: positive(params.max_tokens) ?? defaultMaxOutputTokens,
      ttl: ttlMs,
    }
  }
  if (api === 'chat') {
    return {
      model,
      messages: roleMessages(params.messages),
      ...(Array.isArray(params.tools) ? { tools: params.tools } : {}),
      maxOutputTokens:
        positive(params.max_completion_tokens) ??
        positive(params.max_tokens) ??
        defaultMaxOutputTokens,
      ttl: ttlMs,
    }
  }
  return {
    model,
    messages: roleMessages(params.input),
    system: params.instructions,
    ...(Array.isArray(params.tools) ? { tools: params.tools } : {}),
    maxOutputTokens: positive(params.max_output_tokens) ?? defaultMaxOutputTokens,
    ttl: ttlMs,
  }
}
