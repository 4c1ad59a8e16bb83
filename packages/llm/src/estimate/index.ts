/**
 * @module @aikit/llm/estimate
 * The worst case of a request as the wrapped clients hold it on a budget, for a caller that holds
 * the budget itself for a call made elsewhere (`@aikit/queue` holds a job's from enqueue to
 * completion): the same estimate, so both hold the same amount. No SDK is imported.
 */
import { InvalidOptionsError } from '@aikit/core'
import type { UsageApi } from '@aikit/cost'
import { anthropicEstimate, anthropicLimitOutput } from '../anthropic/estimate.js'
import {
  chatEstimate,
  chatLimitOutput,
  responsesEstimate,
  responsesLimitOutput,
} from '../openai/estimate.js'
import type { Params, RequestEstimate } from '../shared/spec.js'

export type { RequestEstimate }

const APIS = {
  anthropic: { estimate: anthropicEstimate, limitOutput: anthropicLimitOutput },
  'openai-chat': { estimate: chatEstimate, limitOutput: chatLimitOutput },
  'openai-responses': { estimate: responsesEstimate, limitOutput: responsesLimitOutput },
} as const satisfies Record<UsageApi, unknown>

function check(api: unknown, params: unknown, maxOutputTokens: unknown): (typeof APIS)[UsageApi] {
  const spec =
    typeof api === 'string' && Object.hasOwn(APIS, api) ? APIS[api as UsageApi] : undefined
  if (spec === undefined) {
    throw new InvalidOptionsError('api', "must be 'anthropic', 'openai-chat' or 'openai-responses'")
  }
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new InvalidOptionsError('params', 'must be an object')
  }
  if (!Number.isSafeInteger(maxOutputTokens) || (maxOutputTokens as number) <= 0) {
    throw new InvalidOptionsError('defaultMaxOutputTokens', 'must be a positive integer')
  }
  return spec
}

/**
 * The budget estimate of a request (a `BudgetEstimate` of `@aikit/cost`, without its `ttl`):
 * model, messages, system and tools, the output worst case (`defaultMaxOutputTokens` when the
 * request sets no limit; times `n` for Chat), the OpenAI `service_tier`, the Anthropic cache
 * writes, `speed` and `inference_geo`, and a structured output's schema. Its `messages` may be the
 * request's own array: read it, do not change it.
 * @throws InvalidOptionsError for an unknown `api`, non-object `params` or a bad limit.
 * @example
 * await budget.reserve(subject, { ...estimateRequest('openai-chat', params, 4096), ttl: '10m' })
 */
export function estimateRequest(
  api: UsageApi,
  params: object,
  defaultMaxOutputTokens: number
): RequestEstimate {
  return check(api, params, defaultMaxOutputTokens).estimate(
    params as Params,
    defaultMaxOutputTokens
  )
}

/**
 * The params to send after holding `estimateRequest(api, params, defaultMaxOutputTokens)`: with
 * that limit when the request sets none (`max_completion_tokens` for Chat, `max_output_tokens`
 * for Responses; Anthropic requires `max_tokens`), so no answer costs more than was held. The
 * same object when nothing is added.
 * @throws InvalidOptionsError as `estimateRequest`.
 */
export function withHeldLimit<P extends object>(
  api: UsageApi,
  params: P,
  defaultMaxOutputTokens: number
): P {
  const spec = check(api, params, defaultMaxOutputTokens)
  return spec.limitOutput(params as Params, defaultMaxOutputTokens) as P
}
