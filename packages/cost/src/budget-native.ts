/**
 * @module budget-native
 * The budget ops' native bodies: the memory store's fast path. They take the same steps as the Lua
 * scripts and their JS twins in `budget-ops.ts` (same reads, sweeps, writes and expiries, in the
 * same order) on plain JavaScript values instead of Redis hashes and strings, and return the decoded
 * results directly (no ARGV strings, no number formatting or parsing, no reply decoding).
 *
 * Values, one per key (a memory store runs every budget op natively, so no key is ever read by
 * both a `js` and a native body):
 * - holds (`…:res`): `Holds`. The hash fields `h` / `e` / `x` are `h` (0 when absent, which every
 *   reader treats alike), `e` and `x` (-1 when absent); the holds themselves are a `Map` from id.
 *   The hash always keeps `x` once written, so it is never emptied: only its key expiry removes it.
 * - tombstones: NOT keys of their own here (the one deliberate difference from the scripts, which
 *   keep `…:done:<id>` strings; that key is still passed but never touched). A memory store's LRU
 *   bound counts keys: one key per settle for its tombstone's lifetime filled it under load and
 *   evicted idle subjects' ledgers (their spend reset to 0). So each subject's tombstones live in its
 *   holds value (`done`: id → mark and expiry, in insertion order), dropped lazily oldest first
 *   when a settle or release touches it, and the holds key's expiry is the later of `x` and its
 *   latest tombstone's (`until`), so it never expires or is swept while a tombstone in it is live.
 *   A tombstone whose subject's holds value is evicted goes with it (as on Redis under an evicting
 *   maxmemory-policy); the key count now grows with subjects, not with calls, so that takes an
 *   overfull store. Every op's outcome is the script's (native-js-diff.test.ts compares them). A
 *   tombstone holds what the script's string does (`s:<nonce>:<found>:<charged>`, `r:<nonce>:<found>`)
 *   as fields: the mark, the writing object's nonce, whether the hold was live, the charge.
 * - ledger: `Ledger`: `t`, `o` (-1 when absent) and a `Map` from the hash field (`<bucket>|<model>`)
 *   to micro-dollars, in the hash's insertion order. A rolling ledger swept empty is deleted, as
 *   Redis deletes a hash whose last field is removed.
 *
 * Amounts are exact integers here; Lua formats numbers it writes into a hash with 14 significant
 * digits, so the two differ only beyond 10^14 micro-dollars ($100M) held in one subject's hash.
 */
import type { NativeData } from '@aikit/core'
import type {
  ExtendInput,
  ExtendResult,
  OpLimitState,
  ReleaseInput,
  ReserveInput,
  ReserveResult,
  SettleInput,
  SettleResult,
  SpendInput,
  SpendResult,
  UnholdState,
} from './budget-ops.js'

/** One hold: the field value `<micros>:<expiresAtMs>` of the holds hash. */
interface Hold {
  amount: number
  exp: number
}

/** A settle's or release's tombstone: its mark, the script tombstone's fields, its expiry (epoch ms). */
interface Tomb {
  readonly mark: 's' | 'r'
  /** The nonce of the reservation object whose settle or release wrote it. */
  readonly nonce: string
  /** 1 when that call found the hold live, else 0. */
  readonly found: 0 | 1
  /** What that settle charged (0 for a release). */
  readonly charged: number
  readonly until: number
}

/** The holds hash of one subject, with its tombstones. */
interface Holds {
  h: number
  e: number
  x: number
  readonly holds: Map<string, Hold>
  /** Tombstones by reservation id, oldest first (expired ones are dropped lazily). */
  readonly done: Map<string, Tomb>
  /**
   * At most the expiry of `done`'s first tombstone (Infinity when there is none): `prune` has
   * nothing to drop before then, and skips walking the map.
   */
  pruneAt: number
  /** The latest tombstone expiry written (-1 when none): the key lives at least until then. */
  until: number
}

const newHolds = (): Holds => ({
  h: 0,
  e: -1,
  x: -1,
  holds: new Map(),
  done: new Map(),
  pruneAt: Number.POSITIVE_INFINITY,
  until: -1,
})

/** The holds key's lifetime from now: until `x` or its latest tombstone's expiry, whichever is later. */
const keyTtl = (res: Holds, nowMs: number): number => Math.max(res.x, res.until) - nowMs

/** One ledger hash (a limit's period or rolling window). */
interface Ledger {
  t: number
  o: number
  readonly fields: Map<string, number>
}

const STATES: readonly UnholdState[] = ['gone', 'held', 'settled', 'released']

// Helpers return their second value here (no array per call on the hot path; ops are synchronous).
let second = 0

/** Drops expired holds and recomputes `h` and `e` (`e` = -1 when none is left). Returns `h`. */
function sweep(res: Holds, nowMs: number): number {
  let h = 0
  let e = -1
  for (const [id, hold] of res.holds) {
    if (hold.exp <= nowMs) res.holds.delete(id)
    else {
      h += hold.amount
      if (e < 0 || hold.exp < e) e = hold.exp
    }
  }
  // Lua deletes `h` and `e` when nothing is held: absent reads as 0 and -1.
  res.h = e < 0 ? 0 : h
  res.e = e
  second = e
  return res.h
}

/** The live held total (sweeping first once the earliest expiry has passed); `second` = `e`. */
function held(res: Holds | undefined, nowMs: number): number {
  if (res === undefined) {
    second = -1
    return 0
  }
  if (res.e >= 0 && res.e <= nowMs) return sweep(res, nowMs)
  second = res.e
  return res.h
}

/** The other results of `unhold`: the held total after, the hold's stored expiry. */
const unheld = { h: 0, exp: 0 }

/**
 * Removes hold `id`: returns 1 when it was live, else 0; `unheld.h` = the held total after,
 * `unheld.exp` = the hold's stored expiry (or `exp` when there was no hold).
 */
function unhold(res: Holds | undefined, id: string, exp: number, nowMs: number): 0 | 1 {
  const hold = res?.holds.get(id)
  if (res === undefined || hold === undefined) {
    unheld.h = held(res, nowMs)
    unheld.exp = exp
    return 0
  }
  res.holds.delete(id)
  res.h -= hold.amount
  unheld.h = res.e >= 0 && res.e <= nowMs ? sweep(res, nowMs) : res.h
  unheld.exp = hold.exp
  return hold.exp > nowMs ? 1 : 0
}

/**
 * Leaves the tombstone of `id` in the subject's holds value (created when the subject has none),
 * expiring as the script's tombstone key would; lengthens the holds key's life to cover it.
 * `fresh`: `id` has no tombstone (its hold was live), so there is none to move.
 */
function tomb(
  data: NativeData,
  resKey: string,
  res: Holds | undefined,
  id: string,
  mark: 's' | 'r',
  nonce: string,
  found: 0 | 1,
  charged: number,
  exp: number,
  keep: number,
  nowMs: number,
  fresh: boolean
): void {
  const until = nowMs + (exp > nowMs ? exp - nowMs + keep : keep)
  const r = res ?? newHolds()
  const keyExpiry = res === undefined ? -1 : Math.max(r.x, r.until)
  const done = r.done
  // Deleted first so that a re-written id moves to the end: the map stays oldest first. (The first
  // one may go: whatever comes first then is unknown, so the next op prunes.)
  if (!fresh && done.delete(id)) r.pruneAt = Number.NEGATIVE_INFINITY
  if (done.size === 0) r.pruneAt = until
  done.set(id, { mark, nonce, found, charged, until })
  if (until > r.until) r.until = until
  if (until > keyExpiry) data.set(resKey, r, keyTtl(r, nowMs))
}

/**
 * Drops expired tombstones from the oldest, stopping at the first live one (O(1) per op amortised;
 * an expired one behind a longer-lived older one stays until that one goes: memory only, as every
 * read checks the expiry).
 */
function prune(res: Holds, nowMs: number): void {
  if (res.pruneAt > nowMs) return
  for (const [id, t] of res.done) {
    if (t.until > nowMs) {
      res.pruneAt = t.until
      return
    }
    res.done.delete(id)
  }
  res.pruneAt = Number.POSITIVE_INFINITY
}

/**
 * 2 settled, 3 released, -1 no (live) tombstone; 4 / 5 a tombstone of the caller's own kind
 * (`mark`) and `nonce`, whose call found the hold gone / live (`second` = what it charged, else 0).
 */
function prior(
  res: Holds | undefined,
  id: string,
  mark: 's' | 'r',
  nonce: string,
  nowMs: number
): number {
  second = 0
  if (res === undefined) return -1
  prune(res, nowMs)
  const t = res.done.get(id)
  if (t === undefined || t.until <= nowMs) return -1
  if (t.mark === mark && t.nonce === nonce) {
    second = t.charged
    return 4 + t.found
  }
  return t.mark === 's' ? 2 : 3
}

// The calendar ledger's field of the last model settled: calls mostly repeat one model (no key
// string built and hashed per settle then).
let fieldModel: string | undefined
let fieldOfModel = ''

/** `m|<model>`: a calendar ledger's field for a model. */
function modelField(model: string): string {
  if (model !== fieldModel) {
    fieldModel = model
    fieldOfModel = `m|${model}`
    // Flattened now, so the Map hashes it once and keeps the hash in the string.
    fieldOfModel.charCodeAt(0)
  }
  return fieldOfModel
}

/** A ledger's settled total (a rolling one swept of buckets that left the window); `second` = reset. */
function ledger(
  data: NativeData,
  key: string,
  kind: 'c' | 'r',
  a: number,
  b: number,
  nowMs: number
): number {
  const l = data.get(key) as Ledger | undefined
  if (kind === 'c') {
    second = a
    return l === undefined ? 0 : l.t
  }
  if (l === undefined || l.o < 0) {
    second = nowMs
    return l === undefined ? 0 : l.t
  }
  if (l.o + b + a > nowMs) {
    second = l.o + b + a
    return l.t
  }
  let t = 0
  let o = -1
  for (const [field, value] of l.fields) {
    const bs = Number(field.slice(0, field.indexOf('|')))
    if (bs + b + a <= nowMs) l.fields.delete(field)
    else {
      t += value
      if (o < 0 || bs < o) o = bs
    }
  }
  if (o < 0) {
    // Every field is gone: Redis deletes the emptied hash.
    data.delete(key)
    second = nowMs
    return 0
  }
  l.t = t
  l.o = o
  second = o + b + a
  return t
}

export function reserveNative(
  data: NativeData,
  keys: readonly string[],
  input: ReserveInput,
  nowMs: number
): ReserveResult {
  const amount = input.amountMicros
  const resKey = keys[0] as string
  // The ledgers are read before the holds (the script reads the holds first): a reserve that
  // holds then writes the holds key last without reading it again, and the keys end in the
  // script's LRU order (holds, then the ledgers in reverse). The other paths touch the ledgers
  // again below, as the script's reads left them (ledgers after the holds).
  const n = input.limits.length
  const limits: OpLimitState[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const l = input.limits[i] as ReserveInput['limits'][number]
    const spent = ledger(data, keys[i + 1] as string, l.kind, l.a, l.b, nowMs)
    limits[i] = { spentMicros: spent, resetAt: second }
  }
  let res = data.get(resKey) as Holds | undefined
  let heldBefore = res === undefined ? 0 : res.h
  let earliest = res === undefined ? -1 : res.e
  const keyExpiry = res === undefined ? -1 : res.x
  if (res !== undefined && earliest >= 0 && earliest <= nowMs) {
    heldBefore = sweep(res, nowMs)
    earliest = second
  }
  let ok = true
  if (input.mode === 'hard') {
    for (let i = 0; i < n; i++) {
      const limit = (input.limits[i] as ReserveInput['limits'][number]).limitMicros
      if ((limits[i] as OpLimitState).spentMicros + heldBefore + amount > limit) ok = false
    }
  }
  let heldAfter = heldBefore
  if (ok && input.mode !== 'dry' && amount > 0) {
    const exp = nowMs + input.ttlMs
    if (earliest < 0 || exp < earliest) earliest = exp
    heldAfter = heldBefore + amount
    if (res === undefined) res = newHolds()
    res.holds.set(input.id, { amount, exp })
    res.h = heldAfter
    res.e = earliest
    if (exp > keyExpiry) {
      res.x = exp + input.ttlMs
      data.set(resKey, res, keyTtl(res, nowMs))
    }
    // Otherwise changed in place (the value is reachable only through the store), and already
    // the most recently used key, as the script's HSET leaves it.
  } else {
    for (let i = 0; i < n; i++) data.get(keys[i + 1] as string)
  }
  return { ok, heldBefore, heldAfter, nowMs, limits }
}

export function settleNative(
  data: NativeData,
  keys: readonly string[],
  input: SettleInput,
  nowMs: number
): SettleResult {
  const actual = input.actualMicros
  const resKey = keys[0] as string
  // A live hold means no settle or release of this id has run (each removes the hold in the same
  // op that writes the tombstone), so the tombstone lookup is skipped: the common case.
  const res = data.get(resKey) as Holds | undefined
  let state = -1
  const live = res?.holds.get(input.id)
  // A live hold: no settle or release of this id has run, so it has no tombstone to look up or move.
  const fresh = live !== undefined && live.exp > nowMs
  let charged = 0
  if (!fresh) {
    state = prior(res, input.id, 's', input.nonce, nowMs)
    charged = second
  } else if (res !== undefined) prune(res, nowMs)
  let heldAfter: number
  if (state < 0) {
    const found = unhold(res, input.id, input.expiresAt, nowMs)
    state = found
    charged = actual
    heldAfter = unheld.h
    const { nonce, keepMs } = input
    tomb(data, resKey, res, input.id, 's', nonce, found, actual, unheld.exp, keepMs, nowMs, fresh)
  } else {
    heldAfter = held(res, nowMs)
  }
  const n = input.limits.length
  const limits: OpLimitState[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const { kind, a, b } = input.limits[i] as SettleInput['limits'][number]
    const key = keys[i + 2] as string
    if (state > 1) {
      if (kind === 'c') {
        const l = data.get(key) as Ledger | undefined
        limits[i] = { spentMicros: l === undefined ? 0 : l.t, resetAt: b }
      } else {
        const spent = ledger(data, key, 'r', a, b, nowMs)
        limits[i] = { spentMicros: spent, resetAt: second }
      }
      continue
    }
    let l = data.get(key) as Ledger | undefined
    const created = l === undefined
    if (l === undefined) l = { t: 0, o: -1, fields: new Map() }
    if (kind === 'c') {
      const field = modelField(input.model)
      l.fields.set(field, (l.fields.get(field) ?? 0) + actual)
      l.t += actual
      // The first spend in the period starts the ledger's lifetime (HINCRBY keeps an expiry), a
      // duration on the budget's clock (budget-ops.ts). That clock may read fractional ms
      // (`performance.timeOrigin + performance.now()`): truncated to whole ms as the script's
      // `fmt('%d', ttl)` does (the memory store refuses a fractional TTL, as PEXPIRE does).
      if (l.t === actual) data.set(key, l, Math.max(1, Math.trunc(a - input.clockMs)))
      else if (created) data.set(key, l)
      limits[i] = { spentMicros: l.t, resetAt: b }
    } else {
      const bs = Math.floor(nowMs / b) * b
      const field = `${bs}|${input.model}`
      l.fields.set(field, (l.fields.get(field) ?? 0) + actual)
      l.t += actual
      if (l.o < 0) l.o = bs
      data.set(key, l, a + b)
      const spent = ledger(data, key, 'r', a, b, nowMs)
      limits[i] = { spentMicros: spent, resetAt: second }
    }
  }
  const again = state >= 4
  const unholdState = STATES[again ? state - 4 : state] as UnholdState
  return { state: unholdState, again, chargedMicros: charged, heldAfter, nowMs, limits }
}

export function releaseNative(
  data: NativeData,
  keys: readonly string[],
  input: ReleaseInput,
  nowMs: number
): UnholdState {
  const resKey = keys[0] as string
  const res = data.get(resKey) as Holds | undefined
  const state = prior(res, input.id, 'r', input.nonce, nowMs)
  if (state >= 0) return STATES[state >= 4 ? state - 4 : state] as UnholdState
  const found = unhold(res, input.id, input.expiresAt, nowMs)
  const { nonce, keepMs } = input
  tomb(data, resKey, res, input.id, 'r', nonce, found, 0, unheld.exp, keepMs, nowMs, false)
  return STATES[found] as UnholdState
}

export function extendNative(
  data: NativeData,
  keys: readonly string[],
  input: ExtendInput,
  nowMs: number
): ExtendResult {
  const resKey = keys[0] as string
  const res = data.get(resKey) as Holds | undefined
  const hold = res?.holds.get(input.id)
  if (res === undefined || hold === undefined || hold.exp <= nowMs) {
    return { extended: false, expiresAt: nowMs }
  }
  const exp = nowMs + input.ttlMs
  // A new object, as HSET replaces the field's value.
  res.holds.set(input.id, { amount: hold.amount, exp })
  if (res.e < 0 || exp < res.e) res.e = exp
  if (exp > res.x) {
    res.x = exp + input.ttlMs
    data.set(resKey, res, keyTtl(res, nowMs))
  }
  return { extended: true, expiresAt: exp }
}

export function spendNative(
  data: NativeData,
  keys: readonly string[],
  input: SpendInput,
  nowMs: number
): SpendResult {
  const h = held(data.get(keys[0] as string) as Holds | undefined, nowMs)
  ledger(data, keys[1] as string, input.kind, input.a, input.b, nowMs)
  const resetAt = second
  // Keyed by model names, any string: no prototype (`__proto__`, `constructor` are names too).
  const byModel: Record<string, number> = Object.create(null)
  const l = data.get(keys[1] as string) as Ledger | undefined
  if (l !== undefined) {
    for (const [field, value] of l.fields) {
      const model = field.slice(field.indexOf('|') + 1)
      byModel[model] = (byModel[model] ?? 0) + value
    }
  }
  return { held: h, nowMs, resetAt, byModel }
}
