/**
 * @module run-log
 * The worker side of a job's event stream. Every event is appended to the job's log (a Redis list
 * that late followers replay) and published on the job's channel (live followers), in one MULTI,
 * so the two never disagree on order. A run starts by clearing the log: a follower that joins
 * after a worker crash replays the run that is going on, not the dead one.
 */
import type { LlmJobError } from './errors.js'
import type { JobKeys } from './keys.js'
import type { RedisConnection } from './redis-types.js'
import type { LlmJobEvent, LlmJobResult } from './types.js'

// While a job may still run again (a retry delay, a stall) its run counter must not expire, or a
// later run would restart at 1 and followers would take its events for ones they already have.
const RUN_COUNTER_MIN_TTL_MS = 86_400_000
// While the job runs its log must not expire (a late follower replays it from its `start`):
// `resultTtl` only starts at `finish`. Until then the log lives at least this long, renewed by
// every event, so the log of a run whose worker died still goes away in the end. The job's meta
// key (what sseHandler and a follower of a job with no events check first) is renewed with it in
// the same MULTI, and at the end gets the result's TTL with the log: one deadline for all, so it
// expires neither before them (a 404 for a job that can be followed) nor after them (a follower
// would then find a job with no events, no result and no BullMQ record, and report it lost).
const RUNNING_LOG_MIN_TTL_MS = 86_400_000

type Payload =
  | { type: 'token'; text: string }
  | { type: 'retry'; delayMs: number; status?: number }
  | { type: 'done'; result: LlmJobResult }
  | { type: 'error'; error: LlmJobError }

/** The events of one run of one job. */
export class RunLog {
  #run = 0
  #seq = 0
  // Token appends are not awaited one by one (ioredis keeps their order on the connection); the
  // first failure is kept and the end of the run awaits them all.
  #pending: Promise<unknown> = Promise.resolve()
  /** The first failed write of `emit`, rethrown by `flush` (held here: never an unhandled rejection). */
  #error: unknown = undefined
  #failed = false

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: JobKeys,
    private readonly ttlMs: number
  ) {}

  /** Starts a new run: a new run number, an empty log holding only its `start` event. */
  async start(): Promise<number> {
    this.#run = await this.redis.incr(this.keys.run)
    this.#seq = 0
    const event: LlmJobEvent = { type: 'start', id: `${this.#run}.0`, run: this.#run, seq: 0 }
    const json = JSON.stringify(event)
    await this.redis
      .multi()
      .pexpire(this.keys.run, Math.max(this.ttlMs, RUN_COUNTER_MIN_TTL_MS))
      .del(this.keys.log)
      .rpush(this.keys.log, json)
      .pexpire(this.keys.log, this.#runningTtlMs)
      .pexpire(this.keys.meta, this.#runningTtlMs)
      .publish(this.keys.channel, json)
      .exec()
    return this.#run
  }

  /** The log's TTL while the run goes on (`resultTtl` starts at `finish`). */
  get #runningTtlMs(): number {
    return Math.max(this.ttlMs, RUNNING_LOG_MIN_TTL_MS)
  }

  #event(payload: Payload): LlmJobEvent {
    this.#seq += 1
    return {
      ...payload,
      id: `${this.#run}.${this.#seq}`,
      run: this.#run,
      seq: this.#seq,
    } as LlmJobEvent
  }

  /** Appends and publishes a token or retry event (not awaited: see `flush`). */
  emit(payload: Extract<Payload, { type: 'token' | 'retry' }>): void {
    const json = JSON.stringify(this.#event(payload))
    const multi = this.redis.multi().rpush(this.keys.log, json)
    if (payload.type === 'retry') {
      // The job waits `delayMs` (up to `maxRetryDelay`, weeks) before its next run: the log, the
      // meta key and the run counter outlive the wait, or the job could not be followed meanwhile
      // and its next run would restart at run 1.
      const ttl = Math.max(this.#runningTtlMs, payload.delayMs + RUNNING_LOG_MIN_TTL_MS)
      multi
        .pexpire(this.keys.log, ttl)
        .pexpire(this.keys.meta, ttl)
        .pexpire(this.keys.run, Math.max(ttl, payload.delayMs + RUN_COUNTER_MIN_TTL_MS))
    } else {
      multi.pexpire(this.keys.log, this.#runningTtlMs).pexpire(this.keys.meta, this.#runningTtlMs)
    }
    const sent = multi
      .publish(this.keys.channel, json)
      .exec()
      .then(undefined, (error: unknown) => {
        // Handled at once: a write failing mid-stream must not surface as an unhandled rejection
        // (which kills the worker and every job it runs) before `flush` is reached.
        if (!this.#failed) {
          this.#failed = true
          this.#error = error
        }
      })
    this.#pending = Promise.all([this.#pending, sent])
  }

  /** Waits for every emitted event to be written; rejects with the first write that failed. */
  async flush(): Promise<void> {
    await this.#pending
    if (this.#failed) throw this.#error
  }

  /**
   * Ends the job: the final event becomes the stored result (TTL), closes the log and is
   * published. The log, the run counter and the meta key now live as long as the result.
   */
  async finish(payload: Extract<Payload, { type: 'done' | 'error' }>): Promise<LlmJobEvent> {
    await this.flush().catch(() => undefined)
    const event = this.#event(payload)
    const json = JSON.stringify(event)
    await this.redis
      .multi()
      .set(this.keys.result, json, 'PX', this.ttlMs)
      .rpush(this.keys.log, json)
      .pexpire(this.keys.log, this.ttlMs)
      .pexpire(this.keys.run, this.ttlMs)
      .pexpire(this.keys.meta, this.ttlMs)
      .publish(this.keys.channel, json)
      .exec()
    return event
  }
}

/** A job's final event, as `finish` stores it. */
export type JobEnd = Extract<LlmJobEvent, { type: 'done' | 'error' }>

/** The job's stored end, if it has one. */
export async function storedEnd(
  redis: RedisConnection,
  keys: JobKeys
): Promise<JobEnd | undefined> {
  const raw = await redis.get(keys.result)
  if (raw === null) return undefined
  const event = JSON.parse(raw) as LlmJobEvent
  return event.type === 'done' || event.type === 'error' ? event : undefined
}
