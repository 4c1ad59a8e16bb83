/**
 * @module openai/estimate
 * The worst case of an OpenAI Chat Completions or Responses request, as the budget holds it, and
 * the params that keep its answer within what was held. No SDK import: `@aikit/llm/estimate`
 * serves it to callers that hold a budget for a call made elsewhere (`@aikit/queue`).
 */
import type { MessageLike } from '@aikit/cost'
import {
  estimateMessages,
  isRec,
  maxTokens,
  type Params,
  type RequestEstimate,
  withOutputSchema,
} from '../shared/spec.js'

/**
 * The rates a request's `service_tier` bills it at when they differ from the standard ones:
 * `'priority'` or `'flex'`. `'auto'` and `'default'` (and no tier) are held at the standard rates.
 */
const tierOf = (params: Params): 'priority' | 'flex' | undefined =>
  params.service_tier === 'priority' || params.service_tier === 'flex'
    ? params.service_tier
    : undefined

/**
 * `estimate` with the request's tools, structured-output schema (`format`: Chat's
 * `response_format`, Responses' `text.format`: billed as input) and tier, when it has them.
 */
function withToolsAndTier(
  estimate: RequestEstimate,
  params: Params,
  format: unknown
): RequestEstimate {
  if (Array.isArray(params.tools)) estimate.tools = params.tools
  withOutputSchema(estimate, format)
  const tier = tierOf(params)
  if (tier !== undefined) estimate.serviceTier = tier
  return estimate
}

/** A Chat Completions request's model, messages and output worst case. */
export const chatEstimate = (params: Params, defaultMax: number): RequestEstimate =>
  withToolsAndTier(
    {
      model: typeof params.model === 'string' ? params.model : '',
      messages: estimateMessages(params.messages),
      // `n` choices are each up to the limit long: the provider bills all of them. Both are the end
      // user's: the product is capped to a safe integer (the budget refuses it as over budget, 402;
      // past 2^53 it would refuse `maxOutputTokens` as a bad option, 500).
      maxOutputTokens: Math.min(
        maxTokens(params.max_completion_tokens ?? params.max_tokens, defaultMax) *
          maxTokens(params.n, 1),
        Number.MAX_SAFE_INTEGER
      ),
    },
    params,
    params.response_format
  )

/** Without a limit, an answer can run to the model's maximum output: far past the one reserved. */
export const chatLimitOutput = (params: Params, max: number): Params =>
  params.max_completion_tokens == null && params.max_tokens == null
    ? { ...params, max_completion_tokens: max }
    : params

/**
 * The Responses `input` as the estimator counts it: a string as one user message, else every
 * object item. Items without a `role` carry tokens too (a `function_call`'s arguments, a
 * `function_call_output`'s output: a tool's result can be the bulk of the input), and
 * `estimateTokens` counts them.
 */
function responsesInput(params: Params): readonly MessageLike[] {
  const input = params.input
  if (typeof input === 'string') return [{ role: 'user', content: input }]
  if (!Array.isArray(input)) return []
  // The array itself when every item is an object (nearly always): no copy per metered call.
  for (const item of input as unknown[]) {
    if (!isRec(item)) return (input as unknown[]).filter(isRec) as unknown as MessageLike[]
  }
  return input as MessageLike[]
}

/** A Responses request's model, input, instructions and output worst case. */
export const responsesEstimate = (params: Params, defaultMax: number): RequestEstimate =>
  withToolsAndTier(
    {
      model: typeof params.model === 'string' ? params.model : '',
      messages: responsesInput(params),
      system: params.instructions,
      maxOutputTokens: maxTokens(params.max_output_tokens, defaultMax),
    },
    params,
    isRec(params.text) ? params.text.format : undefined
  )

/** As Chat's: the held limit as `max_output_tokens` when the request sets none. */
export const responsesLimitOutput = (params: Params, max: number): Params =>
  params.max_output_tokens == null ? { ...params, max_output_tokens: max } : params
