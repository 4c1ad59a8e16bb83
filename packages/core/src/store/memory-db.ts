/**
 * @module store/memory-db
 * The memory store's data: a bounded LRU of string, hash and native entries, each with an optional
 * absolute expiry. Expiry is checked lazily on access: there is no timer per key.
 *
 * The LRU is a `Map` from key to slot plus a doubly linked recency list over two typed arrays (the
 * layout lru-cache uses, without its per-call option handling): a hit is one `Map` lookup and a few
 * integer writes, and an op writing back the key it just read needs no second lookup.
 *
 * Keys written through `putTagged` (the store's `run.syncTagged`) live in a second index, by key
 * part then by tag, instead of the `Map` by full key: a rate-limit check then looks its state up
 * by the user's key itself, with no key string built, flattened and hashed per check (measured:
 * about 1.5x the checks/s over 100k keys). Each key lives in exactly one of the two indexes; a
 * lookup by full key parses it back to (tag, part) when it is not in the first.
 */

/** One stored value: a string or a hash, with an absolute expiry (ms) or `undefined`. */
export type Entry =
  | { type: 'string'; value: string; expiresAt: number | undefined }
  | { type: 'hash'; value: Map<string, string>; expiresAt: number | undefined }
  | { type: 'native'; value: unknown; expiresAt: number | undefined }

/** No slot: the end of the recency list. */
const NONE = -1

/**
 * How the store builds a key from a tag and one part (`store.key(tag, part)`) and reads one back
 * (`undefined` for a key `keyOf` cannot build): the two directions of one bijection, so a key has a
 * single place in the db whichever way it is reached.
 */
export interface TagKeys {
  keyOf(tag: string, part: string): string
  parse(key: string): { tag: string; part: string } | undefined
}

const NO_TAG_KEYS: TagKeys = {
  keyOf: (tag, part) => `${tag}\u0000${part}`,
  parse: () => undefined,
}

/**
 * A bounded key space with lazy expiry and an eviction counter. Each key holds a slot; the
 * recency list links slots through two typed arrays (no per-key list objects, no pointer writes
 * for the garbage collector to track), and the least recently used slot is reused on eviction.
 */
export class MemoryDb {
  readonly #slots = new Map<string, number>()
  readonly #keys: (string | undefined)[] = []
  readonly #entries: (Entry | undefined)[] = []
  /** Per slot: the slot used just more recently (towards the head), or `NONE`. */
  #newer: Int32Array
  /** Per slot: the slot used just less recently (towards the tail), or `NONE`. */
  #older: Int32Array
  /** Slots freed by a removal, reused before new ones. */
  readonly #free: number[] = []
  readonly #maxKeys: number
  readonly #now: () => number
  readonly #tagKeys: TagKeys
  /**
   * The tag index, per key part: tag → slot of the key `keyOf(tag, part)`. Keys written through
   * `putTagged` live here instead of in `#slots`, so a hot caller (the rate limiter's check)
   * finds its entry by a string it already holds (hashed once and kept by V8, compared by
   * identity) without building, flattening and hashing a full key per op. A key reached by its
   * full string is parsed back to (tag, part) to find it here (only once this index is in use).
   */
  readonly #tagIndex = new Map<string, Map<string, number>>()
  /** Keys held in the tag index. */
  #tagged = 0
  /** Per slot, for a key held in the tag index: its part's map and its tag (undefined otherwise). */
  readonly #slotIndex: (Map<string, number> | undefined)[] = []
  readonly #slotTag: (string | undefined)[] = []
  /** The slot `readTagged` found last (`NONE` once dropped): the write after a read needs no lookup. */
  #lastSlot = NONE
  #lastTag = ''
  #lastPart = ''
  /**
   * The (tag, part) `readTagged` last found missing, until any key is added: the write of a new
   * key after its read needs no second lookup.
   */
  #missTag: string | undefined
  #missPart = ''
  /** The part whose tag map was looked up last (a limiter checks the same parts every time). */
  #indexPart: string | undefined
  #indexOfPart: Map<string, number> | undefined
  /** Most recently used slot. */
  #head = NONE
  /** Least recently used slot: the next one evicted. */
  #tail = NONE
  #evictions = 0

  constructor(maxKeys: number, now: () => number, tagKeys: TagKeys = NO_TAG_KEYS) {
    this.#maxKeys = maxKeys
    this.#now = now
    this.#tagKeys = tagKeys
    // Grown on demand up to maxKeys, so a large bound costs nothing until it is used.
    this.#newer = new Int32Array(Math.min(maxKeys, 1024))
    this.#older = new Int32Array(Math.min(maxKeys, 1024))
  }

  /** The live entry at `key`, now the most recently used (an expired one is removed, reads missing). */
  read(key: string, now: number): Entry | undefined {
    const slot = this.#slotOf(key)
    if (slot === undefined) return undefined
    const entry = this.#entries[slot] as Entry
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
      this.#drop(slot)
      return undefined
    }
    if (slot !== this.#head) this.#toHead(slot)
    return entry
  }

  /** The live entry at `key` without changing its LRU position (an expired one reads missing). */
  peek(key: string, now: number): Entry | undefined {
    const slot = this.#slotOf(key)
    if (slot === undefined) return undefined
    const entry = this.#entries[slot] as Entry
    return isExpired(entry, now) ? undefined : entry
  }

  /**
   * Stores a value at `key` as the most recently used, evicting the least recently used key when
   * full. An op typically writes the key it read last, which is then the head: that case costs
   * no second `Map` lookup.
   */
  put(key: string, type: Entry['type'], value: unknown, expiresAt: number | undefined): void {
    const head = this.#head
    const slot = head !== NONE && this.#keys[head] === flat(key) ? head : this.#slotOf(key)
    if (slot !== undefined) {
      const entry = this.#entries[slot] as {
        type: Entry['type']
        value: unknown
        expiresAt: number | undefined
      }
      entry.type = type
      entry.value = value
      entry.expiresAt = expiresAt
      if (slot !== head) this.#toHead(slot)
      return
    }
    const added = this.#slots.size + this.#tagged >= this.#maxKeys ? this.#evict() : this.#newSlot()
    this.#missTag = undefined
    this.#slots.set(key, added)
    this.#keys[added] = key
    this.#entries[added] = { type, value, expiresAt } as Entry
    this.#link(added)
  }

  /** `read(keyOf(tag, part), now)`, found through the tag index (no key built). */
  readTagged(tag: string, part: string, now: number): Entry | undefined {
    const slot = this.#taggedSlot(tag, part)
    if (slot === undefined) {
      this.#missTag = tag
      this.#missPart = part
      return undefined
    }
    const entry = this.#entries[slot] as Entry
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
      this.#drop(slot)
      this.#missTag = tag
      this.#missPart = part
      return undefined
    }
    if (slot !== this.#head) this.#toHead(slot)
    this.#lastSlot = slot
    this.#lastTag = tag
    this.#lastPart = part
    return entry
  }

  /** `put(keyOf(tag, part), ...)`; a new key goes into the tag index (see `readTagged`). */
  putTagged(
    tag: string,
    part: string,
    type: Entry['type'],
    value: unknown,
    expiresAt: number | undefined
  ): void {
    // An op writes back the key it just read: then no lookup at all.
    const slot =
      this.#lastSlot !== NONE && tag === this.#lastTag && part === this.#lastPart
        ? this.#lastSlot
        : tag === this.#missTag && part === this.#missPart
          ? undefined
          : this.#taggedSlot(tag, part)
    if (slot !== undefined) {
      const entry = this.#entries[slot] as {
        type: Entry['type']
        value: unknown
        expiresAt: number | undefined
      }
      entry.type = type
      entry.value = value
      entry.expiresAt = expiresAt
      if (slot !== this.#head) this.#toHead(slot)
      return
    }
    const added = this.#slots.size + this.#tagged >= this.#maxKeys ? this.#evict() : this.#newSlot()
    let index = this.#indexFor(part)
    if (index === undefined) {
      index = new Map()
      this.#tagIndex.set(part, index)
    }
    this.#missTag = undefined
    index.set(tag, added)
    this.#tagged++
    this.#slotIndex[added] = index
    this.#slotTag[added] = tag
    this.#entries[added] = { type, value, expiresAt } as Entry
    this.#link(added)
  }

  /** `remove(keyOf(tag, part), now)`. */
  removeTagged(tag: string, part: string, now: number): boolean {
    const slot = this.#taggedSlot(tag, part)
    if (slot === undefined) return false
    const live = !isExpired(this.#entries[slot] as Entry, now)
    this.#drop(slot)
    return live
  }

  /** The slot of `key`, wherever it lives (`#slots`, or the tag index for a key it can parse). */
  #slotOf(key: string): number | undefined {
    const slot = this.#slots.get(flat(key))
    if (slot !== undefined || this.#tagged === 0) return slot
    const parsed = this.#tagKeys.parse(key)
    return parsed === undefined ? undefined : this.#tagIndex.get(parsed.part)?.get(parsed.tag)
  }

  /** The slot of `keyOf(tag, part)`, wherever it lives. */
  #taggedSlot(tag: string, part: string): number | undefined {
    const slot = this.#indexFor(part)?.get(tag)
    if (slot !== undefined || this.#slots.size === 0) return slot
    // Written by its full key (a `js` op, `store.set`): it stays where it is.
    return this.#slots.get(this.#tagKeys.keyOf(tag, part))
  }

  /** The tag map of `part`, if any. */
  #indexFor(part: string): Map<string, number> | undefined {
    if (part === this.#indexPart) return this.#indexOfPart
    const index = this.#tagIndex.get(part)
    // Only an existing map is remembered: part maps are never removed (but by `clear`).
    if (index !== undefined) {
      this.#indexPart = part
      this.#indexOfPart = index
    }
    return index
  }

  /** Stores `entry` at `key` as the most recently used (see `put`). */
  write(key: string, entry: Entry): void {
    this.put(key, entry.type, entry.value, entry.expiresAt)
  }

  /** Removes `key`; `true` if it held a live entry. */
  remove(key: string, now: number): boolean {
    const slot = this.#slotOf(key)
    if (slot === undefined) return false
    const live = !isExpired(this.#entries[slot] as Entry, now)
    this.#drop(slot)
    return live
  }

  clear(): void {
    this.#slots.clear()
    this.#tagIndex.clear()
    this.#indexPart = undefined
    this.#indexOfPart = undefined
    this.#tagged = 0
    this.#slotIndex.length = 0
    this.#slotTag.length = 0
    this.#lastSlot = NONE
    this.#keys.length = 0
    this.#entries.length = 0
    this.#free.length = 0
    this.#head = NONE
    this.#tail = NONE
  }

  /** Keys held (expired entries not yet touched are included) and live entries evicted so far. */
  stats(): { keys: number; evictions: number } {
    return { keys: this.#slots.size + this.#tagged, evictions: this.#evictions }
  }

  /** Frees the least recently used slot and returns it for reuse. */
  #evict(): number {
    const slot = this.#tail
    // Only live entries pushed out by the bound count as evictions; expired ones were dead anyway.
    if (!isExpired(this.#entries[slot] as Entry, this.#now())) this.#evictions++
    this.#forget(slot)
    this.#unlink(slot)
    return slot
  }

  #newSlot(): number {
    const reused = this.#free.pop()
    if (reused !== undefined) return reused
    const slot = this.#keys.length
    if (slot === this.#newer.length) this.#grow()
    this.#keys.push(undefined)
    this.#entries.push(undefined)
    this.#slotIndex.push(undefined)
    this.#slotTag.push(undefined)
    return slot
  }

  /** Doubles the link arrays (capped at maxKeys). */
  #grow(): void {
    const size = Math.min(this.#maxKeys, this.#newer.length * 2)
    const newer = new Int32Array(size)
    const older = new Int32Array(size)
    newer.set(this.#newer)
    older.set(this.#older)
    this.#newer = newer
    this.#older = older
  }

  /** Removes the key of `slot` from whichever index holds it. */
  #forget(slot: number): void {
    if (slot === this.#lastSlot) this.#lastSlot = NONE
    const index = this.#slotIndex[slot]
    if (index === undefined) {
      this.#slots.delete(this.#keys[slot] as string)
      this.#keys[slot] = undefined
      return
    }
    index.delete(this.#slotTag[slot] as string)
    this.#tagged--
    this.#slotIndex[slot] = undefined
    this.#slotTag[slot] = undefined
  }

  #drop(slot: number): void {
    this.#forget(slot)
    this.#entries[slot] = undefined
    this.#unlink(slot)
    this.#free.push(slot)
  }

  #toHead(slot: number): void {
    this.#unlink(slot)
    this.#link(slot)
  }

  /** Puts an unlinked slot at the head. */
  #link(slot: number): void {
    this.#newer[slot] = NONE
    this.#older[slot] = this.#head
    if (this.#head === NONE) this.#tail = slot
    else this.#newer[this.#head] = slot
    this.#head = slot
  }

  #unlink(slot: number): void {
    const newer = this.#newer[slot] as number
    const older = this.#older[slot] as number
    if (newer === NONE) this.#head = older
    else this.#older[newer] = older
    if (older === NONE) this.#tail = newer
    else this.#newer[older] = newer
  }
}

function isExpired(entry: { expiresAt: number | undefined }, now: number): boolean {
  return entry.expiresAt !== undefined && entry.expiresAt <= now
}

/**
 * Returns `key` made flat: a string built by concatenation is a tree of parts until something
 * flattens it, and V8 hashes and compares a flat string in a `Map` much faster (measured: about a
 * third off a lookup with the keys `store.key()` builds). `charCodeAt` flattens it in place.
 */
function flat(key: string): string {
  return key.charCodeAt(0) === -1 ? '' : key
}
