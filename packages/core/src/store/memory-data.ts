/**
 * @module store/memory-data
 * The Redis-like `MemoryData` view an op's `js` function works on, with Redis semantics.
 */
import { luaArg } from './lua-values.js'
import { type Entry, type MemoryDb, NONE } from './memory-db.js'
import type { MemoryData, MemorySetOptions, NativeData } from './types.js'

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value'
const NOT_INTEGER = 'ERR value is not an integer or out of range'

/**
 * A data view for one op run. `allowedKeys` (the op's KEYS) limits which keys may be touched, as on
 * Redis Cluster; `now` is fixed for the whole run, as Redis freezes time during a script.
 */
export function createMemoryData(
  db: MemoryDb,
  allowedKeys: ReadonlySet<string>,
  now: number
): MemoryData {
  const check = (key: string): void => {
    if (!allowedKeys.has(key)) {
      throw new Error(`ERR op accessed key ${JSON.stringify(key)} that is not in KEYS`)
    }
  }
  const readString = (key: string): Extract<Entry, { type: 'string' }> | undefined => {
    check(key)
    const entry = db.read(key, now)
    if (entry && entry.type !== 'string') throw new Error(WRONGTYPE)
    return entry
  }
  const readHash = (key: string): Extract<Entry, { type: 'hash' }> | undefined => {
    check(key)
    const entry = db.read(key, now)
    if (entry && entry.type !== 'hash') throw new Error(WRONGTYPE)
    return entry
  }

  return {
    get(key) {
      return readString(key)?.value ?? null
    },
    set(key, value, options?: MemorySetOptions) {
      check(key)
      if (options?.nx && options.xx) throw new Error('ERR syntax error')
      if (options?.px !== undefined) {
        if (!Number.isInteger(options.px)) throw new Error(NOT_INTEGER)
        if (options.px <= 0) throw new Error("ERR invalid expire time in 'set' command")
      }
      const current = db.read(key, now)
      if (options?.nx && current) return false
      if (options?.xx && !current) return false
      const expiresAt =
        options?.px !== undefined
          ? now + options.px
          : options?.keepTtl
            ? current?.expiresAt
            : undefined
      db.write(key, { type: 'string', value: toValue(value), expiresAt })
      return true
    },
    del(...keys) {
      let n = 0
      for (const key of keys) {
        check(key)
        if (db.remove(key, now)) n++
      }
      return n
    },
    exists(...keys) {
      let n = 0
      for (const key of keys) {
        check(key)
        if (db.read(key, now)) n++
      }
      return n
    },
    incrby(key, increment) {
      const entry = readString(key)
      const next = parseInteger(entry?.value ?? '0') + toIncrement(increment)
      if (!Number.isSafeInteger(next)) throw new Error('ERR increment or decrement would overflow')
      db.write(key, { type: 'string', value: String(next), expiresAt: entry?.expiresAt })
      return next
    },
    hget(key, field) {
      return readHash(key)?.value.get(field) ?? null
    },
    hmget(key, ...fields) {
      const hash = readHash(key)?.value
      return fields.map((f) => hash?.get(f) ?? null)
    },
    hset(key, ...fieldValues) {
      if (fieldValues.length === 0 || fieldValues.length % 2 !== 0) {
        throw new Error("ERR wrong number of arguments for 'hset' command")
      }
      const entry = readHash(key) ?? { type: 'hash', value: new Map(), expiresAt: undefined }
      let added = 0
      for (let i = 0; i < fieldValues.length; i += 2) {
        const field = toValue(fieldValues[i]!)
        if (!entry.value.has(field)) added++
        entry.value.set(field, toValue(fieldValues[i + 1]!))
      }
      db.write(key, entry)
      return added
    },
    hdel(key, ...fields) {
      const entry = readHash(key)
      if (!entry) return 0
      let n = 0
      for (const f of fields) if (entry.value.delete(f)) n++
      if (entry.value.size === 0) db.remove(key, now)
      return n
    },
    hgetall(key) {
      const hash = readHash(key)?.value
      if (!hash) return []
      const out: string[] = []
      for (const [f, v] of hash) out.push(f, v)
      return out
    },
    hincrby(key, field, increment) {
      const entry = readHash(key) ?? { type: 'hash', value: new Map(), expiresAt: undefined }
      const next = parseInteger(entry.value.get(field) ?? '0') + toIncrement(increment)
      if (!Number.isSafeInteger(next)) throw new Error('ERR increment or decrement would overflow')
      entry.value.set(field, String(next))
      db.write(key, entry)
      return next
    },
    pexpire(key, ms) {
      check(key)
      if (!Number.isInteger(ms)) throw new Error(NOT_INTEGER)
      const entry = db.read(key, now)
      if (!entry) return 0
      if (ms <= 0) db.remove(key, now)
      else db.write(key, { ...entry, expiresAt: now + ms })
      return 1
    },
    pttl(key) {
      check(key)
      const entry = db.read(key, now)
      if (!entry) return -2
      if (entry.expiresAt === undefined) return -1
      return Math.max(0, entry.expiresAt - now)
    },
  }
}

/** A value as Redis stores it when Lua passes it to `redis.call`. */
function toValue(value: string | number): string {
  return typeof value === 'number' ? luaArg(value) : String(value)
}

function toIncrement(n: number): number {
  if (!Number.isSafeInteger(n)) throw new Error(NOT_INTEGER)
  return n
}

/** Parses a stored value the way Redis `string2ll` does (canonical decimal integers only). */
function parseInteger(text: string): number {
  if (!/^(0|-?[1-9][0-9]*)$/.test(text)) throw new Error(NOT_INTEGER)
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw new Error(NOT_INTEGER)
  return n
}

/**
 * The `NativeData` view of the memory store, shared by every native op run (ops are synchronous,
 * so one view with a settable clock serves them all without an allocation per run). A class, so
 * every store's view shares the same method functions: a hot caller's call sites stay monomorphic
 * (and inlined) from one store to the next.
 */
class NativeView implements NativeData {
  now = 0
  readonly #db: MemoryDb

  constructor(db: MemoryDb) {
    this.#db = db
  }

  get(key: string): unknown {
    const db = this.#db
    const slot = db.lookup(key, this.now)
    if (slot === NONE) return undefined
    if (!db.isNative(slot)) throw new Error(WRONGTYPE)
    return db.valueAt(slot)
  }

  set(key: string, value: unknown, ttlMs?: number): void {
    if (ttlMs !== undefined && !(Number.isInteger(ttlMs) && ttlMs > 0)) {
      throw new Error(`ERR invalid expire time ${ttlMs}`)
    }
    this.#db.put(key, 'native', value, ttlMs === undefined ? undefined : this.now + ttlMs)
  }

  delete(key: string): boolean {
    return this.#db.remove(key, this.now)
  }

  pttl(key: string): number {
    const db = this.#db
    const slot = db.lookup(key, this.now)
    if (slot === NONE) return -2
    const at = db.expiresAt(slot)
    return at === undefined ? -1 : at - this.now
  }
}

export function createNativeData(db: MemoryDb): NativeData & { now: number } {
  return new NativeView(db)
}

/**
 * The `NativeData` view of a tagged run (`run.syncTagged`): the op's "keys" are key parts, all
 * under the run's `tag`, found through the memory db's tag index (no key string built per run).
 * A class for the same reason as `NativeView`.
 */
class TaggedNativeView implements NativeData {
  now = 0
  tag = ''
  readonly #db: MemoryDb

  constructor(db: MemoryDb) {
    this.#db = db
  }

  get(part: string): unknown {
    const db = this.#db
    const slot = db.slotTagged(this.tag, part, this.now)
    if (slot === NONE) return undefined
    if (!db.isNative(slot)) throw new Error(WRONGTYPE)
    return db.valueAt(slot)
  }

  set(part: string, value: unknown, ttlMs?: number): void {
    if (ttlMs !== undefined && !(Number.isInteger(ttlMs) && ttlMs > 0)) {
      throw new Error(`ERR invalid expire time ${ttlMs}`)
    }
    this.#db.putTagged(
      this.tag,
      part,
      'native',
      value,
      ttlMs === undefined ? undefined : this.now + ttlMs
    )
  }

  delete(part: string): boolean {
    return this.#db.removeTagged(this.tag, part, this.now)
  }

  pttl(part: string): number {
    const db = this.#db
    const slot = db.slotTagged(this.tag, part, this.now)
    if (slot === NONE) return -2
    const at = db.expiresAt(slot)
    return at === undefined ? -1 : at - this.now
  }
}

export function createTaggedNativeData(db: MemoryDb): NativeData & { now: number; tag: string } {
  return new TaggedNativeView(db)
}
