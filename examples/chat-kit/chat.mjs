// The chat endpoint: POST /api/chat {"message", "stream"?} → the wrapped Anthropic client (cache,
// budget, prompt guard, metrics and logs run inside it) → JSON, or server-sent events.

import { AikitError, compose, errorBody } from '@aikit/core'
import { aikit } from '@aikit/llm/anthropic'
import { bodyLimit, validate } from '@aikit/security'
import Anthropic from '@anthropic-ai/sdk'
import { z } from 'zod'

/** The request body: the question and whether to stream the answer. */
export const ChatRequest = z.strictObject({
  message: z.string().trim().min(1).max(2000),
  stream: z.boolean().optional(),
})

/** Most output tokens one answer may use (also the budget's worst case per call). */
const MAX_TOKENS = 512

/** 405 for other methods on /api/chat. */
class MethodNotAllowedError extends AikitError {
  constructor() {
    super('METHOD_NOT_ALLOWED', 405, 'Use POST')
  }
}

/** 502: the model provider failed (its message may describe our account: it is not passed on). */
class ModelError extends AikitError {
  constructor(cause) {
    super('MODEL_ERROR', 502, 'The model could not answer, try again later', { cause })
  }
}

const toClientError = (error) =>
  error instanceof Anthropic.APIError && !(error instanceof Anthropic.APIUserAbortError)
    ? new ModelError(error)
    : error

const wasCached = (response) => response.headers.get('x-aikit-cache') === 'hit'

const textOf = (message) =>
  message.content
    .filter((block) => block.type === 'text')
    .map((block) => block.text)
    .join('')

const usageOf = (usage) =>
  usage && { inputTokens: usage.input_tokens ?? 0, outputTokens: usage.output_tokens ?? 0 }

/**
 * The model call without any HTTP: used by the middleware below and by framework-native handlers.
 * @param {{ anthropic: Anthropic, model: string }} parts
 */
export function createAnswerer({ anthropic, model }) {
  // temperature 0: the answer depends only on the question, so the wrapper may cache it (per subject).
  const params = (message) => ({
    model,
    max_tokens: MAX_TOKENS,
    temperature: 0,
    messages: [{ role: 'user', content: message }],
  })
  const options = (subject, signal) =>
    aikit(subject === undefined ? {} : { subject }, signal === undefined ? {} : { signal })

  /** One complete answer: `{ text, cached, usage }`. */
  async function complete({ message, subject, signal }) {
    try {
      const { data, response } = await anthropic.messages
        .create(params(message), options(subject, signal))
        .withResponse()
      return { text: textOf(data), cached: wasCached(response), usage: usageOf(data.usage) }
    } catch (error) {
      throw toClientError(error)
    }
  }

  /**
   * Starts a streamed answer. Resolves once the model accepted the call (budget, guard and cache
   * already decided, so those errors come before any byte is sent) with `chunks` (the text) and
   * `info` (`cached` now, `usage` once `chunks` is done).
   */
  async function open({ message, subject, signal }) {
    let stream
    let response
    try {
      ;({ data: stream, response } = await anthropic.messages
        .create({ ...params(message), stream: true }, options(subject, signal))
        .withResponse())
    } catch (error) {
      throw toClientError(error)
    }
    const info = { cached: wasCached(response), usage: undefined }
    async function* chunks() {
      let usage = {}
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
          yield event.delta.text
        } else if (event.type === 'message_start') usage = { ...event.message.usage }
        else if (event.type === 'message_delta') usage = { ...usage, ...event.usage }
      }
      info.usage = usageOf(usage)
    }
    return { chunks: chunks(), info }
  }

  /**
   * `answer({ message, stream, subject, signal })`: with `stream`, an `AsyncIterable<string>` of
   * the text (a budget, guard or provider error is thrown by its first `next()`); otherwise a
   * `Promise<{ text, cached, usage }>`.
   */
  function answer({ message, stream = false, subject, signal }) {
    if (!stream) return complete({ message, subject, signal })
    return (async function* streamed() {
      const { chunks } = await open({ message, subject, signal })
      yield* chunks
    })()
  }

  return { complete, open, answer }
}

const encoder = new TextEncoder()
const event = (name, data) =>
  encoder.encode(`${name ? `event: ${name}\n` : ''}data: ${JSON.stringify(data)}\n\n`)

/**
 * The terminal middleware of `POST /api/chat` (other paths go on to `next`).
 * Stream: `event: meta {model, fake}`, `data: {"text"}`…, `event: done {usage, cached}`; a failure
 * once the stream has begun (the provider's `event: error`, a dropped connection) ends it with
 * `event: error` and the JSON error body (`{"error":{"code":"MODEL_ERROR",…}}` for a provider
 * error), logged at error level.
 * Otherwise JSON `{ text, model, fake, cached }`.
 * @param {{ answerer: ReturnType<typeof createAnswerer>, model: string, fake: boolean, logger?: { error(message: string, meta?: object): unknown } }} parts
 * @returns {import('@aikit/core').Middleware}
 */
export function createChatMiddleware({ answerer, model, fake, logger }) {
  const body = validate({ body: ChatRequest })
  const reply = async function reply(ctx) {
    const { message, stream } = body.data(ctx).body
    // The subject (session) and the disconnect signal are the request's: the wrapper reads them
    // from the current context, they are passed here only to be explicit.
    const call = { message, subject: ctx.state.subject, signal: ctx.signal }
    if (!stream) {
      const { text, cached } = await answerer.complete(call)
      ctx.respond(200, { text, model, fake, cached }, { 'cache-control': 'no-store' })
      return
    }
    const { chunks, info } = await answerer.open(call)
    async function* events() {
      yield event('meta', { model, fake })
      try {
        for await (const text of chunks) yield event(undefined, { text })
      } catch (error) {
        // The client went away: nobody to tell (the adapter ends the response).
        if (ctx.signal.aborted) return
        // The 200 head is sent: say it in the stream, as the JSON answer would have (a provider
        // error is 502 MODEL_ERROR, its message kept out), and end the response cleanly.
        const failure = toClientError(error)
        logger?.error('chat stream failed', { code: errorBody(failure).error.code, err: error })
        yield event('error', errorBody(failure))
        return
      }
      yield event('done', { usage: info.usage, cached: info.cached })
    }
    ctx.respond(200, events(), {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Ask nginx-like proxies not to buffer the stream.
      'x-accel-buffering': 'no',
    })
  }
  const post = compose(bodyLimit({ maxBytes: '16kb', requireJson: true }), body, reply)
  return async function chat(ctx, next) {
    if (ctx.path !== '/api/chat') return next()
    if (ctx.method !== 'POST') {
      ctx.setHeader('allow', 'POST')
      throw new MethodNotAllowedError()
    }
    await post(ctx, next)
  }
}
