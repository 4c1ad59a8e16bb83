/**
 * @module holds
 * Budget holds of the jobs THIS queue object enqueued: reserved at enqueue, settled exactly once
 * when the job completes (its actual usage; a cache hit is released: it cost nothing), released
 * when it fails for good. A hold learns the outcome from the job's channel, and a periodic sweep
 * reads the stored results (and BullMQ's job state) so a lost pub/sub message only delays it.
 *
 * The `Reservation` object lives in this process: `@aikit/cost` cannot settle a hold by id from
 * another process, so the enqueuing instance settles (see the README: the hold's TTL covers the
 * job, and an instance that dies before settling leaves the hold to lapse, uncharged).
 */
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
}

/** The holds of one queue object. */
export class Holds {
  readonly #holds = new Map<string, Hold>()
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(
    private readonly redis: RedisConnection,
    private readonly subscriber: Subscriber,
    /** `'unknown'` when BullMQ no longer has the job. */
    private readonly jobState: (jobId: string) => Promise<string>,
    private readonly sweepMs: number
  ) {}

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
    }
    this.#holds.set(jobId, hold)
    hold.unsubscribe = await this.subscriber.subscribe(keys.channel, (message) => {
      if (message.includes('"type":"done"') || message.includes('"type":"error"')) {
        void this.#check(jobId)
      }
    })
    this.#timer ??= setInterval(() => this.#sweep(), this.sweepMs)
    this.#timer.unref?.()
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
      else if ((await this.jobState(jobId)) !== 'unknown') return
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
