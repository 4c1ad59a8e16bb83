import { sendError } from './errors.js'
import { type Exchange, sendJson } from './exchange.js'
import { planFor, usageOverride } from './plan.js'
import { type SseEvent, writeSse } from './sse.js'
import { chunkText, contentText, isRecord, limitText, resolveUsage } from './tokens.js'
import type { FakeUsage } from './types.js'

interface Parsed {
  model: string
  lastUserText: string
  inputText: string
}

/** What the real API answers for a bad `max_tokens` (an integer >= 1 is required). */
function maxTokensProblem(value: unknown): string | undefined {
  if (value === undefined) return 'max_tokens: Field required'
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return 'max_tokens: Input should be a valid integer'
  }
  if (value < 1) return 'max_tokens: Input should be greater than or equal to 1'
  return undefined
}

function parse(x: Exchange, needsMaxTokens: boolean): Parsed | undefined {
  const { body } = x
  const messages = body.messages
  let problem: string | undefined
  if (typeof body.model !== 'string') problem = 'model: Field required'
  else if (!Array.isArray(messages) || messages.length === 0) problem = 'messages: Field required'
  else if (needsMaxTokens) problem = maxTokensProblem(body.max_tokens)
  if (problem !== undefined) {
    sendError(x.res, x.call, 'anthropic', { status: 400, message: problem })
    return undefined
  }
  const list = (messages as unknown[]).filter(isRecord)
  const texts = [contentText(body.system), ...list.map((m) => contentText(m.content))]
  const lastUser = [...list].reverse().find((m) => m.role === 'user')
  return {
    model: body.model as string,
    lastUserText: contentText(lastUser?.content),
    inputText: texts.filter((t) => t !== '').join('\n'),
  }
}

function usageJson(u: FakeUsage) {
  return {
    input_tokens: u.inputTokens,
    cache_creation_input_tokens: u.cacheCreationInputTokens,
    cache_read_input_tokens: u.cachedInputTokens,
    output_tokens: u.outputTokens,
  }
}

/** `POST /v1/messages` — non-streaming JSON or the real SSE event sequence. */
export async function handleAnthropicMessages(x: Exchange): Promise<void> {
  const p = parse(x, true)
  if (!p) return
  const plan = planFor('anthropic', x.state.takeAnswer())
  const full =
    plan.refusal ??
    x.state.replyFor({ api: 'anthropic', lastUserText: p.lastUserText, body: x.body })
  const { text, truncated } = limitText(full, x.body.max_tokens)
  const override = usageOverride(x.state.usage, plan)
  const usage = resolveUsage(p.inputText, text, override)
  const stopReason =
    plan.stopReason ??
    (truncated ? 'max_tokens' : plan.refusal !== undefined ? 'refusal' : 'end_turn')
  const id = x.state.nextId('msg')
  const headers = { 'request-id': x.state.nextId('req') }
  const message = {
    id,
    type: 'message',
    role: 'assistant',
    model: plan.model ?? p.model,
    content: [] as unknown[],
    stop_reason: null as string | null,
    stop_sequence: null,
    usage: usageJson(usage),
  }
  if (x.body.stream !== true) {
    message.content = [{ type: 'text', text }]
    message.stop_reason = stopReason
    sendJson(x, 200, message, headers)
    return
  }
  const events: SseEvent[] = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: { ...message, usage: usageJson({ ...usage, outputTokens: 1 }) },
      },
    },
    {
      event: 'content_block_start',
      data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    },
    { event: 'ping', data: { type: 'ping' } },
    ...chunkText(text).map((piece) => ({
      event: 'content_block_delta',
      data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } },
    })),
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    // Extra cumulative usage reports first, when planned; the last one carries the answer's usage.
    ...[
      ...(plan.usageUpdates ?? []).map((u) =>
        resolveUsage(p.inputText, text, { ...x.state.usage, ...u })
      ),
      usage,
    ].map((u) => ({
      event: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: usageJson(u),
      },
    })),
    { event: 'message_stop', data: { type: 'message_stop' } },
  ]
  await writeSse(x.res, x.state, x.call, events, headers, (message) => ({
    event: 'error',
    data: { type: 'error', error: { type: 'overloaded_error', message } },
  }))
}

/** `POST /v1/messages/count_tokens` → `{ input_tokens }`. */
export function handleAnthropicCountTokens(x: Exchange): void {
  const p = parse(x, false)
  if (!p) return
  const usage = resolveUsage(p.inputText, '', x.state.usage)
  sendJson(x, 200, { input_tokens: usage.inputTokens }, { 'request-id': x.state.nextId('req') })
}
