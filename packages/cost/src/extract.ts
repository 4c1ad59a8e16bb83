/**
 * @module extract
 * `extractUsage`: the model and `Usage` of a finished (non-streamed) response from either SDK:
 * an Anthropic `Message`, an OpenAI `ChatCompletion` or an OpenAI Responses `Response`. A
 * Response's web searches are its `output` items of type `web_search_call` (its `usage` has no
 * count of them; Anthropic's has `server_tool_use.web_search_requests`); the `tools` it echoes
 * from the request tell which tool ran them (`web_search_preview` bills more on some models).
 * Its other per-call tool fees are read from `output` the same way: each `file_search_call` item
 * is one file search call (`Usage.fileSearchCalls`), and each distinct `container_id` of its
 * `code_interpreter_call` items one code interpreter container (`Usage.codeInterpreterContainers`:
 * a container is billed per session, not per call run in it).
 */
import {
  fromAnthropicUsage,
  fromOpenAIChatUsage,
  fromOpenAIResponsesUsage,
  toServiceTier,
  type Usage,
} from './usage.js'

/** Which response shape a usage came from. */
export type UsageApi = 'anthropic' | 'openai-chat' | 'openai-responses'

/** What `extractUsage` returns. */
export interface ExtractedUsage {
  readonly api: UsageApi
  /** `response.model`: the dated snapshot the provider actually used; price by this. */
  readonly model: string
  readonly usage: Usage
}

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Adds an OpenAI response-level `service_tier` to a usage. */
export function withResponseTier(usage: Usage, tier: unknown): Usage {
  const t = toServiceTier(tier)
  return t === undefined || t === 'standard' ? usage : { ...usage, serviceTier: t }
}

/**
 * How many items of `type` an OpenAI Responses `output` array holds. Used for the tool calls OpenAI
 * bills per call, which `usage` does not report: `web_search_call` (the entry's `webSearchPer1k`),
 * `file_search_call` (`fileSearchPer1k`). A failed call counts too (billed high, never low).
 * Anything but an array: 0.
 */
export function countOutputItems(output: unknown, type: string): number {
  if (!Array.isArray(output)) return 0
  let n = 0
  for (const item of output as unknown[]) if (isRec(item) && item.type === type) n++
  return n
}

/**
 * The code interpreter containers `ids` name: the distinct strings among them, plus one for any
 * `undefined` (an item whose container is unknown may have run in another: billed high, never low).
 */
export function countContainers(ids: Iterable<string | undefined>): number {
  const seen = new Set<string | undefined>()
  for (const id of ids) seen.add(id)
  return seen.size
}

/** An OpenAI `code_interpreter_call` item's `container_id` (`undefined` when it has none). */
export function containerIdOf(item: Record<string, unknown>): string | undefined {
  return typeof item.container_id === 'string' && item.container_id !== ''
    ? item.container_id
    : undefined
}

/**
 * How many code interpreter containers the `code_interpreter_call` items of an OpenAI Responses
 * `output` array ran in: OpenAI bills a container per session (the entry's
 * `codeInterpreterPerContainer`), whatever the number of calls in it, and `usage` does not report
 * it. Distinct `container_id`s; items without one count as one more container. A container reused
 * from an earlier response is counted again (this response cannot tell: high, never low).
 * Anything but an array: 0.
 */
export function countCodeInterpreterContainers(output: unknown): number {
  if (!Array.isArray(output)) return 0
  const ids: (string | undefined)[] = []
  for (const item of output as unknown[]) {
    if (isRec(item) && item.type === 'code_interpreter_call') ids.push(containerIdOf(item))
  }
  return countContainers(ids)
}

/**
 * `usage` with `files` file search calls and `containers` code interpreter containers, each when
 * above what it already reports.
 */
export function withToolCalls(usage: Usage, files: number, containers: number): Usage {
  const moreFiles = files > (usage.fileSearchCalls ?? 0)
  const moreContainers = containers > (usage.codeInterpreterContainers ?? 0)
  if (!moreFiles && !moreContainers) return usage
  return {
    ...usage,
    ...(moreFiles ? { fileSearchCalls: files } : {}),
    ...(moreContainers ? { codeInterpreterContainers: containers } : {}),
  }
}

/**
 * Whether an OpenAI Response's web searches are billed as `web_search_preview` searches, from the
 * request's `tools` it echoes (`response.tools`): `false` only when they list a GA `web_search`
 * tool (`web_search`, `web_search_2025_08_26`, …) and no `web_search_preview*` one. Both listed
 * (a `web_search_call` does not say which ran) or neither (no echo): `true`, the higher price on
 * models where they differ (gpt-4o / gpt-4.1: $25 against $10 per 1,000), never the lower.
 */
export function isPreviewWebSearch(tools: unknown): boolean {
  if (!Array.isArray(tools)) return true
  let ga = false
  for (const tool of tools as unknown[]) {
    const type = isRec(tool) ? tool.type : undefined
    if (typeof type !== 'string' || !type.startsWith('web_search')) continue
    if (type.startsWith('web_search_preview')) return true
    ga = true
  }
  return !ga
}

/**
 * `usage` with `searches` web searches (when above what it already reports), all of them
 * `web_search_preview` searches (`webSearchPreviewRequests`) when `preview`.
 */
export function withWebSearches(usage: Usage, searches: number, preview = false): Usage {
  if (searches <= (usage.webSearchRequests ?? 0)) return usage
  return preview
    ? { ...usage, webSearchRequests: searches, webSearchPreviewRequests: searches }
    : { ...usage, webSearchRequests: searches }
}

/**
 * The usage of a complete response, or `undefined` when `response` is none of the three shapes or
 * carries no usage (then estimate: a response without usage must not be recorded as free).
 */
export function extractUsage(response: unknown): ExtractedUsage | undefined {
  if (!isRec(response) || !isRec(response.usage)) return undefined
  const model = typeof response.model === 'string' ? response.model : ''
  if (response.type === 'message') {
    return { api: 'anthropic', model, usage: fromAnthropicUsage(response.usage) }
  }
  if (response.object === 'chat.completion') {
    const usage = withResponseTier(fromOpenAIChatUsage(response.usage), response.service_tier)
    return { api: 'openai-chat', model, usage }
  }
  if (response.object === 'response') {
    const usage = withToolCalls(
      withWebSearches(
        withResponseTier(fromOpenAIResponsesUsage(response.usage), response.service_tier),
        countOutputItems(response.output, 'web_search_call'),
        isPreviewWebSearch(response.tools)
      ),
      countOutputItems(response.output, 'file_search_call'),
      countCodeInterpreterContainers(response.output)
    )
    return { api: 'openai-responses', model, usage }
  }
  return undefined
}
