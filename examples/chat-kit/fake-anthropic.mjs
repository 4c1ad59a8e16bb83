// A built-in fake of Anthropic's Messages API, handed to the REAL `@anthropic-ai/sdk` client as
// its `fetch`: the SDK, the AI Kit wrapper, the cache, the budget and the metrics all run for real,
// with no key and no network. Answers are deterministic (the same question gives the same text),
// say that they come from a fake model, stream word by word, and report usage like the real API.

const encoder = new TextEncoder()

/** The answer of the fake model to `question`, as the words it streams. */
export function fakeAnswerWords(question) {
  const shown = question.length > 200 ? `${question.slice(0, 200)}…` : question
  return `(This is a fake model: ANTHROPIC_API_KEY is not set, so no real model was called.) You asked: "${shown}". Set ANTHROPIC_API_KEY to get real answers; everything else you see here (cache, budget, rate limit, metrics) is the real AI Kit stack.`
    .split(' ')
    .map((word, i) => (i === 0 ? word : ` ${word}`))
}

/** A rough token count (4 characters a token), enough for usage and cost. */
const tokensOf = (text) => Math.max(1, Math.ceil(text.length / 4))

const lastUserText = (messages) => {
  const last = [...(Array.isArray(messages) ? messages : [])]
    .reverse()
    .find((m) => m?.role === 'user')
  if (typeof last?.content === 'string') return last.content
  if (Array.isArray(last?.content)) {
    return last.content.map((block) => (block?.type === 'text' ? block.text : '')).join('')
  }
  return ''
}

const inputText = (body) =>
  [
    typeof body.system === 'string' ? body.system : '',
    ...(body.messages ?? []).map((m) => JSON.stringify(m.content)),
  ].join('\n')

const json = (status, value, headers = {}) =>
  new Response(JSON.stringify(value), {
    status,
    headers: { 'content-type': 'application/json', 'request-id': 'req_fake', ...headers },
  })

const apiError = (status, type, message) =>
  json(status, { type: 'error', error: { type, message } })

const sse = (event, data) => encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })

/**
 * Builds the fake: `fetch` for `new Anthropic({ fetch })`, and `stats`, which counts the calls
 * that reached the "provider" and the ones the caller aborted (tests use them to prove that a
 * cache hit makes no provider call and that a client disconnect stops the model).
 * @param {{ delayMs?: number }} [options] `delayMs`: pause between two streamed words (default 30)
 */
export function createFakeAnthropic({ delayMs = 30 } = {}) {
  // aborted: calls whose request signal aborted before the answer was complete.
  const stats = { calls: 0, streams: 0, aborted: 0, completed: 0 }
  let ids = 0

  /** @type {typeof fetch} */
  async function fakeFetch(input, init = {}) {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
    const signal = init.signal ?? undefined
    if (url.pathname !== '/v1/messages' || (init.method ?? 'GET').toUpperCase() !== 'POST') {
      return apiError(404, 'not_found_error', `the fake model only answers POST /v1/messages`)
    }
    let body
    try {
      body = JSON.parse(
        typeof init.body === 'string' ? init.body : await new Response(init.body).text()
      )
    } catch {
      return apiError(400, 'invalid_request_error', 'body: invalid JSON')
    }
    if (typeof body.model !== 'string' || typeof body.max_tokens !== 'number') {
      return apiError(400, 'invalid_request_error', 'model and max_tokens: Field required')
    }
    if (signal?.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError')
    stats.calls++
    const words = fakeAnswerWords(lastUserText(body.messages)).slice(
      0,
      Math.max(1, body.max_tokens)
    )
    const text = words.join('')
    const usage = {
      input_tokens: tokensOf(inputText(body)),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: words.length,
    }
    const message = {
      id: `msg_fake_${++ids}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    }
    if (body.stream !== true) {
      await sleep(delayMs, signal)
      if (signal?.aborted) {
        stats.aborted++
        throw signal.reason ?? new DOMException('aborted', 'AbortError')
      }
      stats.completed++
      return json(200, { ...message, content: [{ type: 'text', text }], stop_reason: 'end_turn' })
    }

    stats.streams++
    let ended = false
    const stop = () => {
      if (ended) return
      ended = true
      stats.aborted++
    }
    const events = async function* () {
      yield sse('message_start', {
        type: 'message_start',
        message: { ...message, usage: { ...usage, output_tokens: 1 } },
      })
      yield sse('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'text', text: '' },
      })
      for (const word of words) {
        await sleep(delayMs, signal)
        if (signal?.aborted) return stop()
        yield sse('content_block_delta', {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'text_delta', text: word },
        })
      }
      yield sse('content_block_stop', { type: 'content_block_stop', index: 0 })
      yield sse('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage,
      })
      yield sse('message_stop', { type: 'message_stop' })
      ended = true
      stats.completed++
    }
    const iterator = events()
    const stream = new ReadableStream({
      async pull(controller) {
        const { value, done } = await iterator.next()
        if (done) {
          if (signal?.aborted) controller.error(signal.reason)
          else controller.close()
        } else controller.enqueue(value)
      },
      // The SDK cancels the body when its caller stops reading (after aborting its signal).
      async cancel() {
        await iterator.return()
      },
    })
    signal?.addEventListener('abort', stop, { once: true })
    return new Response(stream, {
      status: 200,
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'request-id': 'req_fake' },
    })
  }

  return { fetch: fakeFetch, stats }
}
