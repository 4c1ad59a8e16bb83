/**
 * @module call
 * One run of a job through the (wrapped) client: always streamed, so every text delta reaches the
 * followers as it arrives; usage read from the stream's own events (`@aikit/cost`). The subject and
 * cache mode travel as the wrapped client's per-call override, and the SDK's own retries are off
 * (`maxRetries: 0`): the queue owns retries, with the provider's `retry-after` honoured.
 */
import { createStreamUsage, type Usage } from '@aikit/cost'
import { usageApiOf } from './cache-key.js'
import type { AnthropicLike, LlmJobData, OpenAILike } from './types.js'

/** The key of `@aikit/llm`'s per-call override inside SDK request options (a global symbol). */
const AIKIT_CALL_OPTIONS = Symbol.for('@aikit/llm.call-options')

/** The clients a worker runs jobs with. */
export interface LlmClients {
  /** An Anthropic client wrapped with `wrapAnthropic` (runs `messages` jobs). */
  anthropic?: AnthropicLike
  /** An OpenAI client wrapped with `wrapOpenAI` (runs `chat` and `responses` jobs). */
  openai?: OpenAILike
}

/**
 * Thrown when a job needs a client the worker was not given (not retried). The worker checks
 * `apisOf` before a run and hands such a job back (or fails it with `NO_CLIENT`): this is a guard.
 */
export class MissingClientError extends Error {
  readonly status = 400
  constructor(which: string) {
    super(`This worker has no ${which} client`)
    this.name = 'MissingClientError'
  }
}

/** The provider's stream ended before its final event (retried, like a dropped connection). */
export class IncompleteStreamError extends Error {
  constructor() {
    super('The provider stream ended before its final event')
    this.name = 'IncompleteStreamError'
  }
}

/**
 * A failure the provider reported inside a stream (a Responses `response.failed` or `error`
 * event): no HTTP status; retried when its `code` is a transient one, or when it has none (see
 * `retry.ts`). `error` carries the provider's `type` (its code) and message, as an SDK error's
 * body does.
 */
export class ProviderStreamError extends Error {
  readonly error: { readonly type: string; readonly message: string }
  /** The provider's code (`server_error`, `invalid_prompt`, …); `undefined` when it gave none. */
  readonly code: string | undefined
  constructor(body: unknown) {
    const rec = isRec(body) ? body : {}
    const message =
      typeof rec.message === 'string'
        ? rec.message
        : 'The provider reported a failure in the stream'
    super(message)
    this.name = 'ProviderStreamError'
    const type =
      typeof rec.code === 'string'
        ? rec.code
        : typeof rec.type === 'string'
          ? rec.type
          : 'stream_failed'
    this.error = { type, message }
    this.code = typeof rec.code === 'string' ? rec.code : undefined
  }
}

/**
 * The failure a Responses stream ended with, as `@aikit/llm` reads it (`openai/responses-end.ts`):
 * `response.failed` (its `response.error`) or an `error` event. `response.incomplete` is an answer
 * (cut at `max_output_tokens`, or by a content filter), not a failure.
 */
function responsesFailure(last: unknown): ProviderStreamError | undefined {
  if (!isRec(last)) return undefined
  if (last.type === 'response.failed') {
    const response = isRec(last.response) ? last.response : undefined
    return new ProviderStreamError(response?.error ?? last)
  }
  return last.type === 'error' ? new ProviderStreamError(last) : undefined
}

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null

/** The text delta an event carries, if any (a refusal's text too). */
export function deltaText(api: LlmJobData['api'], event: unknown): string {
  if (!isRec(event)) return ''
  if (api === 'messages') {
    const delta = event.delta
    return event.type === 'content_block_delta' &&
      isRec(delta) &&
      delta.type === 'text_delta' &&
      typeof delta.text === 'string'
      ? delta.text
      : ''
  }
  // OpenAI sends a refusal apart from the content (`delta.refusal`, `response.refusal.delta`):
  // it is the answer the user gets, so it is the job's text too (an empty text would hide it).
  if (api === 'chat') {
    const choice = Array.isArray(event.choices) ? event.choices[0] : undefined
    const delta = isRec(choice) && isRec(choice.delta) ? choice.delta : undefined
    if (typeof delta?.content === 'string') return delta.content
    return typeof delta?.refusal === 'string' ? delta.refusal : ''
  }
  return (event.type === 'response.output_text.delta' || event.type === 'response.refusal.delta') &&
    typeof event.delta === 'string'
    ? event.delta
    : ''
}

/**
 * Whether `event` is the one a whole stream ends with: Anthropic's `message_stop`, the Chat chunk
 * carrying the usage (asked for with `include_usage`), a Responses `response.completed` or
 * `.incomplete`.
 */
function finalEvent(api: LlmJobData['api'], event: unknown): boolean {
  if (!isRec(event)) return false
  if (api === 'messages') return event.type === 'message_stop'
  if (api === 'chat') return isRec(event.usage)
  return event.type === 'response.completed' || event.type === 'response.incomplete'
}

type Create = (params: Rec, options?: Rec) => unknown

/** The APIs `clients` can run (as `pickCreate` picks their method). */
export function apisOf(clients: LlmClients): LlmJobData['api'][] {
  const apis: LlmJobData['api'][] = []
  if (clients.anthropic) apis.push('messages')
  if (clients.openai) apis.push('chat')
  if (clients.openai?.responses) apis.push('responses')
  return apis
}

function pickCreate(clients: LlmClients, data: LlmJobData): Create {
  if (data.api === 'messages') {
    const c = clients.anthropic
    if (!c) throw new MissingClientError('anthropic')
    return c.messages.create.bind(c.messages) as unknown as Create
  }
  const c = clients.openai
  if (!c) throw new MissingClientError('openai')
  if (data.api === 'chat') {
    return c.chat.completions.create.bind(c.chat.completions) as unknown as Create
  }
  if (!c.responses) throw new MissingClientError('openai.responses')
  return c.responses.create.bind(c.responses) as unknown as Create
}

/** What one successful run produced. */
export interface CallOutcome {
  readonly text: string
  readonly model: string
  readonly usage: Usage
  readonly cache: 'hit' | 'miss'
}

/** Runs the job's request as a stream; `onText` gets every text delta. */
export async function runCall(
  clients: LlmClients,
  data: LlmJobData,
  signal: AbortSignal,
  onText: (text: string) => void
): Promise<CallOutcome> {
  const create = pickCreate(clients, data)
  const params: Rec = { ...data.params, stream: true }
  // Usage of a Chat Completions stream comes only with include_usage (the wrapper would add it
  // and hide the chunk; asking for it here keeps it visible to the meter).
  if (data.api === 'chat') params.stream_options = { include_usage: true }
  const override: Rec = {}
  if (data.subject !== undefined) override.subject = data.subject
  if (data.cache !== undefined) override.cache = data.cache
  const options: Rec = { maxRetries: 0, signal }
  if (Object.keys(override).length > 0)
    (options as Record<symbol, unknown>)[AIKIT_CALL_OPTIONS] = override
  const pending = create(params, options) as PromiseLike<unknown> & {
    withResponse?: () => Promise<{ data: unknown; response: Response }>
  }
  let stream: unknown
  let cache: 'hit' | 'miss' = 'miss'
  if (typeof pending.withResponse === 'function') {
    const { data: body, response } = await pending.withResponse()
    stream = body
    if (response?.headers?.get?.('x-aikit-cache') === 'hit') cache = 'hit'
  } else {
    stream = await pending
  }
  if (
    !isRec(stream) ||
    typeof (stream as unknown as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] !==
      'function'
  ) {
    throw new TypeError('The client did not return a stream for stream: true')
  }
  const model = typeof data.params.model === 'string' ? data.params.model : ''
  const meter = createStreamUsage(usageApiOf(data.api), { model })
  let text = ''
  let last: unknown
  for await (const event of stream as unknown as AsyncIterable<unknown>) {
    last = event
    meter.push(event)
    const delta = deltaText(data.api, event)
    if (delta !== '') {
      text += delta
      onText(delta)
    }
  }
  // The meter counts a `response.failed` as the stream's final event: it is a provider failure.
  const failure = data.api === 'responses' ? responsesFailure(last) : undefined
  if (failure) throw failure
  const usage = meter.result()
  // A stream that ended without its final event was cut short: another attempt may complete it.
  // One whose final event came with a malformed usage is whole (and billed): it is settled with
  // the estimate, not called again.
  if (!usage.complete && !(usage.invalid && finalEvent(data.api, last))) {
    throw new IncompleteStreamError()
  }
  return { text, model: usage.model || model, usage: usage.usage, cache }
}
