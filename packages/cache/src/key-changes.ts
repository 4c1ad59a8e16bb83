/**
 * @module key-changes
 * The last change (set or delete, here or on another instance) of recently changed keys, so an
 * entry read or fetched before the change is not remembered after it: a store read answered before
 * another instance's `set` but handled after its bus message, or a fill whose fetch started before
 * a `delete`. Bounded: the last `max` changed keys, plus the keys of the fetches still running (a
 * change to one of those is kept until that fetch has ended, however long it runs).
 *
 * Two times per key: the cut-off (`last`: entries created at or before it are out of date) and the
 * latest stamp known for the key (`latest`: a new entry is stamped after it). They differ for a
 * `set`: its own entry, stamped `a`, is the new value (the cut-off is `a - 1`), yet the next entry
 * of the key, here or on another instance, must be stamped after `a` so that its bus message makes
 * the others drop the entry stamped `a`.
 *
 * A cache with neither a store nor a bus (`max` 0) keeps no recent changes, only those of keys with
 * fetches running: there every entry is written here, so its memory tier never holds an entry
 * older than its key's last change (a `set` replaces it, a `delete` removes it), and a fill
 * is remembered while its fetch still runs. A new entry is stamped after the one it replaces
 * (`createdNow` reads the memory entry) and after the running fetches' stamps. The 10,000 records
 * took ~1.5 MB of heap (a map entry, an object and two boxed times each), which a memory-only
 * cache of 10k entries paid on top of the entries.
 */

/** A recently changed key. Mutable: a later change updates it in place. */
interface Change {
  /** Entries created at or before it are out of date. */
  at: number
  /** The latest stamp known for the key (at least `at`). */
  seen: number
}

/** A key with fetches running: changes to it are kept while they run. */
interface Running {
  fetches: number
  changedAt: number
  seenAt: number
  /** The latest `createdAt` stamped on one of its fetches. */
  stamped: number
  /**
   * Bumped when the key changed elsewhere while these fetches ran (`outdate`): a fetch begun under
   * an older generation is out of date whatever its stamp (the instances' clocks may disagree).
   */
  generation: number
}

export class KeyChanges {
  /** Key → its last change, oldest change first (a Map keeps insertion order): a FIFO of `max`. */
  private readonly recent = new Map<string, Change>()
  private readonly running = new Map<string, Running>()

  constructor(private readonly max: number) {}

  /**
   * Records that `key` changed at `at` (entries created at or before it are out of date), and that
   * a stamp `seen` (at least `at`; `at` when omitted) was given to one of its entries.
   */
  record(key: string, at: number, seen: number = at): void {
    if (seen < at) seen = at
    // `max` 0: nothing kept beyond the running fetches (see the module comment).
    if (this.max > 0) this.keep(key, at, seen)
    const running = this.running.get(key)
    if (running !== undefined) {
      if (at > running.changedAt) running.changedAt = at
      if (seen > running.seenAt) running.seenAt = seen
    }
  }

  /** Keeps the change in the FIFO of the last `max` changed keys. */
  private keep(key: string, at: number, seen: number): void {
    const before = this.recent.get(key)
    if (before === undefined) {
      this.recent.set(key, { at, seen })
      if (this.recent.size > this.max) {
        // The oldest change is the first key.
        for (const oldest of this.recent.keys()) {
          this.recent.delete(oldest)
          break
        }
      }
    } else if (at > before.at || seen > before.seen) {
      if (at > before.at) before.at = at
      if (seen > before.seen) before.seen = seen
      // Moved to the end: the oldest change stays first.
      this.recent.delete(key)
      this.recent.set(key, before)
    }
  }

  /** The latest change of `key` known here (0: none); entries created at or before it are out of date. */
  last(key: string): number {
    // No change and no fetch running (the common case): two size tests, no lookup.
    const recent = this.recent.size === 0 ? undefined : this.recent.get(key)?.at
    const running = this.running.size === 0 ? undefined : this.running.get(key)
    if (running === undefined) return recent ?? 0
    return recent === undefined || running.changedAt > recent ? running.changedAt : recent
  }

  /**
   * The latest time known for `key`: its last change, the stamp of the last `set` of it heard of,
   * or the stamp of a fetch of it still running. A new entry is stamped after it, so a `set` or
   * `delete` is later than the fetches it overtakes and than the entries it replaces.
   */
  latest(key: string): number {
    const recent = this.recent.size === 0 ? undefined : this.recent.get(key)
    const running = this.running.size === 0 ? undefined : this.running.get(key)
    let latest = recent === undefined ? 0 : recent.seen
    if (running !== undefined) {
      if (running.seenAt > latest) latest = running.seenAt
      if (running.stamped > latest) latest = running.stamped
    }
    return latest
  }

  /**
   * A fetch of `key` stamped `createdAt` starts: changes to the key are kept at least until
   * `end(key)`. Returns its generation, for `current`.
   */
  begin(key: string, createdAt: number): number {
    const running = this.running.get(key)
    if (running === undefined) {
      const recent = this.recent.get(key)
      this.running.set(key, {
        fetches: 1,
        changedAt: recent?.at ?? 0,
        seenAt: recent?.seen ?? 0,
        stamped: createdAt,
        generation: 0,
      })
      return 0
    }
    running.fetches++
    if (createdAt > running.stamped) running.stamped = createdAt
    return running.generation
  }

  /**
   * The key changed elsewhere while fetches of it run here: they are all out of date, whatever
   * their stamps (`current` answers false for them), without moving the cut-off of `last` (an entry
   * the other instance stored, stamped by its own clock, may be no later than their stamps).
   */
  outdate(key: string): void {
    const running = this.running.get(key)
    if (running !== undefined) running.generation++
  }

  /**
   * Whether the fill of a fetch of `key` stamped `createdAt`, begun at `generation` (what `begin`
   * returned), is still current: no change of the key at or after its stamp, and not `outdate`d.
   */
  current(key: string, createdAt: number, generation: number): boolean {
    if (createdAt <= this.last(key)) return false
    const running = this.running.size === 0 ? undefined : this.running.get(key)
    return running === undefined || running.generation === generation
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
