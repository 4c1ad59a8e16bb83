import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { handleAnthropicCountTokens, handleAnthropicMessages } from './anthropic.js'
import { ControlState } from './control.js'
import { type ErrorDialect, sendError } from './errors.js'
import type { Exchange } from './exchange.js'
import { handleOpenAIChat } from './openai-chat.js'
import { handleOpenAIResponses } from './openai-responses.js'
import { checkPlan } from './plan.js'
import { closed as gone } from './sse.js'
import { isRecord } from './tokens.js'
import type { FakeProvider, FakeProviderOptions, RecordedCall } from './types.js'

type Handler = (x: Exchange) => void | Promise<void>

const ROUTES: Record<string, { dialect: ErrorDialect; handle: Handler }> = {
  '/v1/messages': { dialect: 'anthropic', handle: handleAnthropicMessages },
  '/v1/messages/count_tokens': { dialect: 'anthropic', handle: handleAnthropicCountTokens },
  '/v1/chat/completions': { dialect: 'openai', handle: handleOpenAIChat },
  '/v1/responses': { dialect: 'openai', handle: handleOpenAIResponses },
}

const SECRET_HEADERS = new Set([
  'x-api-key',
  'authorization',
  'proxy-authorization',
  'api-key',
  'cookie',
])

/** Copy of the request headers with credentials replaced by `[redacted]`. */
export function redactHeaders(headers: IncomingMessage['headers']): RecordedCall['headers'] {
  const out: Record<string, string | string[] | undefined> = {}
  for (const [name, value] of Object.entries(headers)) {
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? '[redacted]' : value
  }
  return out
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')))
  })
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * Starts the fake LLM provider on `127.0.0.1` with a free port. Speaks Anthropic Messages,
 * OpenAI Chat Completions and OpenAI Responses well enough for the real SDKs.
 */
export async function startFakeProvider(opts: FakeProviderOptions = {}): Promise<FakeProvider> {
  const state = new ControlState(opts)
  const sockets = new Set<Socket>()
  let closing = false

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const route = req.method === 'POST' ? ROUTES[path] : undefined
    let call: RecordedCall | undefined
    state.begin()
    res.on('close', () => {
      if (call && !res.writableFinished && !call.broken && !closing) call.aborted = true
      state.end()
    })
    const raw = await readBody(req)
    call = {
      method: req.method ?? 'GET',
      path,
      body: parseJson(raw),
      headers: redactHeaders(req.headers),
      receivedAt: Date.now(),
      status: undefined,
      aborted: false,
      broken: false,
    }
    state.calls.push(call)
    if (res.destroyed) {
      call.aborted = !closing
      return
    }
    if (!route) {
      sendError(res, call, path.startsWith('/v1/messages') ? 'anthropic' : 'openai', {
        status: 404,
        message: `No route for ${call.method} ${path} (fake provider).`,
      })
      return
    }
    const action = state.takeAction()
    if (action?.kind === 'hang') return
    if (action?.kind === 'hold') {
      action.hold.reached()
      await Promise.race([action.hold.released, gone(res)])
      if (res.destroyed) return
    }
    if (action?.kind === 'fail') {
      sendError(res, call, route.dialect, action.spec)
      return
    }
    if (!isRecord(call.body)) {
      sendError(res, call, route.dialect, {
        status: 400,
        message: 'Request body must be a JSON object.',
      })
      return
    }
    try {
      await route.handle({ res, call, body: call.body, state })
    } catch (err) {
      if (res.headersSent) res.destroy()
      else sendError(res, call, route.dialect, { status: 500, message: String(err) })
    }
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch(() => res.destroy())
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  let closed: Promise<void> | undefined

  return {
    url,
    anthropicBaseURL: url,
    openaiBaseURL: `${url}/v1`,
    calls: state.calls,
    count: (p) =>
      p === undefined ? state.calls.length : state.calls.filter((c) => c.path === p).length,
    reset: () => state.reset(),
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true
        state.clearTimers()
        state.releaseHolds()
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
      return closed
    },
    failNext: (n, spec) => state.enqueue(n, { kind: 'fail', spec }),
    hangNext: (n) => state.enqueue(n, { kind: 'hang' }),
    holdNext: () => state.holdRequest(),
    answerNext: (n, plan) => state.addAnswers(n, structuredClone(checkPlan(plan))),
    breakStreamAfter: (nChunks) => state.addBreak(nChunks),
    holdStreamAfter: (nEvents) => state.addHold(nEvents),
    errorStreamAfter: (nEvents, message = 'Overloaded (fake provider).') =>
      state.addStreamError(nEvents, message),
    endStreamAfter: (nEvents) => state.addEnd(nEvents),
    setReply: (fn) => {
      state.reply = fn
    },
    setStreamDelayMs: (ms) => {
      state.streamDelayMs = ms
    },
    setUsage: (override) => {
      state.usage = override
    },
    idle: () => state.idle(),
  }
}
