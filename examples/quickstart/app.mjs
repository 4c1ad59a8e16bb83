// The quickstart app: AI Kit middleware in front of a streamed chat endpoint.
//   POST /api/chat {"message":"hi"}  → text/event-stream of the answer
//   GET  /                           → a page that calls it
import { readFileSync } from 'node:fs'
import { toNodeHandler } from '@aikit/adapters/node'
import { compose, InvalidRequestError } from '@aikit/core'
import { modelName, streamAnswer } from './model.mjs'

const page = readFileSync(new URL('./index.html', import.meta.url))

/** Gives every request an id, echoed in a header, and logs one line when the body is done. */
const requestId = async function requestId(ctx, next) {
  const id = crypto.randomUUID()
  ctx.state.requestId = id
  ctx.setHeader('x-request-id', id)
  const started = performance.now()
  await next()
  const { aborted } = await ctx.finished
  const ms = (performance.now() - started).toFixed(1)
  process.stdout.write(
    `${ctx.method} ${ctx.path} ${ctx.status} ${ms}ms${aborted ? ' aborted' : ''} id=${id}\n`
  )
}

const baseHeaders = async function baseHeaders(ctx, next) {
  ctx.setHeader('x-content-type-options', 'nosniff')
  ctx.setHeader('referrer-policy', 'no-referrer')
  await next()
}

const chat = async function chat(ctx, next) {
  if (ctx.path === '/') {
    ctx.respond(200, page, { 'content-type': 'text/html; charset=utf-8' })
    return
  }
  if (ctx.path !== '/api/chat' || ctx.method !== 'POST') return next()
  const body = await ctx.json({ maxBytes: 16 * 1024 }) // 413 / 415 / 400 become JSON errors
  if (
    typeof body?.message !== 'string' ||
    body.message.length === 0 ||
    body.message.length > 2000
  ) {
    throw new InvalidRequestError('`message` must be a string of 1 to 2000 characters')
  }
  const encoder = new TextEncoder()
  const signal = ctx.signal
  async function* events() {
    yield encoder.encode(`event: meta\ndata: ${JSON.stringify({ model: modelName() })}\n\n`)
    for await (const text of streamAnswer(body.message, signal)) {
      yield encoder.encode(`data: ${JSON.stringify({ text })}\n\n`)
    }
    yield encoder.encode('event: done\ndata: {}\n\n')
  }
  ctx.respond(200, events(), {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
  })
}

/** The node:http request listener of the app. */
export const app = toNodeHandler(compose(requestId, baseHeaders, chat))
