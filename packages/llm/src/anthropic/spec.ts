/**
 * @module anthropic/spec
 * Anthropic Messages (`messages.create`) as the engine sees it.
 */
import {
  AnthropicError,
  APIConnectionTimeoutError,
  APIUserAbortError,
} from '@anthropic-ai/sdk/core/error'
import { Stream } from '@anthropic-ai/sdk/core/streaming'
import { argumentsText, withCallTexts } from '../shared/call-texts.js'
import { anthropicReplayable } from '../shared/replayable.js'
import {
  type ApiSpec,
  applyMessages,
  isRec,
  roleMessages,
  STREAM_CUT,
  STREAM_UNSTORED,
  STREAM_WHOLE,
  type StreamClass,
} from '../shared/spec.js'
import { namedEvent } from '../shared/sse-format.js'
import { anthropicEstimate, anthropicLimitOutput } from './estimate.js'

const textOf = (blocks: unknown): string =>
  Array.isArray(blocks)
    ? blocks
        .filter((b) => isRec(b) && b.type === 'text' && typeof b.text === 'string')
        .map((b) => (b as { text: string }).text)
        .join('')
    : ''

/**
 * Whether a content block is the model calling a tool: `tool_use`, and the beta `server_tool_use`
 * (a web search's query goes out too) and `mcp_tool_use`.
 */
const isToolUse = (block: unknown): block is Record<string, unknown> =>
  isRec(block) && typeof block.type === 'string' && block.type.endsWith('tool_use')

/** The answer's text, then each tool call's `input` as JSON (see `call-texts.ts`). */
const answerText = (blocks: unknown): string =>
  withCallTexts(
    textOf(blocks),
    Array.isArray(blocks) ? blocks.filter(isToolUse).map((b) => argumentsText(b.input)) : []
  )

/**
 * The text of recorded stream events: the `text_delta`s joined, then each tool call's input, its
 * `input_json_delta`s joined per block `index` (after the `input` its `content_block_start`
 * carries, `{}` as sent).
 */
function streamedText(events: readonly unknown[]): string {
  let text = ''
  const calls = new Map<number, string>()
  for (const e of events) {
    if (!isRec(e)) continue
    const index = typeof e.index === 'number' ? e.index : -1
    if (e.type === 'content_block_start' && isToolUse(e.content_block)) {
      const input = e.content_block.input
      // A start event's input is `{}`: the input comes in deltas.
      const start = isRec(input) && Object.keys(input).length === 0 ? '' : argumentsText(input)
      calls.set(index, start)
    } else if (e.type === 'content_block_delta' && isRec(e.delta)) {
      if (typeof e.delta.text === 'string') text += e.delta.text
      else if (typeof e.delta.partial_json === 'string') {
        calls.set(index, (calls.get(index) ?? '') + e.delta.partial_json)
      }
    }
  }
  return withCallTexts(
    text,
    [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, json]) => argumentsText(json))
  )
}

export const anthropicMessages: ApiSpec = {
  provider: 'anthropic',
  api: 'anthropic',
  method: 'messages.create',
  estimate: anthropicEstimate,
  guardInput: (params) => {
    const messages = roleMessages(params.messages)
    return messages.length > 0 ? messages : undefined
  },
  applyGuard: (params, verdict) => applyMessages(params, 'messages', verdict),
  // Tool calls are output too (the app runs them): the guard reads their input with the text.
  outputTexts: (data) => [isRec(data) ? answerText(data.content) : ''],
  streamTexts: (events) => [streamedText(events)],
  // An in-stream `error` event makes the SDK throw: a stream that ran to its end either has its
  // `message_stop` or was cut.
  streamEnd: (events) => {
    const last = events[events.length - 1]
    if (!isRec(last) || last.type !== 'message_stop') return STREAM_CUT
    // The stop reason is in the last `message_delta`: a refusal or a paused turn is no answer to
    // replay.
    for (let i = events.length - 2; i >= 0; i--) {
      const e = events[i]
      if (!isRec(e) || e.type !== 'message_delta') continue
      const delta = isRec(e.delta) ? e.delta : undefined
      return anthropicReplayable(delta?.stop_reason) ? STREAM_WHOLE : STREAM_UNSTORED
    }
    return STREAM_UNSTORED
  },
  // The stop reason comes in the last `message_delta` (with the output usage): only
  // `message_stop` follows it.
  answered: (events) => {
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i]
      if (!isRec(e)) continue
      if (e.type === 'message_delta')
        return isRec(e.delta) && typeof e.delta.stop_reason === 'string'
      if (e.type !== 'message_stop') return false
    }
    return false
  },
  replayable: (data) => isRec(data) && anthropicReplayable(data.stop_reason),
  limitOutput: anthropicLimitOutput,
  prepareStream: (params) => ({ params, hideUsageChunk: false }),
  encodeEvent: namedEvent,
  sseTail: '',
  StreamClass: Stream as unknown as StreamClass,
  AbortError: APIUserAbortError,
  TimeoutError: APIConnectionTimeoutError,
  BaseError: AnthropicError,
}

/**
 * Anthropic Messages on its beta route (`beta.messages.create`: sent with the SDK's `beta`
 * qualifier, which client middleware acts on, its `betas` param as the `anthropic-beta` header):
 * the same request and answer shapes; `betas` is a param, so part of the key, and the route is
 * part of every key too (`endpoint`).
 */
export const anthropicBetaMessages: ApiSpec = {
  ...anthropicMessages,
  method: 'beta.messages.create',
  endpoint: 'beta',
}
