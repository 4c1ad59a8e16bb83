/**
 * @module stream-usage
 * Usage of a streamed call, from the stream's own events, for all three stream shapes:
 *
 * - Anthropic Messages: `message_start.message.usage` gives input and cache counts;
 *   `message_delta.usage` is CUMULATIVE, so each one replaces the previous values (never summed).
 * - OpenAI Chat Completions: the extra chunk with `choices: []` and `usage` (needs
 *   `stream_options.include_usage`, see `prepareOpenAIStreamParams`).
 * - OpenAI Responses: `response.completed` (or `.incomplete` / `.failed`) carries `response.usage`.
 *   Web searches (billed per call, absent from `usage`) are the `web_search_call` items of that
 *   event's `response.output`, or of the `response.output_item.done` events (one per
 *   `output_index`), whichever counts more: a stream cut short is charged the searches it ran.
 *   Which tool ran them (`web_search_preview` bills more on gpt-4o / gpt-4.1) is read from the
 *   `tools` every response event echoes (`response.created` first, see `isPreviewWebSearch`).
 *   File search calls (`file_search_call` items) and code interpreter containers (the distinct
 *   `container_id`s of `code_interpreter_call` items: billed per container, not per call) are
 *   counted the same way, from the final output or the streamed items, whichever counts more.
 *
 * A stream cut short (client gone, connection dropped) never reports its final usage. It is then
 * charged from what is known: Anthropic's `message_start` input and cache counts, or the caller's
 * `inputTokens` estimate for OpenAI, plus the streamed text (text, thinking and tool-call arguments)
 * counted with `estimateTextTokens`. Such a result has `complete: false` and `usage.estimated: true`.
 *
 * A malformed usage event (a negative or fractional count) never throws: it is ignored, and the
 * result keeps the last valid figures (or the estimate above when none came) with `invalid: true`.
 * The provider has billed the call: a meter that threw would leave it unsettled, charged $0.
 */

import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import type { UsageApi } from './extract.js'
import {
  containerIdOf,
  countCodeInterpreterContainers,
  countContainers,
  countOutputItems,
  isPreviewWebSearch,
  withResponseTier,
  withToolCalls,
  withWebSearches,
} from './extract.js'
import { estimateTextTokens } from './tokens.js'
import {
  fromAnthropicUsage,
  fromOpenAIChatUsage,
  fromOpenAIResponsesUsage,
  type Usage,
} from './usage.js'

/** The stream shapes `createStreamUsage` reads. */
const USAGE_APIS: ReadonlySet<unknown> = new Set<UsageApi>([
  'anthropic',
  'openai-chat',
  'openai-responses',
])

/** The keys of `StreamUsageOptions`: any other key is refused. */
export const STREAM_USAGE_OPTION_KEYS = [
  'model',
  'inputTokens',
] as const satisfies readonly (keyof StreamUsageOptions)[]

/**
 * Validates `createStreamUsage`'s arguments (`known`: the option keys accepted); throws
 * `InvalidOptionsError` naming the field. A wrong `api` would read no usage at all (the call then
 * settles on an estimate), a misspelt `inputTokens` would estimate a cut OpenAI stream's input at 0.
 */
export function checkStreamUsageArgs(
  api: unknown,
  options: unknown,
  known: readonly string[] = STREAM_USAGE_OPTION_KEYS
): void {
  if (!USAGE_APIS.has(api)) {
    throw new InvalidOptionsError('api', "must be 'anthropic', 'openai-chat' or 'openai-responses'")
  }
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object { model?, inputTokens? }')
  }
  rejectUnknownOptions(options, known)
  const { model, inputTokens } = options as StreamUsageOptions
  if (model !== undefined && typeof model !== 'string') {
    throw new InvalidOptionsError('model', 'must be a string')
  }
  if (inputTokens !== undefined && (!Number.isSafeInteger(inputTokens) || inputTokens < 0)) {
    throw new InvalidOptionsError('inputTokens', 'must be a non-negative integer')
  }
}

/** Options of `createStreamUsage`. */
export interface StreamUsageOptions {
  /** Model asked for; used until the stream names the model it runs. Default `''`. */
  model?: string
  /**
   * Input tokens estimated before the call (e.g. `estimateTokens`); charged when an OpenAI stream
   * ends without its usage. Default 0.
   */
  inputTokens?: number
}

/** The usage of a stream so far. */
export interface StreamUsageResult {
  /** The model the stream reported (else the `model` option). */
  readonly model: string
  readonly usage: Usage
  /** `true` once the provider's final usage arrived. */
  readonly complete: boolean
  /**
   * `true` when the stream carried a malformed usage (a negative or non-integer count): it was
   * ignored, and `usage` is the last valid one (or the estimate, `complete: false`). Default `false`.
   */
  readonly invalid: boolean
}

/** Accumulates one stream's usage: `push` every event or chunk, read `result()` at any time. */
export interface StreamUsage {
  push(event: unknown): void
  result(): StreamUsageResult
  /** `true` once the provider's final usage arrived. */
  readonly complete: boolean
}

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v)

/** `read(raw)`, or `undefined` when the usage is malformed (the converters throw on a bad count). */
function validUsage(read: (raw: Rec) => Usage, raw: Rec): Usage | undefined {
  try {
    return read(raw)
  } catch {
    return undefined
  }
}

/** Creates a usage accumulator for one stream of `api`. */
export function createStreamUsage(api: UsageApi, options: StreamUsageOptions = {}): StreamUsage {
  checkStreamUsageArgs(api, options)
  let model = options.model ?? ''
  const inputEstimate = options.inputTokens ?? 0
  const text: string[] = []
  let anthropicRaw: Rec | undefined
  let final: Usage | undefined
  let tier: unknown
  let invalid = false
  /** OpenAI Responses: the output indexes of the `web_search_call` items streamed as done. */
  const searchesDone = new Set<unknown>()
  /** OpenAI Responses: `web_search_call` items in the final event's `response.output`. */
  let searchesInOutput = 0
  /** OpenAI Responses: the request's `tools` as the last response event echoed them. */
  let tools: unknown
  /** OpenAI Responses: the output indexes of the `file_search_call` items streamed. */
  const filesDone = new Set<unknown>()
  /** OpenAI Responses: `file_search_call` items in the final event's `response.output`. */
  let filesInOutput = 0
  /**
   * OpenAI Responses: the `code_interpreter_call` items streamed, by output index, with their
   * `container_id` (`undefined` until an event names it).
   */
  const containersDone = new Map<unknown, string | undefined>()
  /** OpenAI Responses: containers of the final event's `response.output` (`countCodeInterpreterContainers`). */
  let containersInOutput = 0
  /** The usage `read` finds in `raw`; a malformed one is noted and gives `undefined`. */
  const check = (read: (raw: Rec) => Usage, raw: Rec): Usage | undefined => {
    const usage = validUsage(read, raw)
    if (usage === undefined) invalid = true
    return usage
  }

  const pushAnthropic = (e: Rec): void => {
    if (e.type === 'content_block_delta' && isRec(e.delta)) {
      const d = e.delta
      const piece = d.text ?? d.thinking ?? d.partial_json
      if (typeof piece === 'string') text.push(piece)
    } else if (e.type === 'message_start' && isRec(e.message)) {
      if (typeof e.message.model === 'string') model = e.message.model
      if (isRec(e.message.usage)) {
        // Kept as sent (a later cumulative delta may correct a bad count); checked when read.
        anthropicRaw = { ...e.message.usage }
        check(fromAnthropicUsage, anthropicRaw)
      }
    } else if (e.type === 'message_delta' && isRec(e.usage)) {
      // Cumulative: the latest value of each field wins. A malformed delta is ignored whole: the
      // last valid figures stay.
      const merged: Rec = { ...anthropicRaw }
      for (const [k, v] of Object.entries(e.usage)) if (v !== null && v !== undefined) merged[k] = v
      const usage = check(fromAnthropicUsage, merged)
      if (usage === undefined) return
      anthropicRaw = merged
      final = usage
    }
  }

  const pushChat = (c: Rec): void => {
    if (typeof c.model === 'string') model = c.model
    if (c.service_tier !== undefined && c.service_tier !== null) tier = c.service_tier
    if (Array.isArray(c.choices)) {
      for (const choice of c.choices as unknown[]) {
        const d = isRec(choice) && isRec(choice.delta) ? choice.delta : undefined
        if (!d) continue
        if (typeof d.content === 'string') text.push(d.content)
        if (typeof d.refusal === 'string') text.push(d.refusal)
        if (Array.isArray(d.tool_calls)) {
          for (const call of d.tool_calls as unknown[]) {
            const fn = isRec(call) && isRec(call.function) ? call.function : undefined
            if (typeof fn?.name === 'string') text.push(fn.name)
            if (typeof fn?.arguments === 'string') text.push(fn.arguments)
          }
        }
      }
    }
    if (isRec(c.usage)) {
      const usage = check(fromOpenAIChatUsage, c.usage)
      if (usage !== undefined) final = withResponseTier(usage, tier)
    }
  }

  const pushResponses = (e: Rec): void => {
    const type = typeof e.type === 'string' ? e.type : ''
    if (type.endsWith('.delta') && typeof e.delta === 'string') {
      text.push(e.delta)
      return
    }
    if (
      (type === 'response.output_item.done' || type === 'response.output_item.added') &&
      isRec(e.item)
    ) {
      const key = e.output_index ?? e.item.id ?? Symbol()
      if (e.item.type === 'web_search_call') {
        // One per output index (an event sent twice is one search); without one, per item id,
        // and an item with neither counts once. A search that started counts (a stream cut
        // before its `done` event was still billed for it).
        searchesDone.add(key)
      } else if (e.item.type === 'file_search_call') {
        filesDone.add(key)
      } else if (e.item.type === 'code_interpreter_call') {
        // The container the item names (the `added` event already does), kept once known.
        containersDone.set(key, containerIdOf(e.item) ?? containersDone.get(key))
      }
      return
    }
    if (type.startsWith('response.web_search_call.')) {
      searchesDone.add(e.output_index ?? e.item_id ?? Symbol())
      return
    }
    if (type.startsWith('response.file_search_call.')) {
      filesDone.add(e.output_index ?? e.item_id ?? Symbol())
      return
    }
    if (type.startsWith('response.code_interpreter_call')) {
      // `.in_progress`, `.interpreting`, `.completed`, `_code.done`: a call whose item event was
      // missed ran in a container not yet named (counted as one more, see `countContainers`).
      const key = e.output_index ?? e.item_id ?? Symbol()
      if (!containersDone.has(key)) containersDone.set(key, undefined)
      return
    }
    if (!isRec(e.response)) return
    if (typeof e.response.model === 'string') model = e.response.model
    // Echoed by every event carrying the response: a stream cut short after `response.created`
    // still knows whether its searches ran through `web_search_preview`.
    if (Array.isArray(e.response.tools)) tools = e.response.tools
    // Every event carrying the response names its tier (`response.created` first): a stream cut
    // before its final event is still billed at it.
    if (e.response.service_tier !== undefined && e.response.service_tier !== null) {
      tier = e.response.service_tier
    }
    if (
      (type === 'response.completed' ||
        type === 'response.incomplete' ||
        type === 'response.failed') &&
      isRec(e.response.usage)
    ) {
      const usage = check(fromOpenAIResponsesUsage, e.response.usage)
      if (usage !== undefined) {
        final = withResponseTier(usage, e.response.service_tier)
        searchesInOutput = countOutputItems(e.response.output, 'web_search_call')
        filesInOutput = countOutputItems(e.response.output, 'file_search_call')
        containersInOutput = countCodeInterpreterContainers(e.response.output)
      }
    }
  }

  const push =
    api === 'anthropic' ? pushAnthropic : api === 'openai-chat' ? pushChat : pushResponses

  return {
    push(event) {
      if (isRec(event)) push(event)
    },
    get complete() {
      return final !== undefined
    },
    result() {
      // Web searches are billed per call whether or not the stream ended (0 outside Responses).
      const searches = Math.max(searchesInOutput, searchesDone.size)
      const preview = searches > 0 && isPreviewWebSearch(tools)
      // File searches and code interpreter containers likewise (billed whether or not it ended).
      const files = Math.max(filesInOutput, filesDone.size)
      const containers = Math.max(containersInOutput, countContainers(containersDone.values()))
      const withFees = (u: Usage): Usage =>
        withToolCalls(withWebSearches(u, searches, preview), files, containers)
      if (final) {
        return { model, usage: withFees(final), complete: true, invalid }
      }
      const streamed = estimateTextTokens(text.join(''), model)
      // `message_start`'s counts when they are valid, else the caller's input estimate.
      const started = anthropicRaw ? validUsage(fromAnthropicUsage, anthropicRaw) : undefined
      // OpenAI names the tier in every chunk (Chat) or response event (Responses): a priority or
      // flex stream cut short is billed at that tier's rates, as its final usage would have been.
      const usage: Usage = started
        ? { ...started, outputTokens: Math.max(started.outputTokens, streamed), estimated: true }
        : withResponseTier(
            { inputTokens: inputEstimate, outputTokens: streamed, estimated: true },
            tier
          )
      return { model, usage: withFees(usage), complete: false, invalid }
    },
  }
}
