/**
 * @module key-changes
 * The last change (set or delete, here or on another instance) of recently changed keys, so an
 * entry read or fetched before the change is not remembered after it: a store read answered before
 * another instance's `set` but handled after its bus message, or a fill whose fetch started before
 * a `delete`. Bounded: the last `max` changed keys, plus the keys of the fetches still running (a
 * change to one of those is kept until that fetch has ended, however long it runs).
 */

/** A key with fetches running: changes to it are kept while they run. */
interface Running {
  fetches: number
  changedAt: number
  /** The latest `createdAt` stamped on one of its fetches. */
  stamped: number
}

export class KeyChanges {
  /** Key → its last change, oldest change first (a Map keeps insertion order): a FIFO of `max`. */
  private readonly recent = new Map<string, number>()
  private readonly running = new Map<string, Running>()

  constructor(private readonly max: number) {}

  /** Records that `key` changed at `at`: entries created at or before `at` are out of date. */
  record(key: string, at: number): void {
    const before = this.recent.get(key)
    if (before === undefined || at > before) {
      // Moved to the end: the oldest change is the first key.
      this.recent.delete(key)
      this.recent.set(key, at)
      if (this.recent.size > this.max) {
        for (const oldest of this.recent.keys()) {
          this.recent.delete(oldest)
          break
        }
      }
    }
    const running = this.running.get(key)
    if (running !== undefined && at > running.changedAt) running.changedAt = at
  }

  /** The latest change of `key` known here (0: none); entries created at or before it are out of date. */
  last(key: string): number {
    // No change and no fetch running (the common case): two size tests, no lookup.
    const recent = this.recent.size === 0 ? undefined : this.recent.get(key)
    const running = this.running.size === 0 ? undefined : this.running.get(key)
    if (running === undefined) return recent ?? 0
    return recent === undefined || running.changedAt > recent ? running.changedAt : recent
  }

  /**
   * The latest time known for `key`: its last change, or the stamp of a fetch of it still running.
   * A `set` or `delete` stamps after it, so it is later than the fetches it overtakes.
   */
  latest(key: string): number {
    const last = this.last(key)
    const running = this.running.size === 0 ? undefined : this.running.get(key)
    return running !== undefined && running.stamped > last ? running.stamped : last
  }

  /** The latest stamp of a fetch of `key` still running here (0: none). */
  runningStamp(key: string): number {
    return this.running.size === 0 ? 0 : (this.running.get(key)?.stamped ?? 0)
  }

  /**
   * A fetch of `key` stamped `createdAt` starts: changes to the key are kept at least until
   * `end(key)`.
   */
  begin(key: string, createdAt: number): void {
    const running = this.running.get(key)
    if (running === undefined) {
      this.running.set(key, {
        fetches: 1,
        changedAt: this.recent.get(key) ?? 0,
        stamped: createdAt,
      })
      return
    }
    running.fetches++
    if (createdAt > running.stamped) running.stamped = createdAt
  }

  /** A fetch of `key` has ended (call once per `begin`). */
  end(key: string): void {
    const running = this.running.get(key)
    if (running === undefined) return
    running.fetches--
    if (running.fetches <= 0) this.running.delete(key)
  }

  /** Forgets everything (`cache.close()`). */
  clear(): void {
    this.recent.clear()
    this.running.clear()
  }
}
