/**
 * Fake LLM provider for tests: a node:http server on 127.0.0.1 speaking Anthropic Messages,
 * OpenAI Chat Completions and OpenAI Responses (JSON and SSE) for the real SDKs.
 *
 * @example
 * const p = await startFakeProvider()
 * const client = new Anthropic({ apiKey: 'test', baseURL: p.anthropicBaseURL, maxRetries: 0 })
 * // ... p.failNext(1, { status: 429, retryAfter: 2 }); p.calls; await p.close()
 */
export { startFakeProvider } from './server.js'
export { estimateTokens } from './tokens.js'
export type {
  AnswerPlan,
  FailureSpec,
  FakeApi,
  FakeProvider,
  FakeProviderOptions,
  FakeUsage,
  RecordedCall,
  ReplyContext,
  ReplyFn,
  StreamHold,
  UsageOverride,
} from './types.js'
