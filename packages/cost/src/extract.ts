/**
 * @module extract
 * `extractUsage`: the model and `Usage` of a finished (non-streamed) response from either SDK:
 * an Anthropic `Message`, an OpenAI `ChatCompletion` or an OpenAI Responses `Response`. A
 * Response's web searches are its `output` items of type `web_search_call` (its `usage` has no
 * count of them; Anthropic's has `server_tool_use.web_search_requests`); the `tools` it echoes
 * from the request tell which tool ran them (`web_search_preview` bills more on some models).
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
 * How many `web_search_call` items an OpenAI Responses `output` array holds: each is a web search
 * OpenAI bills per call (the entry's `webSearchPer1k`), which `usage` does not report. A search
 * that failed is counted too (billed high, never low). Anything but an array: 0.
 */
export function countWebSearchCalls(output: unknown): number {
  if (!Array.isArray(output)) return 0
  let n = 0
  for (const item of output as unknown[]) if (isRec(item) && item.type === 'web_search_call') n++
  return n
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
    const usage = withWebSearches(
      withResponseTier(fromOpenAIResponsesUsage(response.usage), response.service_tier),
      countWebSearchCalls(response.output),
      isPreviewWebSearch(response.tools)
    )
    return { api: 'openai-responses', model, usage }
  }
  return undefined
}
