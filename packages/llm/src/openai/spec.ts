/**
 * @module openai/spec
 * OpenAI Chat Completions (`chat.completions.create`) and Responses (`responses.create`) as the
 * engine sees them.
 */
import { type MessageLike, prepareOpenAIStreamParams } from '@aikit/cost'
import { APIConnectionTimeoutError, APIUserAbortError, OpenAIError } from 'openai/core/error'
import { Stream } from 'openai/core/streaming'
import { chatReplayable, responsesReplayable } from '../shared/replayable.js'
import {
  type ApiSpec,
  applyMessages,
  estimateMessages,
  isRec,
  maxTokens,
  type RequestEstimate,
  roleMessages,
  type StreamClass,
  withOutputSchema,
} from '../shared/spec.js'
import { dataEvent, namedEvent } from '../shared/sse-format.js'
import { choiceTexts, streamedChoiceTexts } from './chat-choices.js'
import { chatStreamEnd } from './chat-end.js'
import { responsesStreamEnd } from './responses-end.js'

const StreamCtor = Stream as unknown as StreamClass

/**
 * The rates a request's `service_tier` bills it at when they differ from the standard ones:
 * `'priority'` or `'flex'`. `'auto'` and `'default'` (and no tier) are held at the standard rates.
 */
const tierOf = (params: Record<string, unknown>): 'priority' | 'flex' | undefined =>
  params.service_tier === 'priority' || params.service_tier === 'flex'
    ? params.service_tier
    : undefined

/**
 * `estimate` with the request's tools, structured-output schema (`format`: Chat's
 * `response_format`, Responses' `text.format`: billed as input) and tier, when it has them.
 */
function withToolsAndTier(
  estimate: RequestEstimate,
  params: Record<string, unknown>,
  format: unknown
): RequestEstimate {
  if (Array.isArray(params.tools)) estimate.tools = params.tools
  withOutputSchema(estimate, format)
  const tier = tierOf(params)
  if (tier !== undefined) estimate.serviceTier = tier
  return estimate
}

export const openaiChat: ApiSpec = {
  provider: 'openai',
  api: 'openai-chat',
  method: 'chat.completions.create',
  estimate: (params, defaultMax) =>
    withToolsAndTier(
      {
        model: typeof params.model === 'string' ? params.model : '',
        messages: estimateMessages(params.messages),
        // `n` choices are each up to the limit long: the provider bills all of them.
        maxOutputTokens:
          maxTokens(params.max_completion_tokens ?? params.max_tokens, defaultMax) *
          maxTokens(params.n, 1),
      },
      params,
      params.response_format
    ),
  guardInput: (params) => {
    const messages = roleMessages(params.messages)
    return messages.length > 0 ? messages : undefined
  },
  applyGuard: (params, verdict) => applyMessages(params, 'messages', verdict),
  // Every choice is returned to the caller: the guard checks each one.
  outputTexts: choiceTexts,
  streamTexts: streamedChoiceTexts,
  streamEnd: chatStreamEnd,
  replayable: chatReplayable,
  // Without a limit, an answer can run to the model's maximum output: far past the one reserved.
  limitOutput: (params, max) =>
    params.max_completion_tokens == null && params.max_tokens == null
      ? { ...params, max_completion_tokens: max }
      : params,
  prepareStream: (params) => prepareOpenAIStreamParams(params),
  // As `prepareOpenAIStreamParams`: hidden unless the caller asked for usage.
  hidesUsage: (params) =>
    !(isRec(params.stream_options) && params.stream_options.include_usage === true),
  encodeEvent: dataEvent,
  sseTail: 'data: [DONE]\n\n',
  StreamClass: StreamCtor,
  AbortError: APIUserAbortError,
  TimeoutError: APIConnectionTimeoutError,
  BaseError: OpenAIError,
}

/**
 * The Responses `input` as the estimator counts it: a string as one user message, else every
 * object item. Items without a `role` carry tokens too (a `function_call`'s arguments, a
 * `function_call_output`'s output: a tool's result can be the bulk of the input), and
 * `estimateTokens` counts them.
 */
function responsesInput(params: Record<string, unknown>): readonly MessageLike[] {
  const input = params.input
  if (typeof input === 'string') return [{ role: 'user', content: input }]
  if (!Array.isArray(input)) return []
  // The array itself when every item is an object (nearly always): no copy per metered call.
  for (const item of input as unknown[]) {
    if (!isRec(item)) return (input as unknown[]).filter(isRec) as unknown as MessageLike[]
  }
  return input as MessageLike[]
}

/** The answer text of a Responses object: its `output_text`, else its `output_text` parts. */
function responseText(data: unknown): string {
  if (!isRec(data)) return ''
  if (typeof data.output_text === 'string') return data.output_text
  if (!Array.isArray(data.output)) return ''
  return data.output
    .flatMap((item) => (isRec(item) && Array.isArray(item.content) ? item.content : []))
    .map((part) =>
      isRec(part) && part.type === 'output_text' && typeof part.text === 'string' ? part.text : ''
    )
    .join('')
}

export const openaiResponses: ApiSpec = {
  provider: 'openai',
  api: 'openai-responses',
  method: 'responses.create',
  estimate: (params, defaultMax) =>
    withToolsAndTier(
      {
        model: typeof params.model === 'string' ? params.model : '',
        messages: responsesInput(params),
        system: params.instructions,
        maxOutputTokens: maxTokens(params.max_output_tokens, defaultMax),
      },
      params,
      isRec(params.text) ? params.text.format : undefined
    ),
  guardInput: (params) => {
    if (typeof params.input === 'string') return params.input
    const messages = roleMessages(params.input)
    return messages.length > 0 ? messages : undefined
  },
  applyGuard: (params, verdict) =>
    typeof params.input === 'string'
      ? verdict.text === params.input
        ? params
        : { ...params, input: verdict.text }
      : applyMessages(params, 'input', verdict),
  outputTexts: (data) => [responseText(data)],
  streamTexts: (events) => [
    events
      .map((e) =>
        isRec(e) && e.type === 'response.output_text.delta' && typeof e.delta === 'string'
          ? e.delta
          : ''
      )
      .join(''),
  ],
  streamEnd: responsesStreamEnd,
  replayable: responsesReplayable,
  limitOutput: (params, max) =>
    params.max_output_tokens == null ? { ...params, max_output_tokens: max } : params,
  prepareStream: (params) => ({ params, hideUsageChunk: false }),
  encodeEvent: namedEvent,
  sseTail: '',
  StreamClass: StreamCtor,
  AbortError: APIUserAbortError,
  TimeoutError: APIConnectionTimeoutError,
  BaseError: OpenAIError,
}

/**
 * OpenAI Responses on its beta route (`beta.responses.create`: `/responses?beta=true`, its `betas`
 * param sent as the `openai-beta` header): the same request and answer shapes; `betas` is a param,
 * so part of the key, and the route is part of every key too (`endpoint`).
 */
export const openaiBetaResponses: ApiSpec = {
  ...openaiResponses,
  method: 'beta.responses.create',
  endpoint: 'beta',
}
