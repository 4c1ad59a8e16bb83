import { sendError } from './errors.js'
import { type Exchange, nowSeconds, sendJson } from './exchange.js'
import { type SseEvent, writeSse } from './sse.js'
import { chunkText, contentText, isRecord, limitText, resolveUsage } from './tokens.js'
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
  const messages = body.messages.filter(isRecord)
  const lastUser = [...messages].reverse().find((m) => m.role === 'user')
  const lastUserText = contentText(lastUser?.content)
  const inputText = messages
    .map((m) => contentText(m.content))
    .filter((t) => t !== '')
    .join('\n')
  const full = x.state.replyFor({ api: 'openai-chat', lastUserText, body })
  const { text, truncated } = limitText(full, body.max_completion_tokens ?? body.max_tokens)
  const usage = resolveUsage(inputText, text, x.state.usage)
  const finishReason = truncated ? 'length' : 'stop'
  const base = {
    id: x.state.nextId('chatcmpl'),
    created: nowSeconds(),
    model: body.model,
    system_fingerprint: 'fp_fake',
  }
  const headers = { 'x-request-id': x.state.nextId('req') }
  if (body.stream !== true) {
    const choice = {
      index: 0,
      message: { role: 'assistant', content: text, refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: finishReason,
    }
    const payload = {
      ...base,
      object: 'chat.completion',
      choices: [choice],
      usage: usageJson(usage),
      service_tier: 'default',
    }
    sendJson(x, 200, payload, headers)
    return
  }
  const streamOptions = isRecord(body.stream_options) ? body.stream_options : {}
  const includeUsage = streamOptions.include_usage === true
  const chunk = (delta: object, finish: string | null) => ({
    data: {
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    },
  })
  const events: SseEvent[] = [
    chunk({ role: 'assistant', content: '', refusal: null }, null),
    ...chunkText(text).map((piece) => chunk({ content: piece }, null)),
    chunk({}, finishReason),
  ]
  if (includeUsage) {
    events.push({
      data: { ...base, object: 'chat.completion.chunk', choices: [], usage: usageJson(usage) },
    })
  }
  events.push({ data: '[DONE]' })
  await writeSse(x.res, x.state, x.call, events, headers, (message) => ({
    data: { error: { message, type: 'server_error', param: null, code: null } },
  }))
}
