/**
 * @module store/memory-db
 * The memory store's data: a bounded LRU of string, hash and native entries, each with an optional
 * absolute expiry. Expiry is checked lazily on access: there is no timer per key.
 *
 * The LRU is a `Map` from key to slot plus a doubly linked recency list over two typed arrays (the
 * layout lru-cache uses, without its per-call option handling): a hit is one `Map` lookup and a few
 * integer writes, and an op writing back the key it just read needs no second lookup.
 *
 * A slot's entry is spread over parallel arrays (its value, its key, and typed arrays for its
 * type, expiry and tag-index part) rather than held in an object per key: an insert allocates
 * nothing but the caller's value, an expiry is written in place as a float (a `number | undefined`
 * field boxes every new timestamp in a fresh heap number, an old-to-new pointer the garbage
 * collector then tracks), and a key costs fewer cache lines. On 100k keys the `Map` lookup is
 * the largest part of a rate-limit check and is bound by cache misses: this layout measured about
 * 40% fewer last-level cache misses per check (cachegrind) and about 1.05x the checks/s.
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

/** No slot: the end of the recency list, or a key not held. */
export const NONE = -1

/** A slot's type code (`#types`); 0 is a free slot. */
const STRING = 1
const HASH = 2
const NATIVE = 3
const TYPE_NAMES: readonly (Entry['type'] | undefined)[] = [undefined, 'string', 'hash', 'native']

function typeCode(type: Entry['type']): number {
  return type === 'native' ? NATIVE : type === 'string' ? STRING : HASH
}

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
  /** Per slot: its full key, or its tag for a key held in the tag index. */
  readonly #keys: (string | undefined)[] = []
  /** Per slot: its value. */
  readonly #values: unknown[] = []
  /** Per slot: its type code (`STRING`, `HASH`, `NATIVE`). */
  #types: Uint8Array
  /** Per slot: its absolute expiry in ms, `Infinity` for none. */
  #expires: Float64Array
  /** Per slot: 1 + the id of its part's map in the tag index, or 0 for a key held in `#slots`. */
  #partOf: Int32Array
  /** Per slot: the slot used just more recently (towards the head), or `NONE`. */
  #newer: Int32Array
  /** Per slot: the slot used just less recently (towards the tail), or `NONE`. */
  #older: Int32Array
  /** Slots handed out so far (the arrays' used length). */
  #used = 0
  /** Slots freed by a removal, reused before new ones. */
  readonly #free: number[] = []
  readonly #maxKeys: number
  readonly #now: () => number
  readonly #tagKeys: TagKeys
  /**
   * The tag index, per key part: the id of the part's map (tag → slot of the key
   * `keyOf(tag, part)`) in `#partMaps`. Keys written through `putTagged` live here instead of in
   * `#slots`, so a hot caller (the rate limiter's check) finds its entry by a string it already
   * holds (hashed once and kept by V8, compared by identity) without building, flattening and
   * hashing a full key per op. A key reached by its full string is parsed back to (tag, part) to
   * find it here (only once this index is in use).
   */
  readonly #partIds = new Map<string, number>()
  readonly #partMaps: Map<string, number>[] = []
  /** Keys held in the tag index. */
  #tagged = 0
  /** The slot `slotTagged` found last (`NONE` once dropped): the write after a read needs no lookup. */
  #lastSlot = NONE
  #lastTag = ''
  #lastPart = ''
  /**
   * The (tag, part) `slotTagged` last found missing, while `#missing` (until any key is added): the
   * write of a new key after its read needs no second lookup. (Strings even when unset, like
   * `#indexPart`, so the comparisons on the hot path always see two strings.)
   */
  #missing = false
  #missTag = ''
  #missPart = ''
  /**
   * The part whose map id was looked up or added last (a limiter checks the same parts every
   * time) and that id; `''` and `NONE` at first, which is also what a lookup of `''` would give.
   */
  #indexPart = ''
  #indexId = NONE
  /** Most recently used slot. */
  #head = NONE
  /** Least recently used slot: the next one evicted. */
  #tail = NONE
  #evictions = 0
  /** No sweep for expired keys (`roomFor`) before this time. */
  #nextSweep = 0

  constructor(maxKeys: number, now: () => number, tagKeys: TagKeys = NO_TAG_KEYS) {
    this.#maxKeys = maxKeys
    this.#now = now
    this.#tagKeys = tagKeys
    // Grown on demand up to maxKeys, so a large bound costs nothing until it is used.
    const size = Math.min(maxKeys, 1024)
    this.#types = new Uint8Array(size)
    this.#expires = new Float64Array(size)
    this.#partOf = new Int32Array(size)
    this.#newer = new Int32Array(size)
    this.#older = new Int32Array(size)
    this.#fillTo(size)
  }

  /** The live entry at `key`, now the most recently used (an expired one is removed, reads missing). */
  read(key: string, now: number): Entry | undefined {
    const slot = this.lookup(key, now)
    return slot === NONE ? undefined : this.#entryAt(slot)
  }

  /**
   * The slot of the live entry at `key`, now the most recently used, or `NONE` (an expired one is
   * removed). Read it with `typeAt`, `valueAt` and `expiresAt` before any other call.
   */
  lookup(key: string, now: number): number {
    const slot = this.#slotOf(key)
    if (slot === undefined) return NONE
    if ((this.#expires[slot] as number) <= now) {
      this.#drop(slot)
      return NONE
    }
    if (slot !== this.#head) this.#toHead(slot)
    return slot
  }

  /** The live entry at `key` without changing its LRU position (an expired one reads missing). */
  peek(key: string, now: number): Entry | undefined {
    const slot = this.#slotOf(key)
    if (slot === undefined || (this.#expires[slot] as number) <= now) return undefined
    return this.#entryAt(slot)
  }

  /** The type of the entry in a slot `lookup` or `slotTagged` returned. */
  typeAt(slot: number): Entry['type'] {
    return TYPE_NAMES[this.#types[slot] as number] as Entry['type']
  }

  /** Whether the entry in a slot `lookup` or `slotTagged` returned is a native one. */
  isNative(slot: number): boolean {
    return this.#types[slot] === NATIVE
  }

  /** The value in a slot `lookup` or `slotTagged` returned. */
  valueAt(slot: number): unknown {
    return this.#values[slot]
  }

  /** The expiry (absolute ms) of a slot `lookup` or `slotTagged` returned, `undefined` for none. */
  expiresAt(slot: number): number | undefined {
    const at = this.#expires[slot] as number
    return at === Number.POSITIVE_INFINITY ? undefined : at
  }

  /**
   * Stores a value at `key` as the most recently used, evicting the least recently used key when
   * full. An op typically writes the key it read last, which is then the head: that case costs
   * no second `Map` lookup.
   */
  put(key: string, type: Entry['type'], value: unknown, expiresAt: number | undefined): void {
    const head = this.#head
    const slot =
      head !== NONE && this.#partOf[head] === 0 && this.#keys[head] === flat(key)
        ? head
        : this.#slotOf(key)
    if (slot !== undefined) {
      this.#set(slot, typeCode(type), value, expiresAt)
      if (slot !== head) this.#toHead(slot)
      return
    }
    const added = this.#slots.size + this.#tagged >= this.#maxKeys ? this.#evict() : this.#newSlot()
    this.#missing = false
    this.#slots.set(key, added)
    this.#keys[added] = key
    this.#partOf[added] = 0
    this.#set(added, typeCode(type), value, expiresAt)
    this.#link(added)
  }

  /**
   * `lookup(keyOf(tag, part), now)`, found through the tag index (no key built): the slot of the
   * live entry, now the most recently used, or `NONE`.
   */
  slotTagged(tag: string, part: string, now: number): number {
    const slot = this.#taggedSlot(tag, part)
    if (slot === undefined) {
      this.#missed(tag, part)
      return NONE
    }
    if ((this.#expires[slot] as number) <= now) {
      this.#drop(slot)
      this.#missed(tag, part)
      return NONE
    }
    if (slot !== this.#head) this.#toHead(slot)
    this.#lastSlot = slot
    this.#lastTag = tag
    this.#lastPart = part
    return slot
  }

  #missed(tag: string, part: string): void {
    this.#missing = true
    this.#missTag = tag
    this.#missPart = part
  }

  /** `read(keyOf(tag, part), now)`, found through the tag index (no key built). */
  readTagged(tag: string, part: string, now: number): Entry | undefined {
    const slot = this.slotTagged(tag, part, now)
    return slot === NONE ? undefined : this.#entryAt(slot)
  }

  /** `put(keyOf(tag, part), ...)`; a new key goes into the tag index (see `slotTagged`). */
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
        : this.#missing && tag === this.#missTag && part === this.#missPart
          ? undefined
          : this.#taggedSlot(tag, part)
    if (slot !== undefined) {
      this.#set(slot, typeCode(type), value, expiresAt)
      if (slot !== this.#head) this.#toHead(slot)
      return
    }
    const added = this.#slots.size + this.#tagged >= this.#maxKeys ? this.#evict() : this.#newSlot()
    let id = this.#idOf(part)
    if (id === NONE) id = this.#addPart(part)
    this.#missing = false
    ;(this.#partMaps[id] as Map<string, number>).set(tag, added)
    this.#tagged++
    this.#keys[added] = tag
    this.#partOf[added] = id + 1
    this.#set(added, typeCode(type), value, expiresAt)
    this.#link(added)
  }

  /** `remove(keyOf(tag, part), now)`. */
  removeTagged(tag: string, part: string, now: number): boolean {
    const slot = this.#taggedSlot(tag, part)
    if (slot === undefined) return false
    const live = (this.#expires[slot] as number) > now
    this.#drop(slot)
    return live
  }

  /** The slot of `key`, wherever it lives (`#slots`, or the tag index for a key it can parse). */
  #slotOf(key: string): number | undefined {
    const slot = this.#slots.get(flat(key))
    if (slot !== undefined || this.#tagged === 0) return slot
    const parsed = this.#tagKeys.parse(key)
    if (parsed === undefined) return undefined
    const id = this.#idOf(parsed.part)
    return id === NONE ? undefined : this.#partMaps[id]?.get(parsed.tag)
  }

  /** The slot of `keyOf(tag, part)`, wherever it lives. */
  #taggedSlot(tag: string, part: string): number | undefined {
    const id = this.#idOf(part)
    const slot = id === NONE ? undefined : (this.#partMaps[id] as Map<string, number>).get(tag)
    if (slot !== undefined || this.#slots.size === 0) return slot
    // Written by its full key (a `js` op, `store.set`): it stays where it is.
    return this.#slots.get(this.#tagKeys.keyOf(tag, part))
  }

  /**
   * Adds an empty map for `part` to the tag index; returns its id. (Rare, so out of line: inlined,
   * its first run on a new db would throw away the caller's optimised code.)
   */
  #addPart(part: string): number {
    const id = this.#partMaps.length
    this.#partMaps.push(new Map())
    this.#partIds.set(part, id)
    this.#indexPart = part
    this.#indexId = id
    return id
  }

  /** The id of `part`'s map in the tag index, or `NONE`. */
  #idOf(part: string): number {
    if (part === this.#indexPart) return this.#indexId
    const id = this.#partIds.get(part)
    if (id === undefined) return NONE
    // Only an existing map is remembered: part maps are never removed (but by `clear`).
    this.#indexPart = part
    this.#indexId = id
    return id
  }

  /** Stores `entry` at `key` as the most recently used (see `put`). */
  write(key: string, entry: Entry): void {
    this.put(key, entry.type, entry.value, entry.expiresAt)
  }

  /** Removes `key`; `true` if it held a live entry. */
  remove(key: string, now: number): boolean {
    const slot = this.#slotOf(key)
    if (slot === undefined) return false
    const live = (this.#expires[slot] as number) > now
    this.#drop(slot)
    return live
  }

  clear(): void {
    this.#slots.clear()
    this.#partIds.clear()
    this.#partMaps.length = 0
    this.#indexPart = ''
    this.#indexId = NONE
    this.#tagged = 0
    this.#lastSlot = NONE
    this.#missing = false
    // Kept as long as the typed arrays (see `#grow`), so slots are never appended one by one.
    this.#keys.fill(undefined)
    this.#values.fill(undefined)
    this.#used = 0
    this.#free.length = 0
    this.#head = NONE
    this.#tail = NONE
  }

  /** Keys held (expired entries not yet touched are included) and live entries evicted so far. */
  stats(): { keys: number; evictions: number } {
    return { keys: this.#slots.size + this.#tagged, evictions: this.#evictions }
  }

  /** A copy of the entry in `slot` (callers change an entry through `put`/`write`). */
  #entryAt(slot: number): Entry {
    return {
      type: this.typeAt(slot),
      value: this.#values[slot],
      expiresAt: this.expiresAt(slot),
    } as Entry
  }

  #set(slot: number, type: number, value: unknown, expiresAt: number | undefined): void {
    this.#types[slot] = type
    this.#values[slot] = value
    this.#expires[slot] = expiresAt === undefined ? Number.POSITIVE_INFINITY : expiresAt
  }

  /**
   * Whether `key` holds a live entry at `now`. An expired one is dropped first (it is gone for
   * every reader already): written again, it takes a new slot, which a room check must count. Left
   * in place, `roomFor` could drop it to make room for another key, and the write that re-creates
   * it would then evict a live key.
   */
  holdsLive(key: string, now: number): boolean {
    const slot = this.#slotOf(key)
    if (slot === undefined) return false
    if ((this.#expires[slot] as number) > now) return true
    this.#drop(slot)
    return false
  }

  /**
   * Whether `count` new keys fit without evicting a live one (for a store that must not forget a
   * key, see `MemoryStoreOptions.evict`). Expired keys make room: first the least recently used
   * ones, then, at most once a second, a sweep of all of them.
   */
  roomFor(count: number, now: number): boolean {
    let free = this.#maxKeys - (this.#slots.size + this.#tagged)
    while (free < count && this.#tail !== NONE && (this.#expires[this.#tail] as number) <= now) {
      this.#drop(this.#tail)
      free++
    }
    if (free >= count || now < this.#nextSweep) return free >= count
    this.#nextSweep = now + 1000
    for (let slot = this.#tail; slot !== NONE; ) {
      const newer = this.#newer[slot] as number
      if ((this.#expires[slot] as number) <= now) {
        this.#drop(slot)
        free++
      }
      slot = newer
    }
    return free >= count
  }

  /** Frees the least recently used slot and returns it for reuse. */
  #evict(): number {
    const slot = this.#tail
    // Only live entries pushed out by the bound count as evictions; expired ones were dead anyway.
    if ((this.#expires[slot] as number) > this.#now()) this.#evictions++
    this.#forget(slot)
    this.#unlink(slot)
    return slot
  }

  #newSlot(): number {
    const reused = this.#free.pop()
    if (reused !== undefined) return reused
    const slot = this.#used++
    if (slot === this.#newer.length) this.#grow()
    return slot
  }

  /** Doubles the typed arrays (capped at maxKeys), and the key and value arrays with them. */
  #grow(): void {
    const size = Math.min(this.#maxKeys, this.#newer.length * 2)
    this.#types = grown(new Uint8Array(size), this.#types)
    this.#expires = grown(new Float64Array(size), this.#expires)
    this.#partOf = grown(new Int32Array(size), this.#partOf)
    this.#newer = grown(new Int32Array(size), this.#newer)
    this.#older = grown(new Int32Array(size), this.#older)
    this.#fillTo(size)
  }

  /**
   * Extends the key and value arrays to `size` slots, appended in order so they stay packed: a new
   * slot is then written in place, with no append (and no resize) per insert.
   */
  #fillTo(size: number): void {
    for (let i = this.#keys.length; i < size; i++) {
      this.#keys.push(undefined)
      this.#values.push(undefined)
    }
  }

  /** Removes the key of `slot` from whichever index holds it. */
  #forget(slot: number): void {
    if (slot === this.#lastSlot) this.#lastSlot = NONE
    const key = this.#keys[slot] as string
    this.#keys[slot] = undefined
    const part = this.#partOf[slot] as number
    if (part === 0) {
      this.#slots.delete(key)
      return
    }
    ;(this.#partMaps[part - 1] as Map<string, number>).delete(key)
    this.#tagged--
  }

  #drop(slot: number): void {
    this.#forget(slot)
    this.#values[slot] = undefined
    this.#types[slot] = 0
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

/** `to` with the contents of the smaller `from` copied in. */
function grown<T extends Uint8Array | Int32Array | Float64Array>(to: T, from: T): T {
  to.set(from as never)
  return to
}

/**
 * Returns `key` made flat: a string built by concatenation is a tree of parts until something
 * flattens it, and V8 hashes and compares a flat string in a `Map` much faster (measured: about a
 * third off a lookup with the keys `store.key()` builds). `charCodeAt` flattens it in place.
 */
function flat(key: string): string {
  return key.charCodeAt(0) === -1 ? '' : key
}
