/**
 * @module holds
 * The enqueuing side's watch over the budget holds of the jobs THIS queue object enqueued. The
 * worker that runs a job settles (or releases) its hold through the handle in the job's data; this
 * is the backup for a worker without a budget, and it keeps the hold alive while the job waits:
 * - renews each hold (`extend(holdTtl)`) every third of `holdTtl` until the job ends;
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
  /** When the hold was last renewed (ms, this process's clock). */
  renewedAt: number
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
      renewedAt: Date.now(),
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
          // A delayed job waits out a retry backoff (the only delay a job gets): its worker held
          // it through the wait (`retry-after` + holdTtl), and a renewal here (now + holdTtl)
          // would cut that back, letting the hold lapse mid-backoff once this instance is gone.
          if (state !== 'delayed') await this.#renew(hold)
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

  /** Keeps a waiting or running job's hold alive (failures are retried by the next sweep). */
  async #renew(hold: Hold): Promise<void> {
    const now = Date.now()
    if (now - hold.renewedAt < this.holdTtlMs / 3) return
    if (await hold.reservation.extend(this.holdTtlMs).catch(() => true)) hold.renewedAt = now
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
