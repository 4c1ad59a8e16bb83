/**
 * @module openai/spec
 * OpenAI Chat Completions (`chat.completions.create`) and Responses (`responses.create`) as the
 * engine sees them.
 */
import { prepareOpenAIStreamParams } from '@aikit/cost'
import { APIConnectionTimeoutError, APIUserAbortError, OpenAIError } from 'openai/core/error'
import { Stream } from 'openai/core/streaming'
import { chatReplayable, responsesReplayable } from '../shared/replayable.js'
import {
  type ApiSpec,
  applyMessages,
  isRec,
  roleMessages,
  type StreamClass,
} from '../shared/spec.js'
import { dataEvent, namedEvent } from '../shared/sse-format.js'
import { choiceTexts, streamedChoiceTexts } from './chat-choices.js'
import { chatAnswered, chatStreamEnd } from './chat-end.js'
import {
  chatEstimate,
  chatLimitOutput,
  responsesEstimate,
  responsesLimitOutput,
} from './estimate.js'
import { responsesAnswered, responsesStreamEnd } from './responses-end.js'

const StreamCtor = Stream as unknown as StreamClass

export const openaiChat: ApiSpec = {
  provider: 'openai',
  api: 'openai-chat',
  method: 'chat.completions.create',
  estimate: chatEstimate,
  guardInput: (params) => {
    const messages = roleMessages(params.messages)
    return messages.length > 0 ? messages : undefined
  },
  applyGuard: (params, verdict) => applyMessages(params, 'messages', verdict),
  // Every choice is returned to the caller: the guard checks each one.
  outputTexts: choiceTexts,
  streamTexts: streamedChoiceTexts,
  streamEnd: chatStreamEnd,
  answered: chatAnswered,
  replayable: chatReplayable,
  limitOutput: chatLimitOutput,
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
  estimate: responsesEstimate,
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
  answered: responsesAnswered,
  replayable: responsesReplayable,
  limitOutput: responsesLimitOutput,
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
