/**
 * The Vercel AI SDK's own telemetry names (`ai.*`, which it sets on its OpenTelemetry spans up to
 * v6) and @sentry/conventions' `ai.*` aliases of the GenAI content attributes, with one marker
 * each, and the `ai.*` metadata that must survive. Shared by the v11 and v10 Sentry tests.
 */
import { expect } from 'vitest'
import type { EnvelopeItem } from './sentry-dsn.js'

/** Content attributes: each value holds a marker that must not reach Sentry. */
export const AI_CONTENT: Record<string, string> = {
  'ai.prompt': '{"prompt":"AIPROMPT-MARKER my diagnosis is confidential"}',
  'ai.prompt.messages': '[{"role":"user","content":"AIMESSAGES-MARKER hello"}]',
  // The tool definitions sent with the prompt; v10 renames them `gen_ai.request.available_tools`.
  'ai.prompt.tools': '[{"name":"lookup","description":"AIPROMPTTOOLS-MARKER record 4411"}]',
  'ai.response.text': 'AIRESPONSETEXT-MARKER here is the summary',
  'ai.response.toolCalls': '[{"toolName":"lookup","args":"AITOOLCALLS-MARKER patient 4411"}]',
  'ai.response.object': '{"diagnosis":"AIOBJECT-MARKER flu"}',
  'ai.response.reasoning': 'AIREASONING-MARKER the user seems worried',
  'ai.toolCall.args': '{"account":"AITOOLARGS-MARKER 12-4411"}',
  'ai.toolCall.result': '{"balance":"AITOOLRESULT-MARKER 12,400 USD"}',
  'ai.value': 'AIVALUE-MARKER text to embed',
  'ai.values': '["AIVALUES-MARKER first text"]',
  'ai.texts': '["AITEXTS-MARKER raw input"]',
  'ai.input_messages': '[{"role":"user","content":"AIINPUTMESSAGES-MARKER"}]',
  'ai.preamble': 'AIPREAMBLE-MARKER you are the internal triage bot',
  'ai.responses': '["AIRESPONSES-MARKER an answer"]',
  'ai.tool_calls': '[{"name":"lookup","arguments":"AITOOL_CALLS-MARKER"}]',
  'ai.documents': '["AIDOCUMENTS-MARKER the patient record"]',
  'ai.search_queries': '["AISEARCHQUERIES-MARKER symptoms of"]',
  'ai.search_results': '["AISEARCHRESULTS-MARKER a page"]',
  'ai.citations': '["AICITATIONS-MARKER a source"]',
}

/** Metadata attributes (token counts, model, provider, timings, finish reason): kept. */
export const AI_METADATA: Record<string, string | number | boolean> = {
  'ai.model.id': 'gpt-4o-mini',
  'ai.model.provider': 'openai.chat',
  'ai.usage.promptTokens': 12,
  'ai.usage.completionTokens': 34,
  'ai.usage.inputTokens': 12,
  'ai.usage.outputTokens': 34,
  'ai.usage.reasoningTokens': 7,
  'ai.usage.tokens': 46,
  'ai.prompt_tokens.used': 12,
  'ai.completion_tokens.used': 34,
  'ai.response.finishReason': 'stop',
  'ai.response.id': 'resp_123',
  'ai.response.msToFirstChunk': 420,
  'ai.response.avgCompletionTokensPerSecond': 55.5,
  'ai.operationId': 'ai.generateText',
  'ai.telemetry.functionId': 'triage',
  'ai.settings.maxRetries': 2,
}

/** The marker word of an `AI_CONTENT` value. */
export const markerOf = (key: string): string => /[A-Z_]+-MARKER/.exec(AI_CONTENT[key]!)![0]

interface SentSpan {
  name?: string
  description?: string
  attributes?: Record<string, unknown>
  data?: Record<string, unknown>
}

/** The span named `name` among the streamed span batches and the transactions' spans. */
export function sentSpan(items: EnvelopeItem[], name: string): SentSpan | undefined {
  const spans = [
    ...items
      .filter((i) => i.type === 'span')
      .flatMap((i) => (i.payload as { items: SentSpan[] }).items),
    ...items
      .filter((i) => i.type === 'transaction')
      .flatMap((i) => {
        const t = i.payload as { transaction?: string; contexts?: { trace?: { data?: object } } }
        const root = { name: t.transaction, data: t.contexts?.trace?.data } as SentSpan
        return [root, ...((i.payload as { spans?: SentSpan[] }).spans ?? [])]
      }),
  ]
  return spans.find((s) => (s.name ?? s.description) === name)
}

/** The attributes of a sent span (v11 streamed: `attributes`; v10: `data`). */
export function attributesOf(span: SentSpan | undefined): Record<string, unknown> {
  return { ...span?.data, ...span?.attributes }
}

/** Checks that every item sent is free of every content marker. */
export function expectNoMarkers(items: EnvelopeItem[]): void {
  const markers = Object.keys(AI_CONTENT).map(markerOf)
  for (const item of items) {
    expect({ type: item.type, found: markers.filter((m) => item.raw.includes(m)) }).toEqual({
      type: item.type,
      found: [],
    })
  }
}
