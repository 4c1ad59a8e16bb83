/**
 * @module store/memory-db
 * The memory store's data: a bounded LRU (lru-cache) of string and hash entries, each with an
 * optional absolute expiry. Expiry is checked lazily on access: there is no timer per key.
 */
import { LRUCache } from 'lru-cache'

/** One stored value: a string or a hash, with an absolute expiry (ms) or `undefined`. */
export type Entry =
  | { type: 'string'; value: string; expiresAt: number | undefined }
  | { type: 'hash'; value: Map<string, string>; expiresAt: number | undefined }
  | { type: 'native'; value: unknown; expiresAt: number | undefined }

/** A bounded key space with lazy expiry and an eviction counter. */
export class MemoryDb {
  readonly #lru: LRUCache<string, Entry>
  readonly #now: () => number
  #evictions = 0

  constructor(maxKeys: number, now: () => number) {
    this.#now = now
    this.#lru = new LRUCache<string, Entry>({
      max: maxKeys,
      dispose: (entry, _key, reason) => {
        // Only live entries pushed out by the bound count as evictions; expired ones were dead anyway.
        if (reason === 'evict' && !isExpired(entry, this.#now())) this.#evictions++
      },
    })
  }

  /** The live entry at `key` (an expired one is removed and reported missing). */
  read(key: string, now: number): Entry | undefined {
    const entry = this.#lru.get(key)
    if (entry === undefined) return undefined
    if (isExpired(entry, now)) {
      this.#lru.delete(key)
      return undefined
    }
    return entry
  }

  /** The live entry at `key` without changing its LRU position (an expired one reads missing). */
  peek(key: string, now: number): Entry | undefined {
    const entry = this.#lru.peek(key)
    return entry === undefined || isExpired(entry, now) ? undefined : entry
  }

  write(key: string, entry: Entry): void {
    this.#lru.set(key, entry)
  }

  remove(key: string, now: number): boolean {
    const live = this.read(key, now) !== undefined
    this.#lru.delete(key)
    return live
  }

  clear(): void {
    this.#lru.clear()
  }

  /** Keys held (expired entries not yet touched are included) and live entries evicted so far. */
  stats(): { keys: number; evictions: number } {
    return { keys: this.#lru.size, evictions: this.#evictions }
  }
}

function isExpired(entry: Entry, now: number): boolean {
  return entry.expiresAt !== undefined && entry.expiresAt <= now
}
