/**
 * @module anthropic/estimate
 * The worst case of an Anthropic Messages request, as the budget holds it, and the params that
 * keep its answer within what was held. No SDK import: `@aikit/llm/estimate` serves it to
 * callers that hold a budget for a call made elsewhere (`@aikit/queue`).
 */
import {
  estimateMessages,
  isRec,
  maxTokens,
  type Params,
  type RequestEstimate,
  withOutputSchema,
} from '../shared/spec.js'
import { cacheWriteOf } from './cache-write.js'

/** Model, messages and output worst case (`defaultMax` when the request sets no limit). */
export function anthropicEstimate(params: Params, defaultMax: number): RequestEstimate {
  const estimate: RequestEstimate = {
    model: typeof params.model === 'string' ? params.model : '',
    messages: estimateMessages(params.messages),
    system: params.system,
    maxOutputTokens: maxTokens(params.max_tokens, defaultMax),
  }
  if (Array.isArray(params.tools)) estimate.tools = params.tools
  // Cache writes cost more than plain input: held at the longest TTL's write price.
  const cacheWrite = cacheWriteOf(params)
  if (cacheWrite !== undefined) estimate.cacheWrite = cacheWrite
  // Fast mode and US-only inference multiply every rate: held as the answer will be priced.
  if (typeof params.speed === 'string') estimate.speed = params.speed
  if (typeof params.inference_geo === 'string') estimate.inferenceGeo = params.inference_geo
  // A structured output's schema is billed as input.
  return isRec(params.output_config)
    ? withOutputSchema(estimate, params.output_config.format)
    : estimate
}

/** `max_tokens` is required by the API: a request without it is refused, never billed. */
export const anthropicLimitOutput = (params: Params, _max: number): Params => params
