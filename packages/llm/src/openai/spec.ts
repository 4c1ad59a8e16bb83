/**
 * @module openai/spec
 * OpenAI Chat Completions (`chat.completions.create`) and Responses (`responses.create`) as the
 * engine sees them.
 */
import { prepareOpenAIStreamParams } from '@aikit/cost'
import { APIConnectionTimeoutError, APIUserAbortError, OpenAIError } from 'openai/core/error'
import { Stream } from 'openai/core/streaming'
import { argumentsText, withCallTexts } from '../shared/call-texts.js'
import { chatReplayable, responsesReplayable } from '../shared/replayable.js'
import {
  type ApiSpec,
  applyMessages,
  isRec,
  roleMessages,
  type StreamClass,
} from '../shared/spec.js'
import { dataEvent, namedEvent } from '../shared/sse-format.js'
import type { GuardMessage } from '../shared/types.js'
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

/**
 * Where a Responses output item calling a tool holds its arguments, by item type: a function's
 * and an MCP tool's JSON `arguments` (an MCP approval request's too: shown to the user, sent to
 * the MCP server once approved), a custom tool's free-form `input`.
 */
const CALL_ARGUMENTS: Readonly<Record<string, string>> = {
  function_call: 'arguments',
  mcp_call: 'arguments',
  mcp_approval_request: 'arguments',
  custom_tool_call: 'input',
}

/** The stream events carrying those arguments, in deltas keyed by `output_index`. */
const CALL_ARGUMENT_DELTAS: ReadonlySet<string> = new Set([
  'response.function_call_arguments.delta',
  'response.mcp_call_arguments.delta',
  'response.custom_tool_call_input.delta',
])

/**
 * Where the other tool calls hold what the model wrote for the tool to run (the app or OpenAI runs
 * it, a web search's query goes out to the web): a `shell_call`'s `action.commands`, a
 * `local_shell_call`'s `action.command`, a `computer_call`'s `action` or batched `actions` (the
 * text it types), an `apply_patch_call`'s `operation` (its diff), a `web_search_call`'s `action`
 * (its query, the URL it opens), a `file_search_call`'s `queries`, a `code_interpreter_call`'s and
 * a `program`'s `code`, a `tool_search_call`'s `arguments`. Read in this order, each field as JSON
 * (a string as it is): never the tool's output (`outputs`, `results`, an image's `result`), which
 * the model did not write.
 */
const CALL_INPUT_FIELDS = [
  'action',
  'actions',
  'operation',
  'code',
  'input',
  'arguments',
  'queries',
] as const

/**
 * The text the guard reads of one Responses output item that runs something: a tool call (any
 * `*_call`, `CALL_ARGUMENTS` or `CALL_INPUT_FIELDS`) or a `program` (JavaScript run by
 * programmatic tool calling); `undefined` for any other item (a message, a reasoning item).
 */
function callText(item: unknown): string | undefined {
  if (!isRec(item) || typeof item.type !== 'string') return undefined
  if (Object.hasOwn(CALL_ARGUMENTS, item.type)) {
    return argumentsText(item[CALL_ARGUMENTS[item.type] as string])
  }
  if (!item.type.endsWith('_call') && item.type !== 'program') return undefined
  return CALL_INPUT_FIELDS.map((field) => argumentsText(item[field]))
    .filter((text) => text !== '')
    .join('\n')
}

/** The answer text of a Responses object, then its tool calls' texts (see `call-texts.ts`). */
function responseTexts(data: unknown): string[] {
  const calls: string[] = []
  if (isRec(data) && Array.isArray(data.output)) {
    for (const item of data.output) {
      const text = callText(item)
      if (text !== undefined) calls.push(text)
    }
  }
  return [withCallTexts(responseText(data), calls)]
}

/**
 * The text of recorded Responses stream events: the `output_text` deltas joined, then each tool
 * call's text per `output_index`, once: its argument deltas joined, else the item of its
 * `response.output_item.done` event (a shell, computer, apply-patch, web search or code call
 * streams no argument deltas), else its item in the final event's `response.output`.
 */
function streamedResponseTexts(events: readonly unknown[]): string[] {
  let text = ''
  const deltas = new Map<number, string>()
  const items = new Map<number, string>()
  for (const e of events) {
    if (!isRec(e)) continue
    if (typeof e.delta === 'string') {
      if (e.type === 'response.output_text.delta') text += e.delta
      else if (typeof e.type === 'string' && CALL_ARGUMENT_DELTAS.has(e.type)) {
        const index = typeof e.output_index === 'number' ? e.output_index : -1
        deltas.set(index, (deltas.get(index) ?? '') + e.delta)
      }
    } else if (e.type === 'response.output_item.done' && typeof e.output_index === 'number') {
      // A function call's item comes after its deltas: already read.
      if (deltas.has(e.output_index)) continue
      const call = callText(e.item)
      if (call !== undefined) items.set(e.output_index, call)
    }
  }
  // The final event's `response.output` holds every item: a call whose events were not seen.
  const last = events[events.length - 1]
  if (isRec(last) && isRec(last.response) && Array.isArray(last.response.output)) {
    last.response.output.forEach((item: unknown, index: number) => {
      if (deltas.has(index) || items.has(index)) return
      const call = callText(item)
      if (call !== undefined) items.set(index, call)
    })
  }
  for (const [index, args] of deltas) items.set(index, argumentsText(args))
  return [
    withCallTexts(
      text,
      [...items.entries()].sort((a, b) => a[0] - b[0]).map(([, call]) => call)
    ),
  ]
}

/**
 * The items of a Responses `input` list the guard reads: every object, a tool loop's role-less
 * `function_call_output` (a tool's output, the usual carrier of an indirect injection) and the
 * rest as well as the messages; `@aikit/security`'s `promptGuard` reads each item by its `type`.
 */
function inputItems(input: unknown): GuardMessage[] {
  if (!Array.isArray(input)) return []
  return input.filter((item) => isRec(item)) as GuardMessage[]
}

export const openaiResponses: ApiSpec = {
  provider: 'openai',
  api: 'openai-responses',
  method: 'responses.create',
  estimate: responsesEstimate,
  guardInput: (params) => {
    if (typeof params.input === 'string') return params.input
    const items = inputItems(params.input)
    return items.length > 0 ? items : undefined
  },
  applyGuard: (params, verdict) =>
    typeof params.input === 'string'
      ? verdict.text === params.input
        ? params
        : { ...params, input: verdict.text }
      : applyMessages(params, 'input', verdict),
  // Tool calls are output too (the app runs them): the guard reads their arguments with the text.
  outputTexts: responseTexts,
  streamTexts: streamedResponseTexts,
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
