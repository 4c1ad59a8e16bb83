import { sendError } from './errors.js'
import { type Exchange, nowSeconds, sendJson } from './exchange.js'
import { refuse, servedTier, serviceTierProblem, toolOutputProblem } from './openai-checks.js'
import { planFor, usageOverride } from './plan.js'
import { type SseEvent, writeSse } from './sse.js'
import { chunkText, contentText, isRecord, limitText, resolveUsage } from './tokens.js'
import type { FakeUsage } from './types.js'

function usageJson(u: FakeUsage) {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: u.cachedInputTokens },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens },
    total_tokens: u.inputTokens + u.outputTokens,
  }
}

/** The smallest `max_output_tokens` the real Responses API accepts. */
const MIN_OUTPUT_TOKENS = 16

/** Input items as `{role, text}`; a string input is one user message. */
function inputMessages(input: unknown): Array<{ role: unknown; text: string }> {
  if (typeof input === 'string') return [{ role: 'user', text: input }]
  if (!Array.isArray(input)) return []
  return input
    .filter(isRecord)
    .filter((item) => item.type === undefined || item.type === 'message')
    .map((item) => ({ role: item.role, text: contentText(item.content) }))
}

/** `POST /v1/responses` — `response` JSON or the typed `response.*` SSE events. */
export async function handleOpenAIResponses(x: Exchange): Promise<void> {
  const { body } = x
  if (typeof body.model !== 'string' || body.input === undefined) {
    const message =
      typeof body.model !== 'string'
        ? "Missing required parameter: 'model'."
        : "Missing required parameter: 'input'."
    sendError(x.res, x.call, 'openai', { status: 400, message })
    return
  }
  const maxOutput = body.max_output_tokens
  if (typeof maxOutput === 'number' && maxOutput < MIN_OUTPUT_TOKENS) {
    sendError(x.res, x.call, 'openai', {
      status: 400,
      message: `Invalid 'max_output_tokens': integer below minimum value. Expected a value >= ${MIN_OUTPUT_TOKENS}, but got ${maxOutput} instead.`,
      param: 'max_output_tokens',
      code: 'integer_below_min_value',
    })
    return
  }
  if (refuse(x, serviceTierProblem(body.service_tier), toolOutputProblem(body))) return
  const plan = planFor('openai-responses', x.state.takeAnswer())
  const items = inputMessages(body.input)
  const lastUserText = [...items].reverse().find((m) => m.role === 'user')?.text ?? ''
  const instructions = typeof body.instructions === 'string' ? body.instructions : ''
  const inputText = [instructions, ...items.map((m) => m.text)].filter((t) => t !== '').join('\n')
  const full = plan.refusal ?? x.state.replyFor({ api: 'openai-responses', lastUserText, body })
  // Cut at max_output_tokens like the real API: the message item and the response are then
  // `incomplete`, with `incomplete_details: { reason: 'max_output_tokens' }`.
  const { text, truncated } = limitText(full, body.max_output_tokens)
  const usage = resolveUsage(inputText, text, usageOverride(x.state.usage, plan))
  const incompleteReason = plan.incompleteReason ?? (truncated ? 'max_output_tokens' : undefined)
  const endStatus =
    plan.failure !== undefined
      ? 'failed'
      : incompleteReason === undefined
        ? 'completed'
        : 'incomplete'
  const msgId = x.state.nextId('msg')
  const respId = x.state.nextId('resp')
  // A refusal is a `refusal` content part, streamed as `response.refusal.*` events.
  const refused = plan.refusal !== undefined
  const part = (t: string) =>
    refused
      ? { type: 'refusal', refusal: t }
      : { type: 'output_text', text: t, annotations: [], logprobs: [] }
  const item = (status: string, content: unknown[]) => ({
    type: 'message',
    id: msgId,
    status,
    role: 'assistant',
    content,
  })
  const response = (status: string, output: unknown[], withUsage: boolean) => ({
    id: respId,
    object: 'response',
    created_at: nowSeconds(),
    status,
    error: status === 'failed' ? { ...plan.failure } : null,
    incomplete_details: status === 'incomplete' ? { reason: incompleteReason } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    model: plan.model ?? body.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: body.previous_response_id ?? null,
    service_tier: servedTier(body.service_tier),
    temperature: body.temperature ?? 1,
    tool_choice: 'auto',
    tools: [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: withUsage ? usageJson(usage) : null,
  })
  const headers = { 'x-request-id': x.state.nextId('req') }
  // A failed answer's message never completed: what was written of it is `incomplete`.
  const done = item(endStatus === 'failed' ? 'incomplete' : endStatus, [part(text)])
  if (body.stream !== true) {
    sendJson(x, 200, response(endStatus, [done], true), headers)
    return
  }
  const started = response('in_progress', [], false)
  const finished = response(endStatus, [done], true)
  const at = { item_id: msgId, output_index: 0, content_index: 0 }
  const raw: Array<Record<string, unknown>> = [
    { type: 'response.created', response: started },
    { type: 'response.in_progress', response: started },
    { type: 'response.output_item.added', output_index: 0, item: item('in_progress', []) },
    { type: 'response.content_part.added', ...at, part: part('') },
    ...chunkText(text).map((delta) =>
      refused
        ? { type: 'response.refusal.delta', ...at, delta }
        : { type: 'response.output_text.delta', ...at, delta, logprobs: [] }
    ),
    // A failure ends the stream there: the parts and the item are never done.
    ...(endStatus === 'failed'
      ? []
      : [
          refused
            ? { type: 'response.refusal.done', ...at, refusal: text }
            : { type: 'response.output_text.done', ...at, text, logprobs: [] },
          { type: 'response.content_part.done', ...at, part: part(text) },
          { type: 'response.output_item.done', output_index: 0, item: done },
        ]),
    // The last event is `response.completed`, `response.incomplete` when the answer was cut, or
    // `response.failed`.
    { type: `response.${endStatus}`, response: finished },
  ]
  const events: SseEvent[] = raw.map((data, i) => ({
    event: data.type as string,
    data: { ...data, sequence_number: i },
  }))
  // The error event takes the next sequence number: the index at which it is sent.
  await writeSse(x.res, x.state, x.call, events, headers, (message, index) => ({
    event: 'error',
    data: { type: 'error', code: 'server_error', message, param: null, sequence_number: index },
  }))
}
