import { sendError } from './errors.js'
import { type Exchange, nowSeconds, sendJson } from './exchange.js'
import { integerProblem, refuse, servedTier, serviceTierProblem } from './openai-checks.js'
import { planFor, usageOverride } from './plan.js'
import { type SseEvent, writeSse } from './sse.js'
import {
  chunkText,
  contentText,
  estimateTokens,
  isRecord,
  limitText,
  resolveUsage,
} from './tokens.js'
import type { FakeUsage } from './types.js'

function usageJson(u: FakeUsage) {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cachedInputTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  }
}

/** One choice's answer: its text cut at the request's limit, and the deltas that stream it. */
function choiceAnswer(
  source: string | readonly string[],
  maxTokens: unknown
): { text: string; truncated: boolean; deltas: string[] } {
  const { text, truncated } = limitText(
    typeof source === 'string' ? source : source.join(''),
    maxTokens
  )
  if (typeof source === 'string') return { text, truncated, deltas: chunkText(text) }
  // The deltas given, cut where the text was cut.
  const deltas: string[] = []
  let left = text.length
  for (const delta of source) {
    if (left <= 0) break
    deltas.push(delta.slice(0, left))
    left -= delta.length
  }
  return { text, truncated, deltas: deltas.length > 0 ? deltas : [''] }
}

/** `POST /v1/chat/completions` — `chat.completion` JSON or `chat.completion.chunk` SSE. */
export async function handleOpenAIChat(x: Exchange): Promise<void> {
  const { body } = x
  if (
    typeof body.model !== 'string' ||
    !Array.isArray(body.messages) ||
    body.messages.length === 0
  ) {
    const message =
      typeof body.model !== 'string'
        ? 'you must provide a model parameter'
        : Array.isArray(body.messages)
          ? "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead."
          : "Missing required parameter: 'messages'."
    sendError(x.res, x.call, 'openai', { status: 400, message })
    return
  }
  // Like the real API: stream_options is refused on a non-streaming request (null is "not given").
  if (body.stream !== true && body.stream_options !== undefined && body.stream_options !== null) {
    sendError(x.res, x.call, 'openai', {
      status: 400,
      message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      param: 'stream_options',
    })
    return
  }
  if (refuse(x, integerProblem('n', body.n, 1, 128), serviceTierProblem(body.service_tier))) return
  const plan = planFor('openai-chat', x.state.takeAnswer())
  const messages = body.messages.filter(isRecord)
  const lastUser = [...messages].reverse().find((m) => m.role === 'user')
  const lastUserText = contentText(lastUser?.content)
  const inputText = messages
    .map((m) => contentText(m.content))
    .filter((t) => t !== '')
    .join('\n')
  const full = plan.refusal ?? x.state.replyFor({ api: 'openai-chat', lastUserText, body })
  const n = typeof body.n === 'number' ? body.n : 1
  if (plan.choices !== undefined && plan.choices.length > n) {
    throw new Error(
      `answerNext: ${plan.choices.length} choices planned for a request of n = ${n} (fake provider)`
    )
  }
  // `n` choices, the reply unless the plan gives their texts: the provider bills every one.
  const max = body.max_completion_tokens ?? body.max_tokens
  const answers = Array.from({ length: n }, (_, i) => choiceAnswer(plan.choices?.[i] ?? full, max))
  const override = usageOverride(x.state.usage, plan)
  const usage = resolveUsage(inputText, answers.map((a) => a.text).join(''), {
    ...override,
    outputTokens:
      override?.outputTokens ?? answers.reduce((sum, a) => sum + estimateTokens(a.text), 0),
  })
  const indexes = answers.map((_, i) => i)
  const finishOf = (i: number) =>
    plan.finishReasons?.[i] ?? (answers[i]?.truncated ? 'length' : 'stop')
  const refused = plan.refusal !== undefined
  const base = {
    id: x.state.nextId('chatcmpl'),
    created: nowSeconds(),
    model: plan.model ?? body.model,
    system_fingerprint: 'fp_fake',
  }
  const serviceTier = servedTier(body.service_tier)
  const headers = { 'x-request-id': x.state.nextId('req') }
  if (body.stream !== true) {
    const choices = indexes.map((index) => ({
      index,
      message: {
        role: 'assistant',
        content: refused ? null : answers[index]?.text,
        refusal: refused ? answers[index]?.text : null,
        annotations: [],
      },
      logprobs: null,
      finish_reason: finishOf(index),
    }))
    const payload = {
      ...base,
      object: 'chat.completion',
      choices,
      usage: usageJson(usage),
      service_tier: serviceTier,
    }
    sendJson(x, 200, payload, headers)
    return
  }
  const streamOptions = isRecord(body.stream_options) ? body.stream_options : {}
  const includeUsage = streamOptions.include_usage === true
  const chunk = (index: number, delta: object, finish: string | null) => ({
    data: {
      ...base,
      object: 'chat.completion.chunk',
      service_tier: serviceTier,
      choices: [{ index, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    },
  })
  // A refusal streams in `delta.refusal` (its first delta has `content: null, refusal: ''`).
  const first = refused
    ? { role: 'assistant', content: null, refusal: '' }
    : { role: 'assistant', content: '', refusal: null }
  const field = refused ? 'refusal' : 'content'
  // The choices' deltas interleaved, round by round; each choice finishes after its last delta.
  const events: SseEvent[] = indexes.map((index) => chunk(index, first, null))
  const rounds = Math.max(...answers.map((a) => a.deltas.length))
  for (let round = 0; round <= rounds; round++) {
    for (const [index, { deltas }] of answers.entries()) {
      if (round < deltas.length) events.push(chunk(index, { [field]: deltas[round] }, null))
      else if (round === deltas.length) events.push(chunk(index, {}, finishOf(index)))
    }
  }
  if (includeUsage) {
    events.push({
      data: {
        ...base,
        object: 'chat.completion.chunk',
        service_tier: serviceTier,
        choices: [],
        usage: usageJson(usage),
      },
    })
  }
  events.push({ data: '[DONE]' })
  await writeSse(x.res, x.state, x.call, events, headers, (message) => ({
    data: { error: { message, type: 'server_error', param: null, code: null } },
  }))
}
