/**
 * @module follow
 * A follower of one job: subscribes to the job's channel FIRST, then replays the log (what was
 * already produced), then yields live events, each exactly once and in order (by run, then seq).
 * A gap in the live events (a message lost while the subscriber reconnected) or a quiet period
 * makes it re-read the log, so a follower never misses an event, only sees it later. When its queue
 * object is closed, a follower rejects with `QueueClosedError` at its next step, whatever it was
 * doing at the time (waiting, re-reading the log, or suspended while its consumer held an event):
 * the job goes on, follow it again through another queue object.
 */
import { JobNotFoundError } from './errors.js'
import { JOB_ID, type JobKeys } from './keys.js'
import { checkSignal } from './options.js'
import type { RedisConnection } from './redis-types.js'
import type { Subscriber } from './subscriber.js'
import type { LlmJobEvent } from './types.js'

/** Options of `queue.follow(jobId, options)`. */
export interface FollowOptions {
  /** Stops the iteration (e.g. the request's `ctx.signal`). Default none. */
  signal?: AbortSignal
  /** Resume after this event id (`<run>.<seq>`, the SSE `Last-Event-ID`). Default: from the start. */
  after?: string
}

/** What a follower needs from its queue. */
export interface FollowDeps {
  readonly redis: RedisConnection
  readonly subscriber: Subscriber
  readonly keys: (jobId: string) => JobKeys
  /** How long to wait for a live event before re-reading the log. */
  readonly pollMs: number
  /** BullMQ's state of the job (`'unknown'` once it is gone). */
  readonly jobState: (jobId: string) => Promise<string>
}

interface Cursor {
  run: number
  seq: number
}

function parseEvent(json: string): LlmJobEvent | undefined {
  try {
    const e = JSON.parse(json) as LlmJobEvent
    return typeof e === 'object' && e !== null && typeof e.run === 'number' ? e : undefined
  } catch {
    return undefined
  }
}

function parseCursor(after: string | undefined): Cursor {
  const m = after === undefined ? null : /^(\d{1,9})\.(\d{1,9})$/.exec(after)
  return m ? { run: Number(m[1]), seq: Number(m[2]) } : { run: 0, seq: -1 }
}

const isAfter = (e: LlmJobEvent, c: Cursor): boolean =>
  e.run > c.run || (e.run === c.run && e.seq > c.seq)

/** True when `e` is the very next event after `c` (same run, next seq; or a new run's start). */
const isNext = (e: LlmJobEvent, c: Cursor): boolean =>
  (e.run === c.run && e.seq === c.seq + 1) || (e.run > c.run && e.seq === 0)

/** The end of a job that BullMQ dropped without a stored result. */
const lostEvent = (c: Cursor): LlmJobEvent => ({
  type: 'error',
  id: `${c.run}.${c.seq + 1}`,
  run: c.run,
  seq: c.seq + 1,
  error: { code: 'JOB_LOST', message: 'The job ended without a result', attempts: 0 },
})

const isFinal = (e: LlmJobEvent): boolean => e.type === 'done' || e.type === 'error'

/**
 * True when the job ended (its `done` or `error` is stored) at or before `after`: a follower resumed
 * there would end at once with nothing to send.
 */
export async function endedBy(deps: FollowDeps, jobId: string, after: string): Promise<boolean> {
  const raw = await deps.redis.get(deps.keys(jobId).result)
  const final = raw === null ? undefined : parseEvent(raw)
  return final !== undefined && !isAfter(final, parseCursor(after))
}

/**
 * `endedBy` of the queue objects `createLlmQueue` made (internal: not on `LlmQueue`, which an app
 * may implement itself; `sseHandler` asks it when there).
 */
export const endedByOf = new WeakMap<object, (jobId: string, after: string) => Promise<boolean>>()

/**
 * Follows `jobId`; throws `JobNotFoundError` (at the first `next()`) for an unknown job, and
 * `QueueClosedError` once the subscriber (the queue object) is closed: checked before each event
 * is yielded and before each wait, so a close that no wait was there to hear is never missed.
 */
export async function* followJob(
  deps: FollowDeps,
  jobId: string,
  options: FollowOptions = {}
): AsyncGenerator<LlmJobEvent, void, undefined> {
  if (typeof jobId !== 'string' || !JOB_ID.test(jobId)) throw new JobNotFoundError()
  const signal = options.signal === undefined ? undefined : checkSignal(options.signal)
  if (signal?.aborted) return
  const closed = deps.subscriber.closed
  closed.throwIfAborted()
  const keys = deps.keys(jobId)
  const live: LlmJobEvent[] = []
  let wake: (() => void) | undefined
  const poke = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  const unsubscribe = await deps.subscriber.subscribe(keys.channel, (message) => {
    const e = parseEvent(message)
    if (e) {
      live.push(e)
      poke()
    }
  })
  signal?.addEventListener('abort', poke, { once: true })
  closed.addEventListener('abort', poke, { once: true })
  const cursor = parseCursor(options.after)
  let checkedExists = false
  /** The stored end is at or before the cursor: the caller has seen it, nothing more will come. */
  let endSeen = false

  /**
   * Waits for a live event, the caller's abort, the queue's close or `pollMs`, whichever comes
   * first. Returns at once when one of them already happened (e.g. the queue was closed while the
   * consumer held an event or while the log was re-read: its `poke` then found no wait to wake).
   */
  const waitForNews = async (): Promise<void> => {
    if (live.length > 0 || signal?.aborted || closed.aborted) return
    let timer: ReturnType<typeof setTimeout> | undefined
    await new Promise<void>((resolve) => {
      wake = resolve
      timer = setTimeout(poke, deps.pollMs)
    })
    clearTimeout(timer)
  }

  /** Re-reads the log (or the stored result) and returns the events after the cursor. */
  const resync = async (): Promise<LlmJobEvent[]> => {
    const [raw, result] = await Promise.all([
      deps.redis.lrange(keys.log, 0, -1),
      deps.redis.get(keys.result),
    ])
    const events = raw.map(parseEvent).filter((e): e is LlmJobEvent => e !== undefined)
    const final = result === null ? undefined : parseEvent(result)
    if (events.length === 0 && final) events.push(final)
    if (final && !isAfter(final, cursor)) endSeen = true
    if (events.length === 0 && !checkedExists) {
      // Not started yet, or unknown: the meta key is written at enqueue.
      if ((await deps.redis.exists(keys.meta)) === 0) throw new JobNotFoundError()
    }
    checkedExists = true
    return events.filter((e) => isAfter(e, cursor))
  }

  try {
    closed.throwIfAborted() // closed while subscribing
    let batch = await resync()
    for (;;) {
      for (const e of batch) {
        if (!isAfter(e, cursor)) continue
        closed.throwIfAborted() // closed while re-reading, or while the consumer held an event
        cursor.run = e.run
        cursor.seq = e.seq
        yield e
        if (isFinal(e)) return
        if (signal?.aborted) return
      }
      batch = []
      if (signal?.aborted || endSeen) return // resumed at or past the end: it ends quietly
      closed.throwIfAborted() // closed while the consumer held the last event, or while re-reading
      await waitForNews()
      if (signal?.aborted) return
      closed.throwIfAborted()
      if (live.length === 0) {
        batch = await resync() // quiet: catch up on anything pub/sub lost
        // Still nothing, and BullMQ no longer has the job: it ended without a result (it stalled
        // more than `maxStalledCount` times). Read once more, then report it lost.
        if (batch.length === 0 && (await deps.jobState(jobId)) === 'unknown') {
          batch = await resync()
          if (batch.length === 0) batch = [lostEvent(cursor)]
        }
        continue
      }
      const incoming = live.splice(0)
      let gap = false
      const probe = { ...cursor }
      for (const e of incoming) {
        if (!isAfter(e, probe)) continue
        if (!isNext(e, probe)) {
          gap = true
          break
        }
        batch.push(e)
        probe.run = e.run
        probe.seq = e.seq
      }
      if (gap) batch = await resync()
    }
  } finally {
    signal?.removeEventListener('abort', poke)
    closed.removeEventListener('abort', poke)
    unsubscribe()
  }
}
