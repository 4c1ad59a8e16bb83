/**
 * @module holds
 * The enqueuing side's watch over the budget holds of the jobs THIS queue object enqueued. The
 * worker that runs a job settles (or releases) its hold through the handle in the job's data; this
 * is the backup for a worker without a budget, and it keeps the hold alive while the job waits:
 * - renews each hold (`extend(holdTtl)`) every third of `holdTtl` until the job ends, a delayed
 *   job's (a retry's backoff, a hand-back) until `holdTtl` past its due time;
 * - once the outcome is stored, settles it (its actual usage; a cache hit or a failure releases).
 *   Settle and release are idempotent by reservation id across processes (`@aikit/cost`
 *   tombstones), so after the worker's settle this one charges nothing (`duplicate: true`).
 * A hold learns the outcome from the job's channel, and a periodic sweep reads the stored results
 * (and BullMQ's job state) so a lost pub/sub message only delays it. If this instance dies, the
 * worker's settle still records the cost; only the renewal while the job WAITS stops (the hold then
 * lapses after `holdTtl`, and the job is still charged when it completes).
 */
import { AsyncResource } from 'node:async_hooks'
import type { Reservation } from '@aikit/cost'
import type { JobKeys } from './keys.js'
import type { RedisConnection } from './redis-types.js'
import type { Subscriber } from './subscriber.js'
import type { LlmJobEvent } from './types.js'

interface Hold {
  readonly reservation: Reservation
  readonly keys: JobKeys
  readonly done: Promise<void>
  resolve(): void
  unsubscribe(): void
  busy: boolean
  /** Settled or released: nothing more to do but let `settled()` callers see the end. */
  ended: boolean
  /** The job is in BullMQ (before that, "no such job" means "not added yet", not "gone"). */
  added: boolean
  /** Until when this object last held it (ms, this process's clock). */
  heldUntil: number
}

/** The holds of one queue object. */
export class Holds {
  readonly #holds = new Map<string, Hold>()
  #timer: ReturnType<typeof setInterval> | undefined
  /**
   * Starts the sweep in the async context the queue object was created in, not in the one of the
   * budgeted enqueue that happens to start it: the interval lives as long as some hold is watched
   * (under steady traffic, for good) and would keep that request's scope (its Context: request,
   * response, body, state) reachable, every sweep running as part of it (as `Subscriber` does).
   */
  readonly #startSweep: () => ReturnType<typeof setInterval>

  constructor(
    private readonly redis: RedisConnection,
    private readonly subscriber: Subscriber,
    /** `'unknown'` when BullMQ no longer has the job. */
    private readonly jobState: (jobId: string) => Promise<string>,
    /** When a delayed job is due (epoch ms), `undefined` when it is not delayed. */
    private readonly dueAt: (jobId: string) => Promise<number | undefined>,
    private readonly sweepMs: number,
    /** The hold's lifetime: renewed to this every third of it while the job has no outcome. */
    private readonly holdTtlMs: number
  ) {
    this.#startSweep = AsyncResource.bind(() => {
      const timer = setInterval(
        () => this.#sweep(),
        Math.max(50, Math.min(this.sweepMs, Math.floor(this.holdTtlMs / 3)))
      )
      timer.unref?.()
      return timer
    })
  }

  /** Starts watching `jobId` (before the job is added, so no outcome can be missed). */
  async watch(jobId: string, keys: JobKeys, reservation: Reservation): Promise<void> {
    let resolve: () => void = () => {}
    const done = new Promise<void>((r) => {
      resolve = r
    })
    const hold: Hold = {
      reservation,
      keys,
      done,
      resolve,
      unsubscribe: () => {},
      busy: false,
      ended: false,
      added: false,
      heldUntil: Date.now() + this.holdTtlMs,
    }
    this.#holds.set(jobId, hold)
    hold.unsubscribe = await this.subscriber.subscribe(keys.channel, (message) => {
      if (message.includes('"type":"done"') || message.includes('"type":"error"')) {
        void this.#check(jobId)
      }
    })
    this.#timer ??= this.#startSweep()
  }

  /** The job was added: its outcome can now be acted on (checked at once, in case it is already there). */
  added(jobId: string): void {
    const hold = this.#holds.get(jobId)
    if (!hold) return
    hold.added = true
    void this.#check(jobId)
  }

  /** Stops watching without touching the hold (the job was deduplicated: the caller releases). */
  forget(jobId: string): void {
    const hold = this.#holds.get(jobId)
    if (!hold) return
    this.#holds.delete(jobId)
    hold.unsubscribe()
    hold.resolve()
    this.#stopIfIdle()
  }

  /** Resolves once the hold of `jobId` is settled or released (at once when not held here). */
  settled(jobId: string): Promise<void> {
    return this.#holds.get(jobId)?.done ?? Promise.resolve()
  }

  async #check(jobId: string): Promise<void> {
    const hold = this.#holds.get(jobId)
    if (!hold || hold.busy || hold.ended || !hold.added) return
    hold.busy = true
    try {
      const raw = await this.redis.get(hold.keys.result)
      let final: LlmJobEvent | undefined
      if (raw !== null) final = JSON.parse(raw) as LlmJobEvent
      else {
        const state = await this.jobState(jobId)
        if (state !== 'unknown') {
          // A delayed job waits out a retry's backoff, or a hand-back by a worker without its
          // client: held until it is due, and a lifetime past that (as the worker extends it, when
          // it has the budget: a worker without it, or without the client, may not). Never less:
          // a renewal to now + holdTtl would cut the worker's back, and the hold would lapse
          // mid-backoff once this instance is gone.
          const due = state === 'delayed' ? await this.dueAt(jobId) : undefined
          await this.#renew(hold, due === undefined ? 0 : Math.max(0, due - Date.now()))
          return
        }
      }
      try {
        // `busy` makes this the only settle or release in flight for the hold.
        if (final?.type === 'done' && final.result.cache !== 'hit') {
          await hold.reservation.settle(final.result.usage, { model: final.result.model })
        } else {
          await hold.reservation.release()
        }
      } catch {
        return // Store down: `settle` / `release` are idempotent and retryable: next sweep.
      }
      hold.ended = true
      this.#holds.delete(jobId)
      hold.unsubscribe()
      hold.resolve()
      this.#stopIfIdle()
    } catch {
      // Redis unreachable: the next sweep retries.
    } finally {
      hold.busy = false
    }
  }

  /**
   * Keeps a waiting, delayed or running job's hold alive until `holdTtl` past `waitMs` from now
   * (failures are retried by the next sweep). Renewed once a third of that is gone: every third of
   * `holdTtl` while the job waits or runs, at once when it was delayed past the hold's end. Never
   * shorter than this object's last renewal.
   */
  async #renew(hold: Hold, waitMs: number): Promise<void> {
    const now = Date.now()
    const ttl = waitMs + this.holdTtlMs
    if (hold.heldUntil - now > ttl - this.holdTtlMs / 3) return
    if (await hold.reservation.extend(ttl).catch(() => true)) hold.heldUntil = now + ttl
  }

  #sweep(): void {
    for (const jobId of this.#holds.keys()) void this.#check(jobId)
  }

  #stopIfIdle(): void {
    if (this.#holds.size > 0 || !this.#timer) return
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Stops watching (holds not yet settled lapse by their TTL). */
  close(): void {
    for (const hold of this.#holds.values()) {
      hold.unsubscribe()
      hold.resolve()
    }
    this.#holds.clear()
    this.#stopIfIdle()
  }
}
