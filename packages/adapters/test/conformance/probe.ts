/**
 * The conformance probe: two middleware (`observer` outermost, then `probe`) that exercise the
 * protocol and record what the server saw, keyed by the `x-probe-id` request header. The test
 * reads a record back with `GET /__probe/obs?id=<id>`, answered by the observer itself, so the
 * side channel works whether the server runs in the test process or in another one (`next start`).
 *
 * Routes every adapter's test server must provide behind the middleware (see `cases.ts`):
 * - `GET /route`: status 200, sets its own `x-override: route` header, answers JSON
 *   `routeResult(id)` (which checks `currentContext()`);
 * - `GET /plain`: the most basic write the framework has (node: `res.end('plain')` only);
 * - `POST /body-route`: the framework parses the JSON body itself (express.json(), Fastify's
 *   request.body…) and answers `{ routeBody: <parsed body> }`;
 * - anything else: the framework's own 404.
 */
import {
  type Context,
  currentContext,
  type Middleware,
  onFinished,
  requireAsyncContext,
} from '@aikit/core'

// The route handlers read currentContext(): declared up front, as the core README asks of any app
// that does, so every request is scoped whichever case runs first.
requireAsyncContext()

/** What the server recorded for one request. JSON-serialisable. */
export interface Observation {
  path: string
  /** `ctx.status` inside onHeaders. */
  statusInOnHeaders?: number | undefined
  /** `ctx.status` in the outermost middleware after `await next()` resolved. */
  statusAfterNext?: number | undefined
  /** `ctx.headersSent` right after `await next()`. */
  headersSentAfterNext?: boolean
  /** What `ctx.finished` resolved with. */
  finished?: { aborted: boolean }
  /** What the `onFinished(ctx, fn)` callback got (it runs before `finished`'s reactions). */
  finishedCallback?: { aborted: boolean }
  /** `ctx.signal.aborted` when `finished` resolved (only recorded for stream paths). */
  signalAborted?: boolean
  /** Stream paths: events produced so far. */
  produced?: number
  /** Stream paths: `produced` when `finished` resolved. */
  producedAtFinish?: number
  /** Stream paths: the source ran to its end. */
  sourceCompleted?: boolean
  /** Stream paths: the source's `finally` ran before it was exhausted (cancelled). */
  sourceCancelled?: boolean
  /** `/route`: `currentContext()` inside the route handler was this request's ctx. */
  sameContext?: boolean
  /** `/body-route`: the body the middleware read with `ctx.json()`. */
  middlewareBody?: unknown
}

const observations = new Map<string, Observation>()
const contexts = new Map<string, Context>()

/** The request header that keys observations. */
export const PROBE_ID_HEADER = 'x-probe-id'

/** Number of SSE events the `/sse` source emits, 200 ms apart. */
export const SSE_EVENTS = 5

/** The thrown error's message: must never reach the client. */
export const SECRET_MESSAGE = 'secret-internal-detail-42'

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Called by the route handler behind `GET /route`: checks `currentContext()` for this request. */
export function routeResult(id: string | undefined): { ok: true; sameContext: boolean } {
  const current = currentContext()
  const expected = id === undefined ? undefined : contexts.get(id)
  const sameContext = current !== undefined && current === expected
  const obs = id === undefined ? undefined : observations.get(id)
  if (obs !== undefined) obs.sameContext = sameContext
  return { ok: true, sameContext }
}

/** Outermost: records status/finished, sets header-based observations, serves the side channel. */
const observer: Middleware = async function observer(ctx, next) {
  if (ctx.path === '/__probe/obs') {
    const id = new URLSearchParams(ctx.query).get('id') ?? ''
    ctx.respond(200, { observation: observations.get(id) ?? null })
    return
  }
  const id = ctx.header(PROBE_ID_HEADER)
  if (id === undefined) return next()
  const obs: Observation = { path: ctx.path }
  observations.set(id, obs)
  contexts.set(id, ctx)
  const streaming = ctx.path.startsWith('/sse')
  ctx.setHeader('x-before-next', 'yes')
  ctx.setHeader('x-override', 'middleware')
  ctx.setHeader('vary', 'Origin')
  ctx.appendHeader('set-cookie', 'mw1=1; Path=/')
  ctx.appendHeader('set-cookie', 'mw2=2; Path=/')
  ctx.onHeaders(() => {
    obs.statusInOnHeaders = ctx.status
    ctx.setHeader('x-final-status', String(ctx.status))
  })
  const signal = streaming ? ctx.signal : undefined
  onFinished(ctx, (info) => {
    obs.finishedCallback = info
  })
  void ctx.finished.then((info) => {
    obs.finished = info
    if (signal !== undefined) obs.signalAborted = signal.aborted
    if (obs.produced !== undefined) obs.producedAtFinish = obs.produced
    contexts.delete(id)
  })
  await next()
  obs.statusAfterNext = ctx.status
  obs.headersSentAfterNext = ctx.headersSent
}

/** Per-path behaviour; anything not listed goes on to the framework. */
const probe: Middleware = async function probe(ctx, next) {
  const id = ctx.header(PROBE_ID_HEADER)
  const obs = id === undefined ? undefined : observations.get(id)
  switch (ctx.path) {
    case '/limited':
      ctx.respond(429, { error: { code: 'RATE_LIMITED', message: 'Too many requests' } })
      return
    case '/throw':
      throw new Error(SECRET_MESSAGE)
    case '/echo': {
      const body = await ctx.json()
      ctx.respond(200, { echo: body })
      return
    }
    case '/ip':
      ctx.respond(200, { ip: ctx.ip ?? null })
      return
    case '/body-route': {
      const body = await ctx.json()
      if (obs !== undefined) obs.middlewareBody = body
      return next()
    }
    case '/sse': {
      const record = obs ?? ({ path: ctx.path } as Observation)
      record.produced = 0
      async function* events(): AsyncGenerator<string> {
        let completed = false
        try {
          for (let i = 0; i < SSE_EVENTS; i++) {
            if (i > 0) await sleep(200)
            record.produced = i + 1
            yield `id: ${i}\ndata: {"n":${i}}\n\n`
          }
          completed = true
        } finally {
          record.sourceCompleted = completed
          record.sourceCancelled = !completed
        }
      }
      ctx.respond(200, events(), {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
      })
      return
    }
    case '/sse-abort': {
      // An endless async generator: the client disconnects; its `finally` must run.
      const record = obs ?? ({ path: ctx.path } as Observation)
      record.produced = 0
      async function* endless(): AsyncGenerator<string> {
        let completed = false
        try {
          for (let i = 0; i < 600; i++) {
            if (i > 0) await sleep(50)
            record.produced = i + 1
            yield `data: ${i}\n\n`
          }
          completed = true
        } finally {
          record.sourceCompleted = completed
          record.sourceCancelled = !completed
        }
      }
      ctx.respond(200, endless(), { 'content-type': 'text/event-stream' })
      return
    }
    case '/sse-abort-web': {
      // The same with a Web ReadableStream: its `cancel` must be called.
      const record = obs ?? ({ path: ctx.path } as Observation)
      record.produced = 0
      let timer: ReturnType<typeof setTimeout> | undefined
      const encoder = new TextEncoder()
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          return new Promise<void>((resolve) => {
            const n = record.produced ?? 0
            timer = setTimeout(
              () => {
                record.produced = n + 1
                if (n + 1 > 600) {
                  record.sourceCompleted = true
                  controller.close()
                } else controller.enqueue(encoder.encode(`data: ${n}\n\n`))
                resolve()
              },
              n === 0 ? 0 : 50
            )
          })
        },
        cancel() {
          if (timer !== undefined) clearTimeout(timer)
          record.sourceCancelled = true
        },
      })
      ctx.respond(200, stream, { 'content-type': 'text/event-stream' })
      return
    }
    default:
      return next()
  }
}

/** The probe chain every adapter runs: `[observer, probe]`. */
export function probeMiddleware(): Middleware[] {
  return [observer, probe]
}
