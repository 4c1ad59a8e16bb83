/**
 * @module sse
 * `sseHandler(options)`: a middleware that streams one job's events to a browser as Server-Sent
 * Events, from whichever instance the browser reached (the events come through Redis). A job is
 * shown only to its own subject (another subject gets the same 404 as an unknown job), and a
 * reconnecting `EventSource` resumes after its `Last-Event-ID`.
 */
import {
  AikitError,
  type Context,
  errorBody,
  InvalidOptionsError,
  InvalidRequestError,
  type Middleware,
} from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { type Duration, parseDuration } from './duration.js'
import { JobNotFoundError } from './errors.js'
import { endedByOf } from './follow.js'
import { JOB_ID } from './keys.js'
import type { LlmQueue } from './queue.js'
import type { LlmJobEvent } from './types.js'

/** Options of `sseHandler`. */
export interface SseHandlerOptions {
  /** The queue the jobs are in (any instance's queue object). Required. */
  queue: LlmQueue
  /** The job id of a request. Default: the last path segment (`/jobs/:id`). */
  jobId?: (ctx: Context) => string | undefined
  /**
   * The requester's subject, compared with the job's: a job enqueued for a subject is streamed only
   * to that subject. Default `ctx.state.subject`.
   */
  subjectBy?: (ctx: Context) => string | undefined
  /** Interval of the `: ping` comments that keep proxies from closing a quiet stream. Default `'15s'`. */
  heartbeat?: Duration
}

const SSE_OPTION_KEYS = [
  'queue',
  'jobId',
  'subjectBy',
  'heartbeat',
] as const satisfies readonly (keyof SseHandlerOptions)[]

/** One event in SSE wire format. */
export function formatSse(event: LlmJobEvent): string {
  const { id, type, run: _run, seq: _seq, ...data } = event
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`
}

const lastSegment = (ctx: Context): string | undefined => {
  const seg = ctx.path.split('/').filter(Boolean).pop()
  if (seg === undefined) return undefined
  try {
    return decodeURIComponent(seg)
  } catch {
    return undefined
  }
}

/** Events as SSE text, with heartbeats while nothing happens. */
async function* sseBody(
  events: AsyncIterable<LlmJobEvent>,
  heartbeatMs: number
): AsyncGenerator<string, void, undefined> {
  const it = events[Symbol.asyncIterator]()
  let next = it.next() // subscribes and replays while the head goes out
  yield ': stream\n\n' // the head and a first byte go out now: the browser's onopen fires
  try {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const tick = new Promise<'tick'>((resolve) => {
        timer = setTimeout(() => resolve('tick'), heartbeatMs)
      })
      const r = await Promise.race([next, tick])
      clearTimeout(timer)
      if (r === 'tick') {
        yield ': ping\n\n'
        continue
      }
      if (r.done) return
      yield formatSse(r.value)
      next = it.next()
    }
  } finally {
    await it.return?.()
  }
}

/**
 * Streams a job's events as SSE (`event: start | token | retry | done | error`, `id: <run>.<seq>`,
 * `data:` JSON). A reconnect whose `Last-Event-ID` is the job's end (or past it): 204, so the
 * browser's `EventSource` stops. Unknown, expired or another subject's job: 404 with the JSON error
 * shape; a closed queue object: 503 `QUEUE_CLOSED`; Redis down: the `StoreUnavailableError` is
 * thrown, and the adapter answers it (503 with `Retry-After`).
 *
 * @example
 * app.get('/jobs/:id', toExpress(auth, sseHandler({ queue })))  // the id is the last path segment
 * app.get('/jobs/:id/events', toExpress(auth, sseHandler({ queue, jobId: (ctx) => ctx.path.split('/')[2] })))
 */
export function sseHandler(options: SseHandlerOptions): Middleware {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, SSE_OPTION_KEYS)
  const { queue } = options
  if (queue === null || typeof queue !== 'object' || typeof queue.follow !== 'function') {
    throw new InvalidOptionsError('queue', 'must be a queue from createLlmQueue()')
  }
  for (const field of ['jobId', 'subjectBy'] as const) {
    if (options[field] !== undefined && typeof options[field] !== 'function') {
      throw new InvalidOptionsError(field, 'must be a function (ctx) => string | undefined')
    }
  }
  const jobIdOf = options.jobId ?? lastSegment
  const subjectBy = options.subjectBy ?? ((ctx: Context) => ctx.state.subject)
  const heartbeatMs = parseDuration(options.heartbeat ?? 15_000, 'heartbeat')

  return async function llmJobEvents(ctx) {
    const jobId = jobIdOf(ctx)
    if (jobId === undefined || !JOB_ID.test(jobId)) {
      const error = new InvalidRequestError('Invalid job id')
      ctx.respond(error.status, errorBody(error))
      return
    }
    let owner: string | null | undefined
    try {
      owner = await queue.subjectOf(jobId)
    } catch (error) {
      // The queue object is closed (QueueClosedError, 503): it can follow nothing, so the answer is
      // an error before any head, not a 200 event stream that breaks off at once.
      if (!(error instanceof AikitError) || error.code !== 'QUEUE_CLOSED') throw error
      ctx.respond(error.status, errorBody(error))
      return
    }
    const requester = subjectBy(ctx)
    if (owner === undefined || (owner !== null && owner !== requester)) {
      const error = new JobNotFoundError()
      ctx.respond(error.status, errorBody(error))
      return
    }
    const after = ctx.header('last-event-id')
    // A reconnect after the job's end has nothing to get: 204 makes an EventSource stop (an empty
    // 200 would have it reconnect every few seconds for ever).
    const ended = endedByOf.get(queue)
    if (after !== undefined && ended !== undefined && (await ended(jobId, after))) {
      ctx.respond(204)
      return
    }
    const events = queue.follow(jobId, {
      signal: ctx.signal,
      ...(after === undefined ? {} : { after }),
    })
    ctx.respond(200, sseBody(events, heartbeatMs), {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
  }
}
